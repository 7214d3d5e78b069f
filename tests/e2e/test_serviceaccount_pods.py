"""An in-pod API client end to end: a real kubelet runs a busybox pod whose
ServiceAccount token volume (added by admission, filled by the kubelet through a
TokenRequest bound to the pod, with kube-root-ca.crt from the controller manager) lets
it read its own pod from the apiserver as `system:serviceaccount:<ns>:reader`: 403
until a RoleBinding grants `get pods`, then the pod itself.

The cluster is this module's own (etcd, an apiserver with --authorization-mode=RBAC and
ServiceAccount admission, the serviceaccount and root-ca-cert-publisher controllers, one
kubelet). The apiserver listens on loopback and this module runs no proxy, so the pod
uses the host's network to reach it at 127.0.0.1 rather than KUBERNETES_SERVICE_HOST.
busybox's wget cannot verify a certificate: it fetches with --no-check-certificate
(the ca.crt it would verify with is checked to be there)."""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from deploy import processes
from deploy.controlplane import ApiServer, make_workdir, remove_workdir, start_apiserver, start_etcd
from tests.e2e.conftest import KubeletProcess, remove_node_containers
from tests.support.controllermanager import ManagerProcess
from tests.support.wait import eventually

NS = "sa-e2e"
TOKEN_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
CLIENT = r"""
D={dir}
test -s $D/ca.crt && echo "CA $(head -1 $D/ca.crt)"
while true; do
  if out=$(wget -q -O- --no-check-certificate \
      --header "Authorization: Bearer $(cat $D/token)" \
      "https://127.0.0.1:{port}/api/v1/namespaces/$(cat $D/namespace)/pods/$POD_NAME" 2>&1)
  then echo "OK $out" | head -c 400; echo
  else echo "ERR $out"
  fi
  sleep 1
done
"""


class Cluster:
    def __init__(self, api: ApiServer, kubelet: KubeletProcess) -> None:
        self.api = api
        self.kubelet = kubelet


@pytest.fixture(scope="module")
def cluster(pod_network: str, busybox: str) -> Iterator[Cluster]:
    workdir = make_workdir("minik-sa-e2e-")
    etcd = start_etcd(workdir)
    api = start_apiserver(
        etcd, workdir / "apiserver", ["--authorization-mode=RBAC"], service_accounts=True
    )
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


def test_pod_reads_itself_as_its_serviceaccount(cluster: Cluster) -> None:
    with cluster.api.http() as http:
        assert http.post("/api/v1/namespaces", json={"metadata": {"name": NS}}).status_code == 201
        r = http.post(
            f"/api/v1/namespaces/{NS}/serviceaccounts", json={"metadata": {"name": "reader"}}
        )
        assert r.status_code == 201, r.text
        script = CLIENT.format(dir=TOKEN_DIR, port=cluster.api.port)
        pod = {
            "metadata": {"name": "client"},
            "spec": {
                "nodeName": cluster.kubelet.node,
                "serviceAccountName": "reader",
                "hostNetwork": True,
                "terminationGracePeriodSeconds": 1,
                "containers": [
                    {
                        "name": "client",
                        "image": "minik-test/busybox:1",
                        "imagePullPolicy": "Never",
                        "command": ["sh", "-c", script],
                        "env": [
                            {
                                "name": "POD_NAME",
                                "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}},
                            }
                        ],
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
        eventually(
            lambda: "403 Forbidden" in logs(http, "client"),
            timeout=60,
            interval=0.5,
            message="the pod's request refused with 403",
        )
        text = logs(http, "client")
        assert "CA -----BEGIN CERTIFICATE-----" in text, text

        # The token on the node: bound to this pod, for the apiserver's audience.
        token_file = (
            cluster.kubelet.root_dir
            / "pods"
            / uid
            / "volumes"
            / "projected"
            / volume["name"]
            / "token"
        )
        claims = claims_of(token_file.read_text())
        assert claims["sub"] == f"system:serviceaccount:{NS}:reader"
        assert claims["kubernetes.io"]["pod"] == {"name": "client", "uid": uid}
        assert claims["kubernetes.io"]["node"]["name"] == cluster.kubelet.node
        assert claims["exp"] - claims["iat"] == 3607

        rbac = "/apis/rbac.authorization.k8s.io/v1"
        role = {
            "metadata": {"name": "pod-reader"},
            "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}],
        }
        assert http.post(f"{rbac}/namespaces/{NS}/roles", json=role).status_code == 201
        binding = {
            "metadata": {"name": "reader-pods"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "Role",
                "name": "pod-reader",
            },
            "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": NS}],
        }
        assert http.post(f"{rbac}/namespaces/{NS}/rolebindings", json=binding).status_code == 201
        granted = time.monotonic()

        def read_itself() -> bool:
            return any(
                line.startswith("OK ") and f'"uid":"{uid}"' in line
                for line in logs(http, "client").splitlines()
            )

        eventually(read_itself, timeout=30, interval=0.5, message="the pod reads itself")
        print(f"allowed {time.monotonic() - granted:.1f}s after the RoleBinding")
        http.delete(f"/api/v1/namespaces/{NS}/pods/client")
