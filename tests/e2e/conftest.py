"""End-to-end fixtures: real kubelet processes (`python -m kubelet`) against the
session's real apiserver, running real Docker containers.

Every kubelet gets a unique node name; everything it creates in Docker carries that
name as the `io.minik.node` label, and cleanup removes exactly those containers.
The pod network is one per test session (labelled), removed at the end.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import ssl
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import docker.errors
import httpx
import pytest

from deploy import processes
from deploy.controlplane import ApiServer, make_workdir, remove_workdir
from tests.support.images import ensure_busybox_image
from tests.support.kubectl import Kubectl
from tests.support.wait import Deadline, eventually

NODE_LABEL = "io.minik.node"
NETWORK_LABEL = "io.minik.network"
TEST_LABEL = "io.minik.test"


@dataclass
class KubeletProcess:
    """One kubelet process of a test, restartable with the same identity."""

    apiserver: ApiServer
    node: str
    root_dir: Path
    port: int
    network: str
    log_dir: Path
    extra_args: list[str] = field(default_factory=list)
    process: processes.Process | None = None
    starts: int = 0

    def argv(self) -> list[str]:
        tls = processes.kubelet_serving_flags(
            self.apiserver.workdir / "pki", self.node, "127.0.0.1", self.root_dir / "pki"
        )
        return [
            sys.executable,
            "-m",
            "kubelet",
            "--kubeconfig",
            str(self.apiserver.kubeconfig_as(f"kubelet-{self.node}")),
            "--node-name",
            self.node,
            "--root-dir",
            str(self.root_dir),
            "--node-ip",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--pod-network",
            self.network,
            *tls,
            *self.extra_args,
        ]

    @property
    def url(self) -> str:
        """The kubelet's API (HTTPS, its certificate from the cluster CA)."""
        return f"https://127.0.0.1:{self.port}"

    def http(self, token: str | None = None, cert: tuple[str, str] | None = None) -> httpx.Client:
        """A client of the kubelet's API: a bearer token, a client certificate
        (cert, key), or no credentials at all."""
        context = ssl.create_default_context(cafile=str(self.apiserver.ca_file))
        if cert is not None:
            context.load_cert_chain(*cert)
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.url, verify=context, headers=headers, timeout=30)

    def start(self, wait: bool = True) -> None:
        log = self.log_dir / f"kubelet-{self.node}-{self.starts}.log"
        self.starts += 1
        self.process = processes.spawn(f"kubelet-{self.node}", self.argv(), log)
        if wait:
            processes.wait_for(self._ready, 60, self.process, f"kubelet {self.node}")

    def _ready(self) -> bool:
        try:
            with self.http(self.apiserver.token) as client:
                r = client.get("/healthz", timeout=1)
        except httpx.HTTPError:
            return False
        return r.status_code == 200

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(timeout=20)
            self.process = None

    def kill(self) -> None:
        """SIGKILL, as a crash: the kubelet gets no chance to tidy up."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGKILL)
            self.process.popen.wait(10)
            self.process = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def log_tail(self, lines: int = 60) -> str:
        return self.process.log_tail(lines) if self.process else ""


def remove_node_containers(node: str) -> None:
    client = docker.from_env()
    for entry in client.api.containers(all=True, filters={"label": [f"{NODE_LABEL}={node}"]}):
        with contextlib.suppress(docker.errors.APIError):
            client.api.remove_container(entry["Id"], force=True, v=True)


@pytest.fixture(scope="session")
def busybox() -> str:
    return ensure_busybox_image()


def remove_network(name: str) -> None:
    """A pod network a test's kubelet created (found by the kubelet's label)."""
    client = docker.from_env()
    for net in client.api.networks(filters={"label": [f"{NETWORK_LABEL}={name}"]}):
        with contextlib.suppress(docker.errors.APIError):
            client.api.remove_network(net["Id"])


@pytest.fixture(scope="session")
def pod_network() -> Iterator[str]:
    """A pod network for this test session only (kubelets create it on demand)."""
    name = f"minik-e2e-{secrets.token_hex(3)}"
    yield name
    remove_network(name)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    """A failed test (or fixture) that used the session's kubelet shows its log's tail:
    a pod that never started is then explained by the CI output alone."""
    report = yield
    kubelet = getattr(item, "funcargs", {}).get("kubelet")
    if report.failed and isinstance(kubelet, KubeletProcess):
        report.sections.append((f"kubelet {kubelet.node}: its log's tail", kubelet.log_tail()))
    return report


@pytest.fixture(scope="session")
def kubelet_factory(
    apiserver: ApiServer, pod_network: str
) -> Iterator[Callable[..., KubeletProcess]]:
    """Start kubelets with unique node names; all are stopped and their containers
    removed at the end of the session."""
    started: list[KubeletProcess] = []
    workdir = make_workdir("minik-kubelets-")

    def start(
        prefix: str = "e2e", extra_args: list[str] | None = None, network: str | None = None
    ) -> KubeletProcess:
        node = f"{prefix}-{secrets.token_hex(3)}"
        kubelet = KubeletProcess(
            apiserver,
            node,
            workdir / node,
            processes.free_port(),
            network or pod_network,
            workdir,
            list(extra_args or []),
        )
        started.append(kubelet)
        kubelet.start()
        return kubelet

    yield start
    for kubelet in started:
        kubelet.stop()
    for kubelet in started:
        remove_node_containers(kubelet.node)
    for network in {k.network for k in started} - {pod_network}:
        remove_network(network)
    remove_workdir(workdir)


@pytest.fixture(scope="session")
def kubelet(kubelet_factory: Callable[..., KubeletProcess], busybox: str) -> KubeletProcess:
    """The session's shared kubelet (tests use their own namespaces)."""
    return kubelet_factory("node")


@pytest.fixture
def api(apiserver: ApiServer) -> Iterator[httpx.Client]:
    with apiserver.http() as client:
        yield client


@pytest.fixture
def kubectl(apiserver: ApiServer, tmp_path: Path) -> Kubectl:
    """The machine's kubectl with a cache of the test's own."""
    return Kubectl(apiserver.kubeconfig, tmp_path / "kubectl-cache")


# ---- helpers for tests ------------------------------------------------------------


def pod_manifest(
    name: str,
    node: str,
    containers: list[dict[str, Any]],
    **spec: Any,
) -> dict[str, Any]:
    """A pod bound to `node` (no scheduler here). Test containers ignore SIGTERM as
    PID 1, so the grace period defaults to 1 s (the kubelet's floor is 2 s)."""
    spec.setdefault("terminationGracePeriodSeconds", 1)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {TEST_LABEL: "true"}},
        "spec": {"nodeName": node, "containers": containers, **spec},
    }


def create_pod(api: httpx.Client, namespace: str, pod: dict[str, Any]) -> dict[str, Any]:
    r = api.post(f"/api/v1/namespaces/{namespace}/pods", json=pod)
    assert r.status_code == 201, r.text
    return r.json()


def get_pod(api: httpx.Client, namespace: str, name: str) -> dict[str, Any] | None:
    r = api.get(f"/api/v1/namespaces/{namespace}/pods/{name}")
    if r.status_code == 404:
        return None
    assert r.status_code == 200, r.text
    return r.json()


def wait_pod(
    api: httpx.Client,
    namespace: str,
    name: str,
    check: Callable[[dict[str, Any]], bool],
    timeout: float = 30.0,
    what: str = "condition",
) -> dict[str, Any]:
    """The pod once `check` holds for it, polled every 0.2 s."""

    def reached() -> dict[str, Any]:
        pod = get_pod(api, namespace, name)
        assert pod is not None and check(pod), pod
        return pod

    return eventually(
        reached, timeout=timeout, interval=0.2, message=f"pod {namespace}/{name}: {what}"
    )


def pods_version(api: httpx.Client, namespace: str) -> str:
    """The namespace's pod list resourceVersion: watch from here to see every change after."""
    r = api.get(f"/api/v1/namespaces/{namespace}/pods", params={"limit": "1"})
    assert r.status_code == 200, r.text
    return r.json()["metadata"]["resourceVersion"]


def watch_pod(
    api: httpx.Client,
    namespace: str,
    name: str,
    since: str,
    check: Callable[[dict[str, Any]], bool],
    timeout: float = 30.0,
    what: str = "condition",
) -> list[dict[str, Any]]:
    """Every version of the pod written after `since`, until `check` holds for one: a
    state that lasts less than a poll interval is still seen."""
    deadline = Deadline(timeout, f"pod {namespace}/{name}: {what}")
    params = {
        "watch": "1",
        "resourceVersion": since,
        "fieldSelector": f"metadata.name={name}",
        "timeoutSeconds": str(int(timeout)),
    }
    seen: list[dict[str, Any]] = []
    url = f"/api/v1/namespaces/{namespace}/pods"
    with api.stream("GET", url, params=params, timeout=timeout + 5) as r:
        assert r.status_code == 200, r.read()
        for line in r.iter_lines():
            event = json.loads(line)
            assert event["type"] in ("ADDED", "MODIFIED"), event
            seen.append(event["object"])
            if check(event["object"]):
                return seen
    raise deadline.error(seen[-1:])


def is_ready(pod: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


def phase(pod: dict[str, Any]) -> str:
    return (pod.get("status") or {}).get("phase", "")


def container_status(pod: dict[str, Any], name: str) -> dict[str, Any]:
    status = pod.get("status") or {}
    entries = [*(status.get("containerStatuses") or [])]
    entries += status.get("initContainerStatuses") or []
    for entry in entries:
        if entry.get("name") == name:
            return entry
    return {}


def terminated_reason(pod: dict[str, Any], name: str) -> str:
    """The reason of the container's terminated state; "" while it has none."""
    state = container_status(pod, name).get("state") or {}
    return (state.get("terminated") or {}).get("reason", "")


def docker_id(pod: dict[str, Any], name: str) -> str:
    return (container_status(pod, name).get("containerID") or "").removeprefix("docker://")


def node_containers(node: str, **labels: str) -> list[dict[str, Any]]:
    filters = [f"{NODE_LABEL}={node}", *(f"{k}={v}" for k, v in labels.items())]
    return docker.from_env().api.containers(all=True, filters={"label": filters})


def events_for(api: httpx.Client, namespace: str, name: str) -> list[dict[str, Any]]:
    r = api.get(
        f"/api/v1/namespaces/{namespace}/events",
        params={"fieldSelector": f"involvedObject.name={name}"},
    )
    assert r.status_code == 200, r.text
    return r.json()["items"]
