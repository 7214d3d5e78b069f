"""examples/operator/ on real Docker (issue 15): the Website CRD and the operator as the
README runs them, a control plane of this module's own (etcd, apiserver, scheduler,
controller manager with the garbage collector), one kubelet (`web-` node prefix) and
the real ingress controller on loopback ports.

- a Website with a host and a path is reached THROUGH THE INGRESS by its host name:
  `GET http://127.0.0.1:<ingress http port>/site/hello.txt` with `Host: site.example`
  is answered by its busybox httpd pods; another host gets the ingress's 404;
- its status says Available, Routed (the ingress controller's address) and Ready;
- deleting it takes its Deployment, Service and Ingress (owner references, the garbage
  collector), and the ingress stops routing the host;
- the operator runs as a pod too (examples/operator/operator-pod.yaml): with its own
  ServiceAccount, only the RBAC rights the example grants, and no kubeconfig.

The cluster is private so the default scheduler places the Website's pods (which name
no node) on this module's kubelet only; its apiserver authorizes by Node,RBAC and gives pods
ServiceAccount tokens."""

from __future__ import annotations

import secrets
import sys
import sysconfig
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml

from deploy import processes
from deploy.controlplane import ApiServer
from tests.e2e.conftest import KubeletProcess, remove_network, remove_node_containers
from tests.e2e.test_serviceaccount_pods import BASE_IMAGE, ensure_base_image
from tests.support.components import private_control_plane, spawn_ingress
from tests.support.images import BUSYBOX_IMAGE, ensure_busybox_image
from tests.support.kubectl import Kubectl
from tests.support.wait import eventually

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "operator"
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
    operator: processes.Process
    operator_log: Path
    node: str


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    ensure_busybox_image()
    ensure_base_image()
    network = f"minik-e2e-web-{secrets.token_hex(3)}"
    with (
        private_control_plane("minik-e2e-website-", service_accounts=True) as (server, workdir),
        server.http() as h,
    ):
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
            yield Cluster(server, h, kubectl, http_port, started[0], started[1], operator_log, node)
        finally:
            for proc in reversed(started):
                if proc.alive():  # the pod test stops the operator process itself
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


def operator_pod_manifest(cluster: Cluster) -> list[dict]:
    """examples/operator/operator-pod.yaml as written, but for the image: this
    checkout's code instead of the node image's installed minik (the Debian base image
    with the worktree, venv included, mounted read-only), on this module's kubelet,
    with the host's network, where KUBERNETES_SERVICE_HOST/PORT name the apiserver on
    loopback (this module runs no proxy for the `kubernetes` Service)."""
    docs = list(yaml.safe_load_all((EXAMPLE / "operator-pod.yaml").read_text()))
    deployment = docs[-1]
    assert deployment["kind"] == "Deployment"
    spec = deployment["spec"]["template"]["spec"]
    spec.update(nodeName=cluster.node, hostNetwork=True)
    spec["volumes"].append({"name": "minik", "hostPath": {"path": str(ROOT), "type": "Directory"}})
    [container] = spec["containers"]
    container.update(image=BASE_IMAGE, imagePullPolicy="Never")
    container["volumeMounts"].append({"name": "minik", "mountPath": str(ROOT), "readOnly": True})
    container["env"] = [
        {"name": "KUBERNETES_SERVICE_HOST", "value": "127.0.0.1"},
        {"name": "KUBERNETES_SERVICE_PORT", "value": str(cluster.apiserver.port)},
        {"name": "PYTHONPATH", "value": f"{ROOT}:{sysconfig.get_paths()['purelib']}"},
    ]
    return docs


def test_the_operator_runs_as_a_pod_with_its_serviceaccount(cluster: Cluster) -> None:
    http, kubectl = cluster.http, cluster.kubectl
    cluster.operator.stop()  # one operator at a time: the pod is now the only one
    kubectl.run(
        "-n", NS, "create", "configmap", "website-operator",
        f"--from-file={EXAMPLE / 'website_operator.py'}",
    )  # fmt: skip
    manifest = yaml.safe_dump_all(operator_pod_manifest(cluster))
    kubectl.run("apply", "-f", "-", input=manifest)
    host = "pod.example"
    website = website_manifest().replace("name: site", "name: pod-site").replace(HOST, host)
    kubectl.run("-n", NS, "apply", "-f", "-", input=website)

    def operator_log(tail: int | None = 2000) -> str:
        pods = http.get(
            f"/api/v1/namespaces/{NS}/pods", params={"labelSelector": "app=website-operator"}
        ).json()["items"]
        if not pods:
            return "(no operator pod)"
        r = http.get(f"/api/v1/namespaces/{NS}/pods/{pods[0]['metadata']['name']}/log")
        text = r.text[-tail:] if tail else r.text
        return f"phase={pods[0].get('status', {}).get('phase')}\n{text}"

    def ready() -> bool:
        status = http.get(f"{WEBSITES}/pod-site").json().get("status") or {}
        conditions = {c["type"]: c["status"] for c in status.get("conditions") or []}
        assert conditions.get("Ready") == "True", (status, operator_log())
        return True

    eventually(ready, timeout=120, message="Website Ready by the operator pod")
    r = httpx.get(
        f"http://127.0.0.1:{cluster.ingress_port}/site/hello.txt",
        headers={"Host": host},
        timeout=3,
    )
    assert r.status_code == 200 and r.text.startswith("served by pod-site-"), r.text

    # it worked as its ServiceAccount, with only what the example's RBAC grants
    def allowed(verb: str) -> bool:
        attributes = {"group": "apps", "resource": "deployments", "verb": verb}
        user = f"system:serviceaccount:{NS}:website-operator"
        review = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {"user": user, "resourceAttributes": attributes},
        }
        r = http.post("/apis/authorization.k8s.io/v1/subjectaccessreviews", json=review)
        assert r.status_code == 201, r.text
        return bool(r.json()["status"]["allowed"])

    assert allowed("create") and not allowed("delete")
    assert "caches synced" in operator_log(tail=None)
    kubectl.run("-n", NS, "delete", "website", "pod-site")
    kubectl.run("-n", NS, "delete", "deployment", "website-operator")
