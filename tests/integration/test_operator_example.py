"""examples/operator/ end to end on the API: the Website CRD applied with kubectl, the
operator run as the plain process the README shows, the real controller manager, and
fake kubelets (tests/support/fakenode) that make pods Running and Ready, and the real
ingress controller (which publishes the Ingress's address). A Website becomes a
Deployment, a Service and an Ingress it owns, reports Available/Routed/Ready in its
status, follows `kubectl scale`, heals a deleted Service or Ingress, and takes its
children with it when deleted. (tests/e2e/test_website_operator.py reaches the site
through the ingress on real Docker.)"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from deploy import processes
from deploy.controlplane import ApiServer
from tests.support.components import spawn_ingress
from tests.support.fakenode import FakeCluster
from tests.support.kubectl import Kubectl
from tests.support.wait import eventually

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "operator"
CRD_NAME = "websites.example.minik.dev"
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


@pytest.fixture
def crd(kubectl: Kubectl, http: httpx.Client) -> Iterator[None]:
    kubectl.run("apply", "-f", str(EXAMPLE / "website-crd.yaml"))
    kubectl.run("wait", "--for=condition=Established", f"crd/{CRD_NAME}", "--timeout=10s")
    yield
    http.delete(f"{CRDS}/{CRD_NAME}")
    # gone before the next test applies it again (its objects go first)
    eventually(lambda: http.get(f"{CRDS}/{CRD_NAME}").status_code == 404, timeout=30)


@pytest.fixture
def operator(apiserver: ApiServer, crd: None, namespace: str, tmp_path: Path) -> Iterator[Path]:
    log = tmp_path / "operator.log"
    argv = [
        sys.executable,
        str(EXAMPLE / "website_operator.py"),
        "--kubeconfig",
        str(apiserver.kubeconfig),
        "-n",
        namespace,
    ]
    proc = processes.spawn("website-operator", argv, log)
    ports = processes.free_port(), processes.free_port()
    ingress = spawn_ingress(
        apiserver, tmp_path / "ingress.log", *ports, "--publish-ip", "192.0.2.7"
    )
    try:
        yield log
    finally:
        ingress.stop()
        proc.stop()


def test_website_operator(
    apiserver: ApiServer,
    manager,
    operator: Path,
    kubectl: Kubectl,
    http: httpx.Client,
    namespace: str,
):
    ns = ["-n", namespace]
    base = f"/apis/example.minik.dev/v1/namespaces/{namespace}/websites"
    deploy = f"/apis/apps/v1/namespaces/{namespace}/deployments/hello"
    service = f"/api/v1/namespaces/{namespace}/services/hello"
    ingress = f"/apis/networking.k8s.io/v1/namespaces/{namespace}/ingresses/hello"
    with FakeCluster(http, namespace, ["n1"]):
        kubectl.run("apply", *ns, "-f", str(EXAMPLE / "website.yaml"))
        website = http.get(f"{base}/hello").json()

        def ready() -> bool:
            w = http.get(f"{base}/hello").json()
            conditions = (w.get("status") or {}).get("conditions") or []
            return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

        eventually(ready, timeout=30, message=f"Website Ready; operator log: {operator}")
        d = http.get(deploy).json()
        assert d["spec"]["replicas"] == 2
        container = d["spec"]["template"]["spec"]["containers"][0]
        assert container["image"] == "minik/busybox:latest"
        assert container["command"][0] == "httpd"
        owner = d["metadata"]["ownerReferences"][0]
        assert owner["kind"] == "Website" and owner["uid"] == website["metadata"]["uid"]
        svc = http.get(service).json()
        assert svc["spec"]["ports"][0]["targetPort"] == 8080
        assert svc["metadata"]["ownerReferences"][0]["uid"] == website["metadata"]["uid"]
        ing = http.get(ingress).json()
        assert ing["metadata"]["ownerReferences"][0]["uid"] == website["metadata"]["uid"]
        assert ing["spec"]["rules"] == [
            {
                "host": "hello.example.test",
                "http": {
                    "paths": [
                        {
                            "path": "/",
                            "pathType": "Prefix",
                            "backend": {"service": {"name": "hello", "port": {"name": "http"}}},
                        }
                    ]
                },
            }
        ]
        status = http.get(f"{base}/hello").json()["status"]
        conditions = {c["type"]: c for c in status["conditions"]}
        assert {t: c["status"] for t, c in conditions.items()} == {
            "Available": "True",
            "Routed": "True",
            "Ready": "True",
        }
        assert "192.0.2.7" in conditions["Routed"]["message"]
        assert status["url"] == "http://hello.example.test/"
        rows = kubectl.run("get", "ws", *ns).stdout.split()
        header, row = rows[:5], rows[5:9]
        assert header == ["NAME", "IMAGE", "REPLICAS", "READY", "AGE"]
        assert row == ["hello", "minik/busybox:latest", "2", "True"]
        assert http.get(f"{base}/hello").json()["status"]["readyReplicas"] == 2

        kubectl.run("scale", "website", "hello", *ns, "--replicas=3")
        eventually(lambda: http.get(deploy).json()["spec"]["replicas"] == 3, timeout=15)
        eventually(
            lambda: http.get(f"{base}/hello").json()["status"].get("readyReplicas") == 3,
            timeout=30,
        )

        http.delete(service)  # the operator heals what it owns
        eventually(lambda: http.get(service).status_code == 200, timeout=15)
        http.delete(ingress)
        eventually(lambda: http.get(ingress).status_code == 200, timeout=15)
        kubectl.run("patch", "website", "hello", *ns, "--type=merge", "-p",
                    '{"spec":{"path":"/docs"}}')  # fmt: skip
        eventually(
            lambda: (
                http.get(ingress).json()["spec"]["rules"][0]["http"]["paths"][0]["path"] == "/docs"
            ),
            timeout=15,
            message="the Ingress following the Website's path",
        )

        kubectl.run("delete", "website", "hello", *ns)
        eventually(
            lambda: all(http.get(path).status_code == 404 for path in (deploy, service, ingress)),
            timeout=30,
            message="the garbage collector deleting the Website's children",
        )


def test_example_manifests_parse():
    crd = yaml.safe_load((EXAMPLE / "website-crd.yaml").read_text())
    website = yaml.safe_load((EXAMPLE / "website.yaml").read_text())
    assert crd["metadata"]["name"] == CRD_NAME
    assert website["apiVersion"] == f"{crd['spec']['group']}/v1"


def test_website_in_kopf(
    apiserver: ApiServer, crd: None, kubectl: Kubectl, http: httpx.Client, namespace: str, tmp_path
):
    log = tmp_path / "kopf.log"
    argv = [
        sys.executable,
        "-m",
        "kopf",
        "run",
        "--standalone",
        "-n",
        namespace,
        str(EXAMPLE / "website_kopf.py"),
    ]
    env = {**__import__("os").environ, "KUBECONFIG": str(apiserver.kubeconfig)}
    proc = processes.spawn("website-kopf", argv, log, env=env)
    try:
        kubectl.run("apply", "-n", namespace, "-f", str(EXAMPLE / "website.yaml"))
        base = f"/apis/example.minik.dev/v1/namespaces/{namespace}/websites/hello"

        def reconciled() -> bool:
            conditions = (http.get(base).json().get("status") or {}).get("conditions") or []
            return any(c["type"] == "Reconciled" for c in conditions)

        eventually(reconciled, timeout=30, message=f"kopf's status; its log: {log}")
        uid = http.get(base).json()["metadata"]["uid"]
        d = http.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/hello").json()
        assert d["metadata"]["ownerReferences"][0]["uid"] == uid
        assert d["spec"]["replicas"] == 2
        s = http.get(f"/api/v1/namespaces/{namespace}/services/hello").json()
        assert s["spec"]["ports"][0]["targetPort"] == 8080
        i = http.get(f"/apis/networking.k8s.io/v1/namespaces/{namespace}/ingresses/hello").json()
        assert i["metadata"]["ownerReferences"][0]["uid"] == uid
        assert i["spec"]["rules"][0]["host"] == "hello.example.test"
        kubectl.run("patch", "website", "hello", "-n", namespace, "--type=merge", "-p",
                    '{"spec":{"replicas":4}}')  # fmt: skip
        eventually(
            lambda: (
                http.get(f"/apis/apps/v1/namespaces/{namespace}/deployments/hello").json()["spec"][
                    "replicas"
                ]
                == 4
            ),
            timeout=30,
            message=f"kopf's update; its log: {log}",
        )
    finally:
        proc.stop()
