"""The Node authorizer and NodeRestriction on an apiserver of this module's own,
started --authorization-mode=Node,RBAC as kubeadm starts kube-apiserver: a kubelet
(`system:node:<name>` in `system:nodes`) reads only the Secrets, ConfigMaps, claims and
volumes its own pods use, asks tokens only for their ServiceAccounts, and writes only
its own Node, its own Lease and the status of its own pods."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest

from deploy import processes
from deploy.controlplane import Etcd, make_workdir, remove_workdir, start_apiserver
from tests.support.wait import eventually

NS = "node-authz"
USERS = [
    ("root", "system:masters"),
    ("system:node:node-a", "system:nodes"),
    ("system:node:node-b", "system:nodes"),
]


@dataclass
class Cluster:
    url: str
    ssl: object
    tokens: dict[str, str]

    def http(self, user: str) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            verify=self.ssl,  # type: ignore[arg-type]
            timeout=30,
            headers={"Authorization": f"Bearer {self.tokens[user]}"},
        )


def pod(name: str, node: str, uses: bool = True) -> dict:
    """A pod bound to `node`; with `uses`, one using a Secret through a volume and one
    through env, a ConfigMap through envFrom, a claim and the account `runner`."""
    if not uses:
        return {"metadata": {"name": name}, "spec": {
            "nodeName": node, "automountServiceAccountToken": False,
            "containers": [{"name": "c", "image": "busybox"}]}}  # fmt: skip
    return {
        "metadata": {"name": name},
        "spec": {
            "nodeName": node,
            "serviceAccountName": "runner",
            "automountServiceAccountToken": False,
            "containers": [
                {
                    "name": "c",
                    "image": "busybox",
                    "envFrom": [{"configMapRef": {"name": "settings"}}],
                    "env": [
                        {
                            "name": "K",
                            "valueFrom": {"secretKeyRef": {"name": "env-secret", "key": "k"}},
                        }
                    ],
                }
            ],
            "volumes": [
                {"name": "s", "secret": {"secretName": "mounted"}},
                {"name": "d", "persistentVolumeClaim": {"claimName": "data"}},
            ],
        },
    }


@pytest.fixture(scope="module")
def cluster(etcd: Etcd) -> Iterator[Cluster]:
    workdir = make_workdir("minik-nodeauthz-")
    tokens = processes.write_token_file(workdir / "users.csv", USERS)
    api = start_apiserver(
        etcd,
        workdir,
        ["--authorization-mode=Node,RBAC", f"--token-auth-file={workdir / 'users.csv'}"],
    )
    c = Cluster(api.url, api.ssl_context(), tokens)
    try:
        with c.http("root") as root:
            for path, body in (
                ("/api/v1/namespaces", {"metadata": {"name": NS}}),
                (f"/api/v1/namespaces/{NS}/serviceaccounts", {"metadata": {"name": "runner"}}),
                (f"/api/v1/namespaces/{NS}/serviceaccounts", {"metadata": {"name": "other"}}),
            ):
                r = root.post(path, json=body)
                assert r.status_code in (201, 409), r.text
            for name in ("mounted", "env-secret", "unrelated"):
                r = root.post(
                    f"/api/v1/namespaces/{NS}/secrets",
                    json={"metadata": {"name": name}, "stringData": {"k": "v"}},
                )
                assert r.status_code == 201, r.text
            r = root.post(
                f"/api/v1/namespaces/{NS}/configmaps",
                json={"metadata": {"name": "settings"}, "data": {"A": "1"}},
            )
            assert r.status_code == 201, r.text
            r = root.post(
                "/api/v1/persistentvolumes",
                json={
                    "metadata": {"name": "node-authz-pv"},
                    "spec": {
                        "capacity": {"storage": "1Gi"},
                        "accessModes": ["ReadWriteOnce"],
                        "hostPath": {"path": "/tmp/node-authz-pv"},
                    },
                },
            )
            assert r.status_code == 201, r.text
            r = root.post(
                f"/api/v1/namespaces/{NS}/persistentvolumeclaims",
                json={
                    "metadata": {"name": "data"},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "storageClassName": "",
                        "volumeName": "node-authz-pv",
                        "resources": {"requests": {"storage": "1Gi"}},
                    },
                },
            )
            assert r.status_code == 201, r.text
            for name, node, uses in (("on-a", "node-a", True), ("on-b", "node-b", False)):
                r = root.post(f"/api/v1/namespaces/{NS}/pods", json=pod(name, node, uses))
                assert r.status_code == 201, r.text
        yield c
    finally:
        api.stop()
        remove_workdir(workdir)


def eviction(name: str) -> dict:
    return {"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": name}}


def status_of(
    c: Cluster, user: str, request: Callable[[httpx.Client], httpx.Response]
) -> tuple[int, str]:
    with c.http(user) as http:
        r = request(http)
        return r.status_code, r.json().get("message", "") if r.status_code >= 400 else ""


def eventually_status(
    c: Cluster, user: str, request: Callable[[httpx.Client], httpx.Response], code: int
) -> str:
    """The graph follows the watch: wait for `code`; the last message."""

    def settled() -> str | None:
        got, message = status_of(c, user, request)
        return message or "ok" if got == code else None

    return eventually(settled, timeout=10, interval=0.05, message=f"{user}: {code}")


def test_a_kubelet_reads_what_its_pods_use_and_nothing_else(cluster: Cluster) -> None:
    base = f"/api/v1/namespaces/{NS}"
    for path in (
        f"{base}/secrets/mounted",
        f"{base}/secrets/env-secret",
        f"{base}/configmaps/settings",
        f"{base}/persistentvolumeclaims/data",
        "/api/v1/persistentvolumes/node-authz-pv",
    ):
        eventually_status(cluster, "system:node:node-a", lambda h, p=path: h.get(p), 200)
        code, message = status_of(cluster, "system:node:node-b", lambda h, p=path: h.get(p))
        assert code == 403, path
        assert "no relationship found between node 'node-b' and this object" in message
    code, message = status_of(
        cluster, "system:node:node-a", lambda h: h.get(f"{base}/secrets/unrelated")
    )
    assert code == 403
    assert message == (
        'secrets "unrelated" is forbidden: User "system:node:node-a" cannot get resource '
        f'"secrets" in API group "" in the namespace "{NS}": no relationship found between '
        "node 'node-a' and this object"
    )
    code, message = status_of(cluster, "system:node:node-a", lambda h: h.get(f"{base}/secrets"))
    assert code == 403
    assert "can only get individual resources of this type" in message
    # a watch of one named object, as the kubelet's secret manager makes, is allowed
    code, _ = status_of(
        cluster,
        "system:node:node-a",
        lambda h: h.get(f"{base}/secrets", params={"fieldSelector": "metadata.name=mounted"}),
    )
    assert code == 200


def test_a_kubelet_asks_tokens_only_for_its_pods_accounts(cluster: Cluster) -> None:
    path = f"/api/v1/namespaces/{NS}/serviceaccounts/runner/token"
    body = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {"boundObjectRef": {"kind": "Pod", "apiVersion": "v1", "name": "on-a"}},
    }
    eventually_status(cluster, "system:node:node-a", lambda h: h.post(path, json=body), 201)
    other = path.replace("/runner/", "/other/")
    code, message = status_of(cluster, "system:node:node-a", lambda h: h.post(other, json=body))
    assert code == 403 and "no relationship found" in message


def test_a_kubelet_writes_only_its_own_node_and_lease(cluster: Cluster) -> None:
    node_a = {"metadata": {"name": "node-a"}}
    eventually_status(
        cluster, "system:node:node-a", lambda h: h.post("/api/v1/nodes", json=node_a), 201
    )
    code, message = status_of(
        cluster,
        "system:node:node-a",
        lambda h: h.post("/api/v1/nodes", json={"metadata": {"name": "node-b"}}),
    )
    assert code == 403
    assert (
        message
        == 'nodes "node-b" is forbidden: node "node-a" is not allowed to modify node "node-b"'
    )
    merge = {"Content-Type": "application/merge-patch+json"}
    code, _ = status_of(
        cluster,
        "system:node:node-a",
        lambda h: h.patch(
            "/api/v1/nodes/node-a", json={"metadata": {"labels": {"a": "1"}}}, headers=merge
        ),
    )
    assert code == 200
    code, message = status_of(
        cluster,
        "system:node:node-a",
        lambda h: h.patch(
            "/api/v1/nodes/node-a",
            json={"spec": {"taints": [{"key": "k", "effect": "NoSchedule"}]}},
            headers=merge,
        ),
    )
    assert (code, message) == (
        403,
        'nodes "node-a" is forbidden: node "node-a" is not allowed to modify taints',
    )
    code, message = status_of(
        cluster,
        "system:node:node-a",
        lambda h: h.patch(
            "/api/v1/nodes/node-a",
            json={"metadata": {"labels": {"node-restriction.kubernetes.io/pool": "x"}}},
            headers=merge,
        ),
    )
    assert code == 403
    assert "is not allowed to modify labels: node-restriction.kubernetes.io/pool" in message

    leases = "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases"
    code, _ = status_of(
        cluster,
        "system:node:node-a",
        lambda h: h.post(leases, json={"metadata": {"name": "node-a"}, "spec": {}}),
    )
    assert code == 201
    code, message = status_of(
        cluster,
        "system:node:node-a",
        lambda h: h.post(leases, json={"metadata": {"name": "node-b"}, "spec": {}}),
    )
    assert code == 403
    assert "can only access node lease with the same name as the requesting node" in message
    # deletes too: another node's Lease (made by that node) is not this kubelet's
    code, _ = status_of(
        cluster,
        "system:node:node-b",
        lambda h: h.post(leases, json={"metadata": {"name": "node-b"}, "spec": {}}),
    )
    assert code == 201
    code, message = status_of(cluster, "system:node:node-a", lambda h: h.delete(f"{leases}/node-b"))
    assert code == 403
    assert "can only access node lease with the same name as the requesting node" in message
    code, _ = status_of(cluster, "system:node:node-a", lambda h: h.delete(f"{leases}/node-a"))
    assert code == 200


def test_a_kubelet_touches_only_its_own_pods(cluster: Cluster) -> None:
    base = f"/api/v1/namespaces/{NS}/pods"
    merge = {"Content-Type": "application/merge-patch+json"}
    running = {"status": {"phase": "Running"}}
    code, _ = status_of(
        cluster,
        "system:node:node-a",
        lambda h: h.patch(f"{base}/on-a/status", json=running, headers=merge),
    )
    assert code == 200
    code, message = status_of(
        cluster,
        "system:node:node-a",
        lambda h: h.patch(f"{base}/on-b/status", json=running, headers=merge),
    )
    assert code == 403
    assert "can only update pod status for pods with spec.nodeName set to itself" in message

    code, message = status_of(
        cluster, "system:node:node-a", lambda h: h.post(base, json=pod("mine", "node-a"))
    )
    assert code == 403
    assert message.endswith(
        'pod does not have "kubernetes.io/config.mirror" annotation, node "node-a" can only '
        "create mirror pods"
    )

    code, message = status_of(cluster, "system:node:node-a", lambda h: h.delete(f"{base}/on-b"))
    assert code == 403
    assert message == (
        'pods "on-b" is forbidden: node "node-a" can only delete pods with spec.nodeName '
        "set to itself"
    )
    code, message = status_of(
        cluster,
        "system:node:node-a",
        lambda h: h.post(f"{base}/on-b/eviction", json=eviction("on-b")),
    )
    assert code == 403
    assert message == (
        'pods "on-b" is forbidden: node node-a can only evict pods with spec.nodeName set to itself'
    )
    # a pod that is gone is 404 to its kubelet (Kubernetes' NodeRestriction reads it
    # first), so a kubelet finishing a deletion someone else finished sees NotFound
    for removal in (
        lambda h: h.delete(f"{base}/never-was"),
        lambda h: h.post(f"{base}/never-was/eviction", json=eviction("never-was")),
    ):
        code, message = status_of(cluster, "system:node:node-a", removal)
        assert code == 404, message
        assert message == 'pods "never-was" not found'
    code, _ = status_of(
        cluster,
        "system:node:node-a",
        lambda h: h.delete(f"{base}/on-a", params={"gracePeriodSeconds": "0"}),
    )
    assert code == 200
    # its pod gone, the node no longer reaches what the pod used
    eventually_status(
        cluster,
        "system:node:node-a",
        lambda h: h.get(f"/api/v1/namespaces/{NS}/secrets/mounted"),
        403,
    )
