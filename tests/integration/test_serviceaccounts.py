"""ServiceAccounts and their tokens against a real etcd, apiserver (RBAC, ServiceAccount
admission on, tokens signed with the sa.key deploy makes) and controller manager (the
serviceaccount and root-ca-cert-publisher controllers): the real kubectl's `create sa`,
`get sa`, `create token` (durations, audiences, bound to a pod), `auth whoami` as the
ServiceAccount; refusals of expired, foreign-audience, orphaned and unbound tokens;
TokenReview; a RoleBinding to a ServiceAccount; the default account and kube-root-ca.crt
in every namespace; the token volume admission adds to pods."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from client.kubeconfig import write_kubeconfig
from deploy.controlplane import (
    ApiServer,
    Etcd,
    make_workdir,
    remove_workdir,
    start_apiserver,
    start_etcd,
)
from tests.support.controllermanager import ManagerProcess
from tests.support.kubectl import MINORS, Kubectl, installed_kubectl

NS = "sa-team"
ISSUER = "https://kubernetes.default.svc.cluster.local"
MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"


class Cluster:
    def __init__(self, api: ApiServer, workdir: Path) -> None:
        self.api = api
        self.workdir = workdir

    def http(self, token: str | None = None) -> httpx.Client:
        return self.api.http(token)

    def kubectl(self, cache: Path, token: str | None = None) -> Kubectl:
        config = self.api.kubeconfig
        if token is not None:
            config = cache / "kubeconfig-sa"
            write_kubeconfig(config, self.api.url, token, ca_file=self.api.ca_file)
        return Kubectl(config, cache / "kubectl-cache")


def eventually(check: Callable[[], Any], timeout: float = 15, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        else:
            if result is not None and result is not False:
                return result
            assert time.monotonic() < deadline, f"timed out: {what}"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    workdir = make_workdir("minik-satokens-")
    etcd: Etcd = start_etcd(workdir)  # its own: the controllers touch every namespace
    api = start_apiserver(
        etcd, workdir / "apiserver", ["--authorization-mode=RBAC"], service_accounts=True
    )
    manager = ManagerProcess(
        api, workdir, "--controllers=serviceaccount,root-ca-cert-publisher"
    ).start()
    c = Cluster(api, workdir)
    try:
        with c.http() as http:
            r = http.post("/api/v1/namespaces", json={"metadata": {"name": NS}})
            assert r.status_code == 201, r.text
            eventually(lambda: http.get(f"/api/v1/namespaces/{NS}/serviceaccounts/default")
                       .status_code == 200, what="default ServiceAccount")  # fmt: skip
        yield c
    finally:
        manager.stop()
        api.stop()
        etcd.stop()
        remove_workdir(workdir)


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def request_token(http: httpx.Client, name: str, **spec: Any) -> httpx.Response:
    return http.post(
        f"/api/v1/namespaces/{NS}/serviceaccounts/{name}/token",
        json={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest", "spec": spec},
    )


def whoami(cluster: Cluster, token: str) -> httpx.Response:
    with cluster.http(token) as http:
        return http.post(
            "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            json={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
        )


def create_sa(http: httpx.Client, name: str, **fields: Any) -> dict[str, Any]:
    r = http.post(
        f"/api/v1/namespaces/{NS}/serviceaccounts", json={"metadata": {"name": name}, **fields}
    )
    assert r.status_code == 201, r.text
    return r.json()


def pod(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {
            "initContainers": [{"name": "init", "image": "busybox"}],
            "containers": [{"name": "app", "image": "busybox"}],
            **spec,
        },
    }


def test_default_account_and_root_ca_in_every_namespace(cluster: Cluster):
    with cluster.http() as http:
        r = http.post("/api/v1/namespaces", json={"metadata": {"name": "sa-fresh"}})
        assert r.status_code == 201, r.text

        def published() -> dict[str, Any] | None:
            r = http.get("/api/v1/namespaces/sa-fresh/configmaps/kube-root-ca.crt")
            return r.json() if r.status_code == 200 else None

        cm = eventually(published, what="kube-root-ca.crt")
        assert cm["data"]["ca.crt"] == cluster.api.ca_file.read_text()
        sa = eventually(
            lambda: (
                (r := http.get("/api/v1/namespaces/sa-fresh/serviceaccounts/default")).status_code
                == 200
                and r.json()
            ),
            what="default ServiceAccount",
        )
        # deleted: made again (a new object), as Kubernetes' controller does
        r = http.delete("/api/v1/namespaces/sa-fresh/serviceaccounts/default")
        assert r.status_code == 200, r.text
        again = eventually(
            lambda: (
                (r := http.get("/api/v1/namespaces/sa-fresh/serviceaccounts/default")).status_code
                == 200
                and r.json()
            ),
            what="default ServiceAccount recreated",
        )
        assert again["metadata"]["uid"] != sa["metadata"]["uid"]
        # an edited CA bundle is put back
        cm["data"]["ca.crt"] = "tampered"
        assert (
            http.put("/api/v1/namespaces/sa-fresh/configmaps/kube-root-ca.crt", json=cm).status_code
            == 200
        )
        eventually(lambda: (published() or {}).get("data", {}).get("ca.crt") != "tampered",
                   what="kube-root-ca.crt restored")  # fmt: skip
        http.delete("/api/v1/namespaces/sa-fresh")


def test_kubectl_create_sa_token_and_whoami(cluster: Cluster, tmp_path: Path):
    kubectl = cluster.kubectl(tmp_path)
    kubectl.run("create", "sa", "robot", "-n", NS)
    listed = kubectl.run("get", "sa", "-n", NS).stdout
    assert listed.split("\n")[0].split() == ["NAME", "SECRETS", "AGE"], listed
    assert {line.split()[0] for line in listed.strip().split("\n")[1:]} >= {"default", "robot"}
    manifest = (
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: applied\n"
        "automountServiceAccountToken: false\n"
    )
    assert "created" in kubectl.run("apply", "-n", NS, "-f", "-", input=manifest).stdout
    assert "unchanged" in kubectl.run("apply", "-n", NS, "-f", "-", input=manifest).stdout
    discovery = kubectl.run("api-resources", "--api-group=", "-o", "name").stdout
    assert "serviceaccounts" in discovery.split()
    with cluster.http() as http:
        core = http.get("/api/v1").json()["resources"]
        token_sub = next(r for r in core if r["name"] == "serviceaccounts/token")
        assert token_sub["kind"] == "TokenRequest" and token_sub["verbs"] == ["create"]
        sa = http.get(f"/api/v1/namespaces/{NS}/serviceaccounts/robot").json()

    token = kubectl.run("create", "token", "robot", "-n", NS, "--duration=10m").stdout.strip()
    claims = claims_of(token)
    assert claims["iss"] == ISSUER and claims["aud"] == [ISSUER]
    assert claims["sub"] == f"system:serviceaccount:{NS}:robot"
    assert claims["exp"] - claims["iat"] == 600 and claims["nbf"] == claims["iat"]
    assert claims["kubernetes.io"] == {
        "namespace": NS,
        "serviceaccount": {"name": "robot", "uid": sa["metadata"]["uid"]},
    }
    header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
    assert header["alg"] == "RS256" and header["kid"]

    me = json.loads(cluster.kubectl(tmp_path, token).run("auth", "whoami", "-o", "json").stdout)
    info = me["status"]["userInfo"]
    assert info["username"] == f"system:serviceaccount:{NS}:robot"
    assert info["uid"] == sa["metadata"]["uid"]
    assert info["groups"] == [
        "system:serviceaccounts",
        f"system:serviceaccounts:{NS}",
        "system:authenticated",
    ]
    # --audience: a token for someone else is no credential for the apiserver
    other = kubectl.run("create", "token", "robot", "-n", NS, "--audience=vault").stdout.strip()
    assert claims_of(other)["aud"] == ["vault"]
    assert whoami(cluster, other).status_code == 401
    # too short a duration is refused as Kubernetes words it
    short = kubectl.fails("create", "token", "robot", "-n", NS, "--duration=5m")
    assert "may not specify a duration less than 10 minutes" in short.stderr, short


def test_token_dies_with_its_serviceaccount(cluster: Cluster):
    with cluster.http() as http:
        create_sa(http, "doomed")
        r = request_token(http, "doomed")
        assert r.status_code == 201, r.text
        answer = r.json()
        assert answer["kind"] == "TokenRequest" and answer["spec"]["expirationSeconds"] == 3600
        token = answer["status"]["token"]
        assert whoami(cluster, token).status_code == 201
        assert http.delete(f"/api/v1/namespaces/{NS}/serviceaccounts/doomed").status_code == 200
        eventually(lambda: whoami(cluster, token).status_code == 401, what="token refused")
        # a namesake is another account: the old token stays refused
        create_sa(http, "doomed")
        time.sleep(0.5)
        assert whoami(cluster, token).status_code == 401
        assert request_token(http, "nobody").status_code == 404


def test_expired_and_forged_tokens_are_refused(cluster: Cluster):
    with cluster.http() as http:
        create_sa(http, "clock")
        token = request_token(http, "clock").json()["status"]["token"]
    head, payload, signature = token.split(".")
    claims = claims_of(token)
    claims["exp"] = int(time.time()) - 3600  # expired an hour ago, past any leeway
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert whoami(cluster, f"{head}.{forged}.{signature}").status_code == 401
    assert whoami(cluster, f"{head}.{payload}.{signature[:-4]}AAAA").status_code == 401
    assert whoami(cluster, token).status_code == 201


def test_token_bound_to_a_pod(cluster: Cluster, tmp_path: Path):
    kubectl = cluster.kubectl(tmp_path)
    with cluster.http() as http:
        create_sa(http, "worker")
        r = http.post(
            f"/api/v1/namespaces/{NS}/pods", json=pod("bound", serviceAccountName="worker")
        )
        assert r.status_code == 201, r.text
        p = r.json()
        token = kubectl.run(
            "create", "token", "worker", "-n", NS,
            "--bound-object-kind=Pod", "--bound-object-name=bound",
        ).stdout.strip()  # fmt: skip
        private = claims_of(token)["kubernetes.io"]
        assert private["pod"] == {"name": "bound", "uid": p["metadata"]["uid"]}
        me = whoami(cluster, token).json()["status"]["userInfo"]
        assert me["extra"]["authentication.kubernetes.io/pod-name"] == ["bound"]
        assert me["extra"]["authentication.kubernetes.io/pod-uid"] == [p["metadata"]["uid"]]
        # the wrong uid, or a pod of another account, cannot be bound
        wrong = request_token(
            http, "worker", boundObjectRef={"kind": "Pod", "apiVersion": "v1",
                                            "name": "bound", "uid": "nope"},
        )  # fmt: skip
        assert wrong.status_code == 409, wrong.text
        other = request_token(
            http, "default", boundObjectRef={"kind": "Pod", "apiVersion": "v1", "name": "bound"}
        )
        assert other.status_code == 400 and "different serviceaccount" in other.text
        r = http.delete(f"/api/v1/namespaces/{NS}/pods/bound", params={"gracePeriodSeconds": 0})
        assert r.status_code == 200, r.text
        eventually(lambda: whoami(cluster, token).status_code == 401, what="pod's token refused")


def test_token_review(cluster: Cluster):
    with cluster.http() as http:
        create_sa(http, "reviewed")
        token = request_token(http, "reviewed", audiences=["api", "vault"]).json()["status"][
            "token"
        ]

        def review(tok: str, audiences: list[str] | None = None) -> dict[str, Any]:
            spec: dict[str, Any] = {"token": tok}
            if audiences:
                spec["audiences"] = audiences
            r = http.post(
                "/apis/authentication.k8s.io/v1/tokenreviews",
                json={"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                      "spec": spec},
            )  # fmt: skip
            assert r.status_code == 201, r.text
            return r.json()["status"]

        ok = review(token, ["vault"])
        assert ok["authenticated"] is True and ok["audiences"] == ["vault"]
        assert ok["user"]["username"] == f"system:serviceaccount:{NS}:reviewed"
        refused = review(token)  # the apiserver's own audience is not among the token's
        assert refused["authenticated"] is False and refused["error"]
        assert review("not-a-token")["authenticated"] is False
        listed = http.get("/apis/authentication.k8s.io/v1").json()["resources"]
        assert {"tokenreviews", "selfsubjectreviews"} <= {r["name"] for r in listed}


def test_rolebinding_grants_a_serviceaccount(cluster: Cluster, tmp_path: Path):
    with cluster.http() as http:
        create_sa(http, "reader")
        token = request_token(http, "reader").json()["status"]["token"]
    as_sa = cluster.kubectl(tmp_path, token)
    denied = as_sa.fails("get", "pods", "-n", NS)
    assert (
        f'User "system:serviceaccount:{NS}:reader" cannot list resource "pods" in API group ""'
        in denied.stderr
    ), denied
    kubectl = cluster.kubectl(tmp_path)
    kubectl.run("create", "role", "pod-reader", "-n", NS, "--verb=get,list", "--resource=pods")
    kubectl.run(
        "create", "rolebinding", "reader-pods", "-n", NS, "--role=pod-reader",
        f"--serviceaccount={NS}:reader",
    )  # fmt: skip
    eventually(lambda: as_sa.run("get", "pods", "-n", NS, check=False).ok, what="allowed")
    assert as_sa.run("auth", "can-i", "list", "pods", "-n", NS).stdout.strip() == "yes"
    assert (
        as_sa.run("auth", "can-i", "delete", "pods", "-n", NS, check=False).stdout.strip() == "no"
    )


def test_admission_injects_the_token_volume(cluster: Cluster):
    with cluster.http() as http:
        r = http.post(f"/api/v1/namespaces/{NS}/pods", json=pod("plain"))
        assert r.status_code == 201, r.text
        spec = r.json()["spec"]
        assert spec["serviceAccountName"] == "default"
        [volume] = [v for v in spec["volumes"] if v["name"].startswith("kube-api-access-")]
        assert len(volume["name"]) == len("kube-api-access-") + 5
        assert volume["projected"] == {
            "defaultMode": 420,
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt",
                               "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
                    "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
            ],
        }  # fmt: skip
        for c in spec["initContainers"] + spec["containers"]:
            assert {"name": volume["name"], "readOnly": True, "mountPath": MOUNT} in c[
                "volumeMounts"
            ]
        # opted out by the pod, or by its ServiceAccount
        r = http.post(
            f"/api/v1/namespaces/{NS}/pods", json=pod("quiet", automountServiceAccountToken=False)
        )
        assert r.status_code == 201 and not r.json()["spec"].get("volumes"), r.text
        create_sa(http, "silent", automountServiceAccountToken=False)
        r = http.post(
            f"/api/v1/namespaces/{NS}/pods", json=pod("hushed", serviceAccountName="silent")
        )
        assert r.status_code == 201 and not r.json()["spec"].get("volumes"), r.text
        # a missing account is refused with Kubernetes' words
        r = http.post(f"/api/v1/namespaces/{NS}/pods", json=pod("lost", serviceAccountName="ghost"))
        assert r.status_code == 403, r.text
        assert r.json()["message"] == (
            f'pods "lost" is forbidden: error looking up service account {NS}/ghost: '
            'serviceaccount "ghost" not found'
        )


@pytest.mark.parametrize("minor", MINORS, ids=lambda m: m or "default")
def test_kubectl_minors(cluster: Cluster, tmp_path: Path, minor: str | None):
    kubectl = installed_kubectl(minor, cluster.api.kubeconfig, tmp_path / "cache")
    name = f"bot-{(minor or 'default').replace('.', '-')}"
    kubectl.run("create", "serviceaccount", name, "-n", NS)
    assert name in kubectl.run("get", "sa", name, "-n", NS).stdout
    described = kubectl.run("describe", "sa", name, "-n", NS).stdout
    assert f"Name:                {name}" in described, described
    token = kubectl.run("create", "token", name, "-n", NS, "--duration=1h").stdout.strip()
    config = tmp_path / "kubeconfig-bot"
    write_kubeconfig(config, cluster.api.url, token, ca_file=cluster.api.ca_file)
    me = installed_kubectl(minor, config, tmp_path / "cache-bot").run("auth", "whoami")
    assert f"system:serviceaccount:{NS}:{name}" in me.stdout, me
