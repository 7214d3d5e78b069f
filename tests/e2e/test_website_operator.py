"""examples/operator/ on real Docker (issue 15): the Website CRD and the operator as the
README runs them, a control plane of this module's own (etcd, apiserver, scheduler,
controller manager with the garbage collector), one kubelet (`web-` node prefix) and
the real ingress controller on loopback ports.

- a Website with a host and a path is reached THROUGH THE INGRESS by its host name:
  `GET http://127.0.0.1:<ingress http port>/site/hello.txt` with `Host: site.example`
  is answered by its busybox httpd pods; another host gets the ingress's 404;
- its status says Available, Routed (the ingress controller's address) and Ready;
- deleting it takes its Deployment, Service and Ingress (owner references, the garbage
  collector), and the ingress stops routing the host.

The cluster is private so the default scheduler places the Website's pods (which name
no node) on this module's kubelet only."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from deploy import processes
from deploy.controlplane import ApiServer
from tests.e2e.conftest import KubeletProcess, remove_network, remove_node_containers
from tests.support.components import private_control_plane, spawn_ingress
from tests.support.images import BUSYBOX_IMAGE, ensure_busybox_image
from tests.support.kubectl import Kubectl
from tests.support.wait import eventually

pytestmark = pytest.mark.slow

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "operator"
HOST = "site.example"
NS = "default"
WEBSITES = f"/apis/example.minik.dev/v1/namespaces/{NS}/websites"
CHILDREN = {
    "Deployment": f"/apis/apps/v1/namespaces/{NS}/deployments/site",
    "Service": f"/api/v1/namespaces/{NS}/services/site",
    "Ingress": f"/apis/networking.k8s.io/v1/namespaces/{NS}/ingresses/site",
}
# busybox httpd serving /www: the page lives under the Website's path, because an
# Ingress passes the path on unchanged.
SCRIPT = (
    "mkdir -p /www/site && echo served by $(hostname) > /www/site/hello.txt "
    "&& exec httpd -f -p 8080 -h /www"
)


@dataclass
class Cluster:
    apiserver: ApiServer
    http: httpx.Client
    kubectl: Kubectl
    ingress_port: int
    ingress: processes.Process
    operator_log: Path


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    ensure_busybox_image()
    network = f"minik-e2e-web-{secrets.token_hex(3)}"
    with private_control_plane("minik-e2e-website-") as (server, workdir), server.http() as h:
        node = f"web-{secrets.token_hex(3)}"
        kubelet = KubeletProcess(
            server, node, workdir / node, processes.free_port(), network, workdir
        )
        started: list[processes.Process] = []
        try:
            kubelet.start()
            http_port, https_port = processes.free_port(), processes.free_port()
            started.append(spawn_ingress(server, workdir / "ingress.log", http_port, https_port))
            kubectl = Kubectl(server.kubeconfig, workdir / "kubectl-cache")
            kubectl.run("apply", "-f", str(EXAMPLE / "website-crd.yaml"))
            kubectl.run("wait", "--for=condition=Established", "crd/websites.example.minik.dev")
            operator_log = workdir / "operator.log"
            argv = [
                sys.executable,
                str(EXAMPLE / "website_operator.py"),
                "--kubeconfig",
                str(server.kubeconfig),
            ]
            started.append(processes.spawn("website-operator", argv, operator_log))
            yield Cluster(server, h, kubectl, http_port, started[0], operator_log)
        finally:
            for proc in reversed(started):
                proc.stop()
            kubelet.stop()
            remove_node_containers(node)
            remove_network(network)


def website_manifest() -> str:
    return f"""
apiVersion: example.minik.dev/v1
kind: Website
metadata: {{name: site}}
spec:
  image: {BUSYBOX_IMAGE}
  command: [sh, -c, "{SCRIPT}"]
  replicas: 2
  port: 8080
  host: {HOST}
  path: /site
"""


def test_a_website_is_served_through_the_ingress_by_its_host_name(cluster: Cluster) -> None:
    http, kubectl = cluster.http, cluster.kubectl
    kubectl.run("-n", NS, "apply", "-f", "-", input=website_manifest())
    url = f"http://127.0.0.1:{cluster.ingress_port}"

    def ready() -> dict:
        status = http.get(f"{WEBSITES}/site").json().get("status") or {}
        conditions = {c["type"]: c["status"] for c in status.get("conditions") or []}
        assert conditions == {"Available": "True", "Routed": "True", "Ready": "True"}, (
            status,
            cluster.operator_log,
        )
        return status

    status = eventually(ready, timeout=90, message="Website Ready", retry_on=(AssertionError,))
    assert status["readyReplicas"] == 2
    assert status["url"] == f"http://{HOST}/site"

    seen: set[str] = set()

    def served() -> bool:
        assert cluster.ingress.alive(), cluster.ingress.log_tail()
        r = httpx.get(f"{url}/site/hello.txt", headers={"Host": HOST}, timeout=3)
        assert r.status_code == 200, (r.status_code, r.text)
        assert r.text.startswith("served by site-"), r.text
        seen.add(r.text)
        return True

    retry = (OSError, httpx.HTTPError, AssertionError)
    eventually(served, timeout=30, message="the site through the ingress", retry_on=retry)
    for _ in range(20):  # both replicas answer, each a pod of the Website's Deployment
        served()
    assert len(seen) == 2, seen
    assert httpx.get(f"{url}/site/hello.txt", headers={"Host": "other.example"}).status_code == 404
    assert httpx.get(f"{url}/elsewhere", headers={"Host": HOST}).status_code == 404
    rows = kubectl.run("-n", NS, "get", "ws", "-o", "wide").stdout.splitlines()
    assert rows[1].split()[:5] == ["site", BUSYBOX_IMAGE, "2", f"http://{HOST}/site", "True"]

    uid = http.get(f"{WEBSITES}/site").json()["metadata"]["uid"]
    for kind, path in CHILDREN.items():
        owner = http.get(path).json()["metadata"]["ownerReferences"][0]
        assert (owner["kind"], owner["uid"]) == ("Website", uid), kind

    kubectl.run("-n", NS, "delete", "website", "site")

    def gone() -> bool:
        left = [kind for kind, path in CHILDREN.items() if http.get(path).status_code != 404]
        assert not left, left
        return True

    eventually(gone, timeout=60, message="the garbage collector", retry_on=(AssertionError,))

    def unrouted() -> bool:
        r = httpx.get(f"{url}/site/hello.txt", headers={"Host": HOST}, timeout=3)
        return r.status_code == 404

    eventually(unrouted, timeout=20, message="the ingress dropping the host")
