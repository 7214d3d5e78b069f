"""An in-pod API client end to end: a real kubelet runs a pod in which the official
Python client's `config.load_incluster_config()` lists the pods of its namespace as its
ServiceAccount: 403 until a RoleBinding grants it, then the list. Everything it uses is
what Kubernetes gives a pod: the token volume admission adds, filled by the kubelet
through a TokenRequest bound to the pod, `ca.crt` from the kube-root-ca.crt ConfigMap
(the client verifies the apiserver's certificate with it) and `namespace`.

The cluster is this module's own: etcd, an apiserver with --authorization-mode=Node,RBAC and
ServiceAccount admission, the serviceaccount and root-ca-cert-publisher controllers, one
kubelet. The image is the compose lab's Debian base (deploy/compose/build-base.sh,
made offline with debootstrap; its python3 is this machine's 3.11), and the client is
this venv's `kubernetes` package mounted read-only (hostPath), so nothing is fetched.
The apiserver listens on loopback and this module runs no proxy, so the pod uses the
host's network and KUBERNETES_SERVICE_HOST/PORT name the apiserver's loopback address
(the client reads exactly these two variables). busybox's wget cannot be the client:
its TLS offers no signature algorithm OpenSSL 3 accepts by default (handshake failure)."""

from __future__ import annotations

import base64
import json
import secrets
import subprocess
import sysconfig
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
import httpx
import pytest

from deploy import processes
from deploy.controlplane import ApiServer, make_workdir, remove_workdir, start_apiserver, start_etcd
from kubelet.volumes import volume_sources
from tests.e2e.conftest import KubeletProcess, remove_node_containers
from tests.support.controllermanager import ManagerProcess
from tests.support.wait import eventually

NS = "sa-e2e"
BASE_IMAGE = "minik/debian:bookworm"
BUILD_BASE = Path(__file__).resolve().parents[2] / "deploy" / "compose" / "build-base.sh"
SITE = "/opt/site"
CLIENT = """
import time
from kubernetes import client, config
from kubernetes.client.rest import ApiException

config.load_incluster_config()
ns = open("/var/run/secrets/kubernetes.io/serviceaccount/namespace").read()
v1 = client.CoreV1Api()
while True:
    try:
        pods = v1.list_namespaced_pod(ns)
        print("OK", " ".join(sorted(p.metadata.name for p in pods.items)), flush=True)
    except ApiException as e:
        print("ERR", e.status, e.reason, flush=True)
    except Exception as e:
        print("EXC", type(e).__name__, e, flush=True)
    time.sleep(1)
"""


def ensure_base_image() -> str:
    try:
        docker.from_env().images.get(BASE_IMAGE)
    except docker.errors.ImageNotFound:
        done = subprocess.run(["bash", str(BUILD_BASE)], capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"{BASE_IMAGE} could not be built: {done.stderr[-500:]}")
    return BASE_IMAGE


class Cluster:
    def __init__(self, api: ApiServer, kubelet: KubeletProcess) -> None:
        self.api = api
        self.kubelet = kubelet


@pytest.fixture(scope="module")
def cluster(pod_network: str) -> Iterator[Cluster]:
    ensure_base_image()
    workdir = make_workdir("minik-sa-e2e-")
    etcd = start_etcd(workdir)
    api = start_apiserver(etcd, workdir / "apiserver", service_accounts=True)
    manager = ManagerProcess(
        api, workdir, "--controllers=serviceaccount,root-ca-cert-publisher"
    ).start()
    node = f"sa-{secrets.token_hex(3)}"
    kubelet = KubeletProcess(api, node, workdir / node, processes.free_port(), pod_network, workdir)
    try:
        kubelet.start()
        yield Cluster(api, kubelet)
    finally:
        kubelet.stop()
        remove_node_containers(node)
        manager.stop()
        api.stop()
        etcd.stop()
        remove_workdir(workdir)


def logs(http: httpx.Client, name: str) -> str:
    r = http.get(f"/api/v1/namespaces/{NS}/pods/{name}/log")
    return r.text if r.status_code == 200 else ""


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def pod_state(http: httpx.Client, name: str) -> str:
    """What a failure message needs: the pod's status and its log."""
    pod = http.get(f"/api/v1/namespaces/{NS}/pods/{name}").json()
    events = http.get(f"/api/v1/namespaces/{NS}/events").json().get("items", [])
    said = [f"{e.get('reason')}: {e.get('message')}" for e in events]
    return f"status={json.dumps(pod.get('status'))}\nevents={said}\nlog={logs(http, name)[-2000:]}"


def test_official_client_in_a_pod(cluster: Cluster) -> None:
    with cluster.api.http() as http:
        assert http.post("/api/v1/namespaces", json={"metadata": {"name": NS}}).status_code == 201
        r = http.post(
            f"/api/v1/namespaces/{NS}/serviceaccounts", json={"metadata": {"name": "lister"}}
        )
        assert r.status_code == 201, r.text
        pod = {
            "metadata": {"name": "client"},
            "spec": {
                "nodeName": cluster.kubelet.node,
                "serviceAccountName": "lister",
                "hostNetwork": True,
                "terminationGracePeriodSeconds": 1,
                "containers": [
                    {
                        "name": "client",
                        "image": BASE_IMAGE,
                        "imagePullPolicy": "Never",
                        "command": ["python3", "-c", CLIENT],
                        "env": [
                            {"name": "KUBERNETES_SERVICE_HOST", "value": "127.0.0.1"},
                            {"name": "KUBERNETES_SERVICE_PORT", "value": str(cluster.api.port)},
                            {"name": "PYTHONPATH", "value": SITE},
                        ],
                        "volumeMounts": [{"name": "site", "mountPath": SITE, "readOnly": True}],
                    }
                ],
                "volumes": [
                    {
                        "name": "site",
                        "hostPath": {"path": sysconfig.get_paths()["purelib"], "type": "Directory"},
                    }
                ],
            },
        }
        r = http.post(f"/api/v1/namespaces/{NS}/pods", json=pod)
        assert r.status_code == 201, r.text
        created = r.json()
        uid = created["metadata"]["uid"]
        [volume] = [
            v for v in created["spec"]["volumes"] if v["name"].startswith("kube-api-access-")
        ]

        # No binding yet: the apiserver knows who asks, and refuses.
        try:
            eventually(
                lambda: "ERR 403 Forbidden" in logs(http, "client"),
                timeout=90,
                interval=0.5,
                message="the pod's request refused with 403",
            )
        except AssertionError as err:
            raise AssertionError(f"{err}\n{pod_state(http, 'client')}") from None

        # The token on the node: bound to this pod, for the apiserver's audience.
        # (in the pod's private directory: kubelet/volumes.py)
        token_file = volume_sources(created, cluster.kubelet.root_dir, "")[volume["name"]] / "token"
        claims = claims_of(token_file.read_text())
        assert claims["sub"] == f"system:serviceaccount:{NS}:lister"
        assert claims["kubernetes.io"]["pod"] == {"name": "client", "uid": uid}
        assert claims["kubernetes.io"]["node"]["name"] == cluster.kubelet.node
        assert claims["exp"] - claims["iat"] == 3607

        rbac = "/apis/rbac.authorization.k8s.io/v1"
        role = {
            "metadata": {"name": "pod-lister"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]}],
        }
        assert http.post(f"{rbac}/namespaces/{NS}/roles", json=role).status_code == 201
        binding = {
            "metadata": {"name": "lister-pods"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": "pod-lister",
            },
            "subjects": [{"kind": "ServiceAccount", "name": "lister", "namespace": NS}],
        }
        assert http.post(f"{rbac}/namespaces/{NS}/rolebindings", json=binding).status_code == 201
        granted = time.monotonic()
        try:
            eventually(
                lambda: "OK client" in logs(http, "client"),
                timeout=30,
                interval=0.5,
                message="the pod lists pods",
            )
        except AssertionError as err:
            raise AssertionError(f"{err}\n{pod_state(http, 'client')}") from None
        print(f"allowed {time.monotonic() - granted:.1f}s after the RoleBinding")
        http.delete(f"/api/v1/namespaces/{NS}/pods/client")
