"""The dashboard in a real headless browser (Debian's chromium and chromium-driver, driven
by Selenium) against a real control plane: etcd, the apiserver, the scheduler, the
controller manager and the metrics server, with fake nodes playing the kubelets
(tests/support/fakenode.py: they run what the real scheduler binds to them; their
kubelet address is a stand-in kubelet, tests/support/fakekubelet.py, that serves
resource metrics and container logs). The page must show a pod within a second of its
creation and drop it after its deletion, say in plain words why a pod the scheduler
cannot place is Pending, follow a rolling update, a node failure and a pod's log.
Screenshots go to test-artifacts/ (git ignores it)."""

from __future__ import annotations

import secrets
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from deploy import processes
from deploy.controlplane import ApiServer, make_workdir, remove_workdir, start_apiserver, start_etcd
from tests.support.components import manager_and_scheduler
from tests.support.fakekubelet import FakeKubelet
from tests.support.fakenode import FakeCluster
from tests.support.wait import eventually

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
NAMESPACE = "dash"

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER),
    reason="needs Debian's chromium and chromium-driver "
    "(apt-get install --no-install-recommends chromium chromium-driver; .ci/run does)",
)


class Page:
    def __init__(
        self, http: httpx.Client, fake: FakeCluster, kubelet: FakeKubelet, driver: Any
    ) -> None:
        self.http, self.fake, self.kubelet, self.driver = http, fake, kubelet, driver

    def find(self, css: str) -> Any:
        from selenium.webdriver.common.by import By

        return self.driver.find_element(By.CSS_SELECTOR, css)

    def wait_for(self, css: str, timeout: float, text: str = "") -> str:
        """The text of the element matching `css` once the page shows it (with `text`).
        The page redraws its sections whole, so an element is read the moment it is found."""
        from selenium.common.exceptions import (
            NoSuchElementException,
            StaleElementReferenceException,
        )
        from selenium.webdriver.support.ui import WebDriverWait

        def shown(driver: Any) -> str | bool:
            try:
                found = str(self.find(css).text)
            except (NoSuchElementException, StaleElementReferenceException):
                return False
            return found if text in found else False

        return WebDriverWait(self.driver, timeout, poll_frequency=0.01).until(
            shown, f"{css} with {text!r} not shown within {timeout}s"
        )

    def click(self, css: str) -> None:
        from selenium.common.exceptions import StaleElementReferenceException

        eventually(
            lambda: self.find(css).click() or True, retry_on=(StaleElementReferenceException,)
        )

    def wait_gone(self, css: str, timeout: float) -> None:
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(self.driver, timeout, poll_frequency=0.01).until(
            lambda d: not d.find_elements(By.CSS_SELECTOR, css), f"{css} still shown"
        )

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"dashboard-{name}.png"
        self.driver.save_screenshot(str(path))
        return path


def _driver() -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM or ""
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)
    options.add_argument("--window-size=1500,1100")
    return webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)


@pytest.fixture(scope="module")
def control_plane() -> Iterator[tuple[ApiServer, Path]]:
    """etcd, the apiserver, the scheduler, and the controller manager, which notices a
    silent node within seconds (tests/support/controllermanager.py)."""
    workdir = make_workdir("minik-dashboard-it-")
    secret = workdir / "requestheader-secret"
    secret.write_text(secrets.token_hex(16) + "\n")
    etcd = start_etcd(workdir)
    api = start_apiserver(etcd, workdir / "apiserver", ["--requestheader-secret-file", str(secret)])
    argv = [sys.executable, "-m", "metrics", "--kubeconfig", str(api.kubeconfig), "--port", "0"]
    argv += ["--metric-resolution", "1s", "--requestheader-secret-file", str(secret)]
    argv += ["--kubelet-insecure-tls"]  # the stand-in kubelet's certificate is self-signed
    metrics = processes.spawn("metrics", argv, workdir / "metrics.log")
    try:
        with manager_and_scheduler(api, workdir, "default-scheduler"):
            yield api, workdir
    finally:
        metrics.stop()
        api.stop()
        etcd.stop()
        remove_workdir(workdir)


@pytest.fixture(scope="module")
def page(control_plane: tuple[ApiServer, Path]) -> Iterator[Page]:
    api, workdir = control_plane
    http = api.http()
    assert http.post("/api/v1/namespaces", json={"metadata": {"name": NAMESPACE}}).is_success
    fake = FakeCluster(http, NAMESPACE, ["a", "b"])
    fake.schedulable = set()  # the real scheduler places the pods; the fakes run them
    port = processes.free_port()
    argv = [sys.executable, "-m", "dashboard", "--kubeconfig", str(api.kubeconfig)]
    argv += ["--port", str(port), "--metrics-interval", "1s"]
    dashboard = processes.spawn("dashboard", argv, workdir / "dash.log")
    kubelet = FakeKubelet(node_cores=0.75, node_memory=1536 * 1024 * 1024)
    driver = None
    try:
        fake.start()
        for short in ("a", "b"):  # their kubelet: the stand-in, on loopback
            status = {
                "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
                "daemonEndpoints": {"kubeletEndpoint": {"Port": kubelet.port}},
            }
            r = http.patch(
                f"/api/v1/nodes/{fake.node_name(short)}/status",
                json={"status": status},
                headers={"Content-Type": "application/merge-patch+json"},
            )
            assert r.is_success, r.text
        url = f"http://127.0.0.1:{port}/"
        eventually(
            lambda: httpx.get(url + "healthz").status_code == 200,
            timeout=30,
            retry_on=(httpx.HTTPError,),
        )
        driver = _driver()
        driver.get(url)
        result = Page(http, fake, kubelet, driver)
        result.wait_for("#connection", 10, "live")
        result.wait_for(f'[data-node="{fake.node_name("b")}"]', 10)
        yield result
    finally:
        if driver is not None:
            driver.quit()
        dashboard.stop()
        fake.stop()
        kubelet.shutdown()
        http.close()


def pod(name: str, cpu: str = "100m") -> dict[str, Any]:
    container = {"name": "app", "image": "web:v1", "resources": {"requests": {"cpu": cpu}}}
    return {"metadata": {"name": name}, "spec": {"containers": [container]}}


def test_a_pod_appears_within_a_second_and_goes_after_its_deletion(page: Page) -> None:
    key = f"{NAMESPACE}/quick"
    before_ms = time.time() * 1000
    r = page.http.post(f"/api/v1/namespaces/{NAMESPACE}/pods", json=pod("quick"))
    assert r.status_code == 201, r.text
    page.wait_for(f'[data-pod="{key}"]', timeout=1.0)
    seen_ms = page.driver.execute_script("return window.minikSeen[arguments[0]]", key)
    assert seen_ms - before_ms < 1000, f"drawn {seen_ms - before_ms:.0f} ms after the create"
    # the scheduler places it and a fake kubelet runs it: the chip moves into a node's card
    chip = page.wait_for(f'[data-node] [data-pod="{key}"]', timeout=10, text="Running · 1/1")
    assert chip.startswith("quick\n"), chip
    page.screenshot("pod-running")
    r = page.http.delete(
        f"/api/v1/namespaces/{NAMESPACE}/pods/quick", params={"gracePeriodSeconds": "0"}
    )
    assert r.is_success, r.text
    page.wait_gone(f'[data-pod="{key}"]', timeout=1.0)


def test_a_pod_no_node_can_take_says_why_in_plain_words(page: Page) -> None:
    key = f"{NAMESPACE}/huge"
    r = page.http.post(f"/api/v1/namespaces/{NAMESPACE}/pods", json=pod("huge", cpu="100"))
    assert r.status_code == 201, r.text
    page.wait_for(f'#unscheduled [data-pod="{key}"]', 10, "2 nodes don't have enough")
    page.click(f'[data-pod="{key}"]')
    why = page.wait_for("#detail .why", 5, "2 nodes don't have enough unreserved cpu")
    assert "the pod requests 100 cpu" in why
    assert "scheduler: 0/2 nodes are available: 2 Insufficient cpu." in why
    page.screenshot("why-pending")
    page.click("#close-detail")
    r = page.http.delete(f"/api/v1/namespaces/{NAMESPACE}/pods/huge")
    assert r.is_success, r.text
    page.wait_gone(f'[data-pod="{key}"]', timeout=1.0)


def test_a_rolling_update_and_the_service_endpoints_follow_it(page: Page) -> None:
    labels = {"app": "web"}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 3,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": pod("x")["spec"]},
        },
    }
    service = {
        "metadata": {"name": "web"},
        "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": 8080}]},
    }
    base = f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments"
    assert page.http.post(base, json=deployment).status_code == 201
    assert page.http.post(f"/api/v1/namespaces/{NAMESPACE}/services", json=service).is_success
    card = f'[data-workload="Deployment/{NAMESPACE}/web"]'
    page.wait_for(card, 20, "Up to date: 3 of 3 available")
    page.wait_for(f'[data-service="{NAMESPACE}/web"]', 20, "web-")
    r = page.http.patch(
        f"{base}/web",
        json={"spec": {"template": {"spec": {"containers": [{"name": "app", "image": "web:v2"}]}}}},
        headers={"Content-Type": "application/strategic-merge-patch+json"},
    )
    assert r.is_success, r.text
    page.wait_for(card, 10, "Rolling out")
    # mid-rollout the card names both versions, each with the colour its pods' chips carry
    page.wait_for(card, 10, "(newest)")
    page.screenshot("rolling-update")
    page.wait_for(card, 30, "Up to date: 3 of 3 available")

    # the old pods terminate (no longer counted by the Deployment), then they are gone
    def three_pods() -> list[str]:
        keys = _pod_keys(page, f"{NAMESPACE}/web-")
        assert len(keys) == 3, keys
        return keys

    new_pods = eventually(three_pods, timeout=10)
    endpoints = page.wait_for(f'[data-service="{NAMESPACE}/web"]', 5)
    assert all(k.split("/")[1] in endpoints for k in new_pods), endpoints
    page.screenshot("rolled-out")


def _pod_keys(page: Page, prefix: str) -> list[str]:
    keys = page.driver.execute_script(
        "return [...document.querySelectorAll('[data-pod]')].map(e => e.dataset.pod)"
    )
    return [k for k in keys if k.startswith(prefix)]


def test_a_node_that_stops_reporting_turns_red_with_its_pods_still_shown(page: Page) -> None:
    r = page.http.post(f"/api/v1/namespaces/{NAMESPACE}/pods", json=pod("stays"))
    assert r.status_code == 201, r.text
    page.wait_for(f'[data-node] [data-pod="{NAMESPACE}/stays"]', 10, "Running · 1/1")
    node = page.http.get(f"/api/v1/namespaces/{NAMESPACE}/pods/stays").json()["spec"]["nodeName"]
    page.fake.kill(node.removeprefix(f"{NAMESPACE}-"))
    card = page.wait_for(f'[data-node="{node}"]', 20, "Not ready for")
    assert "NotReady" in card and "Kubelet stopped posting node status" in card
    # its pods stay until their toleration of the taint runs out, marked not ready
    chip = page.wait_for(f'[data-pod="{NAMESPACE}/stays"]', 10, "not ready: its node is not ready")
    assert chip.startswith("stays\nRunning · 1/1"), chip
    page.screenshot("node-failure")
    page.fake.revive(node.removeprefix(f"{NAMESPACE}-"))
    page.wait_for(f'[data-node="{node}"]', 20, "Ready")


def test_a_pods_log_is_followed_and_resource_use_shown(page: Page) -> None:
    node = page.fake.node_name("a")
    body = pod("talker")
    body["spec"]["nodeName"] = node
    page.kubelet.add_log_line(NAMESPACE, "talker", "app", "hello from talker")
    page.kubelet.set_usage(NAMESPACE, "talker", "app", 0.25, 48 * 1024 * 1024)
    assert page.http.post(f"/api/v1/namespaces/{NAMESPACE}/pods", json=body).status_code == 201
    key = f"{NAMESPACE}/talker"
    page.wait_for(f'[data-pod="{key}"]', 10, "Running · 1/1")
    page.click(f'[data-pod="{key}"]')
    page.wait_for("#logs", 10, "hello from talker")
    page.kubelet.add_log_line(NAMESPACE, "talker", "app", "a second line, followed")
    page.wait_for("#logs", 2, "a second line, followed")
    # the metrics server scrapes every second; the page reads it every second
    page.wait_for(f'[data-node="{node}"]', 20, "using")
    detail = page.wait_for("#detail-body", 20, "48Mi memory")
    used = detail.split("using\n", 1)[1].split("\n", 1)[0]  # "250m CPU, 48Mi memory"
    assert 240 <= int(used.split("m CPU")[0]) <= 260, used  # a rate between two scrapes
    page.screenshot("pod-logs")
    page.click("#close-detail")
