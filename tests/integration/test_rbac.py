"""RBAC end to end on a dedicated apiserver started with --authorization-mode=Node,RBAC
and --client-ca-file (users of its own beside the session apiserver's): the real kubectl (1.32 and
the 1.27/1.33 beside it) for `auth whoami`, `auth can-i` (with --as and --list),
`create role|clusterrole|rolebinding|clusterrolebinding`, get and describe; Kubernetes'
forbidden wording, escalation refusals, ClusterRole aggregation, X.509 client
certificates, and an authorization matrix for admin/edit/view/anonymous, a kubelet,
the proxy and ServiceAccounts."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from client.kubeconfig import write_kubeconfig
from componentbase.pki import ensure_ca, issue_client_cert
from deploy import processes
from deploy.controlplane import (
    ApiServer,
    Etcd,
    make_workdir,
    remove_workdir,
    start_apiserver,
)
from tests.support.kubectl import MINORS, Kubectl, installed_kubectl

RBAC = "/apis/rbac.authorization.k8s.io/v1"
NS = "rbac-team"
USERS = [
    ("root", "system:masters"),
    ("ann", "team-admins"),  # admin in NS through a group binding
    ("ed", ""),  # edit in NS
    ("vic", ""),  # view in NS
    ("jane", ""),  # nothing but the defaults
]


class Cluster:
    def __init__(self, api: ApiServer, tokens: dict[str, str], workdir: Path) -> None:
        self.api = api
        self.tokens = tokens
        self.workdir = workdir
        self.kubeconfigs: dict[str, Path] = {}
        for user, token in tokens.items():
            path = workdir / f"kubeconfig-{user}"
            write_kubeconfig(path, api.url, token, ca_file=api.ca_file)
            self.kubeconfigs[user] = path

    def http(self, user: str | None = "root") -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}
        return httpx.Client(
            base_url=self.api.url, timeout=30, verify=self.api.ssl_context(), headers=headers
        )

    def kubectl(self, user: str, minor: str | None, cache: Path) -> Kubectl:
        return installed_kubectl(minor, self.kubeconfigs[user], cache)


def wait_allowed(
    http: httpx.Client, user: str, verb: str, resource: str, want: bool, group: str = ""
) -> None:
    """Policy reaches the authorizer through the watch: wait until it shows."""
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": user,
            "groups": ["system:authenticated"],
            "resourceAttributes": {
                "namespace": NS,
                "verb": verb,
                "resource": resource,
                "group": group,
            },
        },
    }
    deadline = time.monotonic() + 10
    while True:
        r = http.post("/apis/authorization.k8s.io/v1/subjectaccessreviews", json=review)
        assert r.status_code == 201, r.text
        if r.json()["status"]["allowed"] == want:
            return
        assert time.monotonic() < deadline, f"{user} {verb} {resource}: still {not want}"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def cluster(etcd: Etcd) -> Iterator[Cluster]:
    workdir = make_workdir("minik-rbac-")
    ensure_ca(workdir / "pki")  # the apiserver's CA signs client certificates too
    tokens = processes.write_token_file(workdir / "rbac-tokens.csv", USERS)
    api = start_apiserver(
        etcd,
        workdir,
        [
            "--authorization-mode=Node,RBAC",
            f"--client-ca-file={workdir / 'pki' / 'ca.crt'}",
            f"--token-auth-file={workdir / 'rbac-tokens.csv'}",
        ],
    )
    c = Cluster(api, tokens, workdir)
    with c.http() as http:
        assert http.post("/api/v1/namespaces", json={"metadata": {"name": NS}}).status_code in (
            201,
            409,
        )
        for name, role, kind, who in (
            ("admins", "admin", "Group", "team-admins"),
            ("editors", "edit", "User", "ed"),
            ("viewers", "view", "User", "vic"),
            ("robot-views", "view", "ServiceAccount", "robot"),
        ):
            subject = {"kind": kind, "name": who}
            if kind == "ServiceAccount":
                subject["namespace"] = NS
            binding = {
                "metadata": {"name": name},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": role,
                },
                "subjects": [subject],
            }
            r = http.post(f"{RBAC}/namespaces/{NS}/rolebindings", json=binding)
            assert r.status_code == 201, r.text
        wait_allowed(http, "vic", "list", "pods", True)
        wait_allowed(http, "ed", "create", "deployments", False)  # apps: group not given
    yield c
    api.stop()
    remove_workdir(workdir)


def test_bootstrap_policy_and_aggregation(cluster: Cluster):
    with cluster.http() as http:
        names = {i["metadata"]["name"] for i in http.get(f"{RBAC}/clusterroles").json()["items"]}
        assert {
            "cluster-admin",
            "admin",
            "edit",
            "view",
            "system:basic-user",
            "system:discovery",
            "system:public-info-viewer",
            "system:kube-scheduler",
            "system:kube-controller-manager",
            "system:node-proxier",
            "system:node",
        } <= names
        crb = http.get(f"{RBAC}/clusterrolebindings/cluster-admin").json()
        assert crb["subjects"] == [
            {"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:masters"}
        ]
        view = http.get(f"{RBAC}/clusterroles/view").json()
        edit = http.get(f"{RBAC}/clusterroles/edit").json()
        # edit aggregates view's rules plus its own
        assert view["rules"] and all(r in edit["rules"] for r in view["rules"])
        # a new role labelled aggregate-to-view joins view, then leaves it when deleted
        widget_rule = {"apiGroups": ["example.com"], "resources": ["widgets"], "verbs": ["get"]}
        r = http.post(
            f"{RBAC}/clusterroles",
            json={
                "metadata": {
                    "name": "widget-viewer",
                    "labels": {"rbac.authorization.k8s.io/aggregate-to-view": "true"},
                },
                "rules": [widget_rule],
            },
        )
        assert r.status_code == 201, r.text

        def wait_for(role: str, want: bool) -> None:
            deadline = time.monotonic() + 10
            while (widget_rule in http.get(f"{RBAC}/clusterroles/{role}").json()["rules"]) != want:
                assert time.monotonic() < deadline, f"aggregation never showed {want} in {role}"
                time.sleep(0.1)

        wait_for("view", True)
        wait_for("admin", True)  # through edit, which aggregates view
        http.delete(f"{RBAC}/clusterroles/widget-viewer")
        wait_for("view", False)
        wait_for("admin", False)


def test_forbidden_wording(cluster: Cluster):
    with cluster.http("jane") as http:
        r = http.get(f"/api/v1/namespaces/{NS}/pods")
        assert r.status_code == 403
        body = r.json()
        assert body["kind"] == "Status" and body["reason"] == "Forbidden"
        assert body["message"] == (
            'pods is forbidden: User "jane" cannot list resource "pods" in API group "" '
            f'in the namespace "{NS}"'
        )
        assert body["details"] == {"kind": "pods"}
        r = http.get("/apis/apps/v1/deployments")
        assert r.json()["message"] == (
            'deployments.apps is forbidden: User "jane" cannot list resource "deployments" '
            'in API group "apps" at the cluster scope'
        )
        r = http.get(f"/api/v1/namespaces/{NS}/pods/web/log")
        assert r.json()["message"] == (
            'pods "web" is forbidden: User "jane" cannot get resource "pods/log" in API group '
            f'"" in the namespace "{NS}"'
        )
        assert http.get("/api").status_code == 200  # system:discovery
    with cluster.http(None) as anon:
        assert anon.get("/version").status_code == 200
        assert anon.get("/healthz").status_code == 200
        r = anon.get("/api")
        assert r.status_code == 403
        assert r.json()["message"] == 'forbidden: User "system:anonymous" cannot get path "/api"'
        bad = httpx.Client(base_url=cluster.api.url, verify=cluster.api.ssl_context())
        assert bad.get("/api", headers={"Authorization": "Bearer nope"}).status_code == 401


ROBOT = f"system:serviceaccount:{NS}:robot"
# (user, verb, resource[, subresource]) -> allowed, in namespace NS
MATRIX = [
    ("ann", "create", "roles", True),
    ("ann", "create", "rolebindings", True),
    ("ann", "delete", "secrets", True),
    ("ann", "list", "nodes", False),
    ("ed", "create", "deployments.apps", True),
    ("ed", "get", "secrets", True),
    ("ed", "create", "roles", False),
    ("ed", "create", "pods/exec", True),
    ("vic", "list", "pods", True),
    ("vic", "get", "pods/log", True),
    ("vic", "get", "secrets", False),
    ("vic", "create", "pods", False),
    ("vic", "watch", "deployments.apps", True),
    ("jane", "list", "pods", False),
    ("root", "delete", "nodes", True),
    # minik's own identities (deploy/identities.py), judged by Node,RBAC as in minik up
    ("system:node:n1", "get", "nodes", True),
    ("system:node:n1", "update", "nodes/status", True),
    ("system:node:n1", "list", "secrets", False),
    ("system:node:n1", "delete", "namespaces", False),
    ("system:kube-proxy", "list", "endpointslices.discovery.k8s.io", True),
    ("system:kube-proxy", "watch", "services", True),
    ("system:kube-proxy", "get", "secrets", False),
    ("system:kube-proxy", "delete", "pods", False),
    (ROBOT, "list", "pods", True),
    (ROBOT, "get", "secrets", False),
    (f"system:serviceaccount:{NS}:default", "list", "pods", False),
]
# the groups each impersonated identity asks for (--as-group)
MATRIX_GROUPS = {
    "ann": ["team-admins"],
    "system:node:n1": ["system:nodes"],
    ROBOT: ["system:serviceaccounts", f"system:serviceaccounts:{NS}"],
}


@pytest.mark.parametrize("minor", MINORS, ids=lambda m: m or "default")
def test_can_i_matrix(cluster: Cluster, minor: str | None, tmp_path: Path):
    kubectl = cluster.kubectl("root", minor, tmp_path / "cache")
    for user, verb, resource, allowed in MATRIX:
        as_user = [] if user == "root" else ["--as", user]
        for group in MATRIX_GROUPS.get(user, []):
            as_user += ["--as-group", group]
        r = kubectl.run("auth", "can-i", verb, resource, "-n", NS, *as_user, check=False)
        # "no" may carry the authorizer's reason ("no - can only get individual ...")
        answer = r.stdout.strip().split(" - ")[0]
        assert answer == ("yes" if allowed else "no"), (user, verb, resource, str(r))
        assert r.returncode == (0 if allowed else 1)
    # anonymous may not even ask (system:basic-user is for authenticated users only)
    r = kubectl.run("auth", "can-i", "list", "pods", "--as", "system:anonymous", check=False)
    assert r.returncode == 1
    assert (
        'User "system:anonymous" cannot create resource "selfsubjectaccessreviews" in API '
        'group "authorization.k8s.io" at the cluster scope' in r.stderr
    )
    # the user asks for themself (SelfSubjectAccessReview, no impersonation)
    vic = cluster.kubectl("vic", minor, tmp_path / "cache-vic")
    assert vic.run("auth", "can-i", "list", "pods", "-n", NS).stdout.strip() == "yes"
    assert vic.run("auth", "can-i", "list", "pods", check=False).stdout.strip() == "no"
    assert vic.run("auth", "can-i", "get", "/api", check=False).stdout.strip() == "yes"


@pytest.mark.parametrize("minor", MINORS, ids=lambda m: m or "default")
def test_can_i_list(cluster: Cluster, minor: str | None, tmp_path: Path):
    kubectl = cluster.kubectl("root", minor, tmp_path / "cache")
    out = kubectl.run("auth", "can-i", "--list", "-n", NS, "--as", "vic").stdout
    lines = out.splitlines()
    assert lines[0].split() == ["Resources", "Non-Resource", "URLs", "Resource", "Names", "Verbs"]
    rows = {line.split()[0]: line for line in lines[1:]}
    assert "[get list watch]" in rows["pods"]
    assert "[get list watch]" in rows["deployments.apps"]
    assert "[create]" in rows["selfsubjectaccessreviews.authorization.k8s.io"]
    assert "secrets" not in rows
    assert any(line.split()[:2] == ["[/api/*]", "[]"] for line in lines[1:])  # non-resource
    jane = cluster.kubectl("jane", minor, tmp_path / "cache-jane").run("auth", "can-i", "--list")
    assert "pods" not in {line.split()[0] for line in jane.stdout.splitlines()[1:]}


@pytest.mark.parametrize("minor", MINORS, ids=lambda m: m or "default")
def test_whoami_token_cert_and_impersonation(cluster: Cluster, minor: str | None, tmp_path: Path):
    kubectl = cluster.kubectl("jane", minor, tmp_path / "cache")
    doc = json.loads(kubectl.run("auth", "whoami", "-o", "json").stdout)
    assert doc["kind"] == "SelfSubjectReview"
    assert doc["status"]["userInfo"]["username"] == "jane"
    assert doc["status"]["userInfo"]["groups"] == ["system:authenticated"]
    table = kubectl.run("auth", "whoami").stdout.splitlines()
    assert table[0].split() == ["ATTRIBUTE", "VALUE"]
    assert table[1].split() == ["Username", "jane"]

    # X.509: CN the user, O the groups, no token in the kubeconfig
    cert, key = issue_client_cert(
        cluster.workdir / "pki", tmp_path / "certs", "carol", ("team-admins", "qa")
    )
    kubeconfig = tmp_path / "kubeconfig-carol"
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [
                    {
                        "name": "c",
                        "cluster": {
                            "server": cluster.api.url,
                            "certificate-authority-data": base64.b64encode(
                                cluster.api.ca_file.read_bytes()
                            ).decode(),
                        },
                    }
                ],
                "users": [
                    {
                        "name": "carol",
                        "user": {
                            "client-certificate-data": base64.b64encode(cert.read_bytes()).decode(),
                            "client-key-data": base64.b64encode(key.read_bytes()).decode(),
                        },
                    }
                ],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "carol"}}],
                "current-context": "c",
            }
        )
    )
    carol = installed_kubectl(minor, kubeconfig, tmp_path / "cache-carol")
    doc = json.loads(carol.run("auth", "whoami", "-o", "json").stdout)
    assert doc["status"]["userInfo"]["username"] == "carol"
    assert doc["status"]["userInfo"]["groups"] == ["team-admins", "qa", "system:authenticated"]
    assert carol.run("auth", "can-i", "create", "roles", "-n", NS).stdout.strip() == "yes"
    carol.run("get", "pods", "-n", NS)

    # impersonation needs the impersonate verb: root (cluster-admin) may, jane may not
    root = cluster.kubectl("root", minor, tmp_path / "cache-root")
    doc = json.loads(
        root.run("auth", "whoami", "-o", "json", "--as", "vic", "--as-group", "g1").stdout
    )
    assert doc["status"]["userInfo"]["username"] == "vic"
    assert doc["status"]["userInfo"]["groups"] == ["g1", "system:authenticated"]
    assert "Forbidden" in kubectl.fails("get", "pods", "-n", NS, "--as", "vic").stderr
    with cluster.http("jane") as http:
        r = http.get(f"/api/v1/namespaces/{NS}/pods", headers={"Impersonate-User": "vic"})
        assert r.status_code == 403
        assert r.json()["message"] == (
            'users "vic" is forbidden: User "jane" cannot impersonate resource "users" in API '
            'group "" at the cluster scope'
        )


@pytest.mark.parametrize("minor", MINORS, ids=lambda m: m or "default")
def test_kubectl_create_get_describe(cluster: Cluster, minor: str | None, tmp_path: Path):
    sfx = (minor or "default").replace(".", "")
    ns_role, cr, rb, crb = f"pod-reader-{sfx}", f"node-reader-{sfx}", f"read-{sfx}", f"nr-{sfx}"
    ann = cluster.kubectl("ann", minor, tmp_path / "cache")
    root = cluster.kubectl("root", minor, tmp_path / "cache-root")
    try:
        out = ann.run(
            "create", "role", ns_role, "-n", NS, "--verb=get,list", "--resource=pods,pods/log"
        )
        assert out.stdout == f"role.rbac.authorization.k8s.io/{ns_role} created\n"
        out = ann.run(
            "create", "rolebinding", rb, "-n", NS, f"--role={ns_role}", "--user=jane",
            "--group=readers", f"--serviceaccount={NS}:robot",
        )  # fmt: skip
        assert out.stdout == f"rolebinding.rbac.authorization.k8s.io/{rb} created\n"
        root.run("create", "clusterrole", cr, "--verb=get,list,watch", "--resource=nodes")
        root.run("create", "clusterrolebinding", crb, f"--clusterrole={cr}", "--user=jane")

        rows = ann.run("get", "rolebinding", rb, "-n", NS, "-o", "wide").stdout.splitlines()
        assert rows[0].split() == ["NAME", "ROLE", "AGE", "USERS", "GROUPS", "SERVICEACCOUNTS"]
        cells = rows[1].split()
        assert cells[0] == rb and cells[1] == f"Role/{ns_role}"
        assert cells[3:] == ["jane", "readers", f"{NS}/robot"]
        rows = root.run("get", "clusterrolebinding", crb).stdout.splitlines()
        assert rows[0].split() == ["NAME", "ROLE", "AGE"]
        assert rows[1].split()[:2] == [crb, f"ClusterRole/{cr}"]
        rows = ann.run("get", "roles", "-n", NS).stdout.splitlines()
        assert rows[0].split() == ["NAME", "CREATED", "AT"]
        assert ns_role in {r.split()[0] for r in rows[1:]}
        assert root.run("get", "clusterrole", "view").stdout.splitlines()[0].split() == [
            "NAME",
            "CREATED",
            "AT",
        ]

        described = ann.run("describe", "role", ns_role, "-n", NS).stdout
        assert f"Name:         {ns_role}" in described
        assert "pods/log" in described and "[get list]" in described
        described = ann.run("describe", "rolebinding", rb, "-n", NS).stdout
        assert f"Role:\n  Kind:  Role\n  Name:  {ns_role}" in described
        subjects = [line.split() for line in described.splitlines()]
        assert ["User", "jane"] in subjects and ["Group", "readers"] in subjects
        assert ["ServiceAccount", "robot", NS] in subjects
        assert "ClusterRole/" not in root.run("describe", "clusterrole", cr).stdout
        # the new grants reach the authorizer
        jane = cluster.kubectl("jane", minor, tmp_path / "cache-jane")
        deadline = time.monotonic() + 10
        while jane.run("auth", "can-i", "list", "nodes", check=False).stdout.strip() != "yes":
            assert time.monotonic() < deadline
            time.sleep(0.1)
        jane.run("get", "pods", "-n", NS)
        jane.fails("get", "secrets", "-n", NS)
    finally:
        with cluster.http() as http:
            http.delete(f"{RBAC}/namespaces/{NS}/roles/{ns_role}")
            http.delete(f"{RBAC}/namespaces/{NS}/rolebindings/{rb}")
            http.delete(f"{RBAC}/clusterroles/{cr}")
            http.delete(f"{RBAC}/clusterrolebindings/{crb}")


def test_escalation_refused(cluster: Cluster, tmp_path: Path):
    ann = cluster.kubectl("ann", None, tmp_path / "cache")
    with cluster.http("ann") as http:
        # what ann holds (admin in NS): allowed
        ok = {
            "metadata": {"name": "secret-reader"},
            "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}],
        }
        r = http.post(f"{RBAC}/namespaces/{NS}/roles", json=ok)
        assert r.status_code == 201, r.text
        # what ann does not hold: refused, naming what is missing
        bad = {
            "metadata": {"name": "node-lister"},
            "rules": [
                {"apiGroups": [""], "resources": ["secrets", "nodes"], "verbs": ["get", "list"]}
            ],
        }
        r = http.post(f"{RBAC}/namespaces/{NS}/roles", json=bad)
        assert r.status_code == 403
        assert r.json()["message"] == (
            'roles.rbac.authorization.k8s.io "node-lister" is forbidden: user "ann" '
            '(groups=["team-admins" "system:authenticated"]) is attempting to grant RBAC '
            "permissions not currently held:\n"
            '{APIGroups:[""], Resources:["nodes"], Verbs:["get"]}\n'
            '{APIGroups:[""], Resources:["nodes"], Verbs:["list"]}'
        )
        # nor a binding to a role that holds more than ann does
        r = http.post(
            f"{RBAC}/namespaces/{NS}/rolebindings",
            json={
                "metadata": {"name": "sneaky"},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": "cluster-admin",
                },
                "subjects": [{"kind": "User", "name": "ann"}],
            },
        )
        assert r.status_code == 403
        assert r.json()["message"].startswith(
            'rolebindings.rbac.authorization.k8s.io "sneaky" is forbidden: user "ann"'
        )
        # but binding what ann holds is fine (edit is within admin)
        r = http.post(
            f"{RBAC}/namespaces/{NS}/rolebindings",
            json={
                "metadata": {"name": "jane-edits"},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "ClusterRole",
                    "name": "edit",
                },
                "subjects": [{"kind": "User", "name": "jane"}],
            },
        )
        assert r.status_code == 201, r.text
    r = ann.fails("create", "clusterrole", "x", "--verb=get", "--resource=pods")
    assert "is forbidden" in r.stderr
    with cluster.http() as http:
        # the escalate verb lifts the check
        http.delete(f"{RBAC}/namespaces/{NS}/rolebindings/jane-edits")
        http.delete(f"{RBAC}/namespaces/{NS}/roles/secret-reader")
        escalate = {
            "metadata": {"name": "escalator"},
            "rules": [
                {
                    "apiGroups": ["rbac.authorization.k8s.io"],
                    "resources": ["roles"],
                    "verbs": ["escalate", "create"],
                }
            ],
        }
        assert http.post(f"{RBAC}/namespaces/{NS}/roles", json=escalate).status_code == 201
        http.post(
            f"{RBAC}/namespaces/{NS}/rolebindings",
            json={
                "metadata": {"name": "escalator"},
                "roleRef": {
                    "apiGroup": "rbac.authorization.k8s.io",
                    "kind": "Role",
                    "name": "escalator",
                },
                "subjects": [{"kind": "User", "name": "jane"}],
            },
        ).raise_for_status()
        wait_allowed(http, "jane", "escalate", "roles", True, "rbac.authorization.k8s.io")
    with cluster.http("jane") as http:
        r = http.post(f"{RBAC}/namespaces/{NS}/roles", json=bad)
        assert r.status_code == 201, r.text
    with cluster.http() as http:
        for kind, name in (("roles", "node-lister"), ("roles", "escalator")):
            http.delete(f"{RBAC}/namespaces/{NS}/{kind}/{name}")
        http.delete(f"{RBAC}/namespaces/{NS}/rolebindings/escalator")


def test_access_review_apis(cluster: Cluster):
    with cluster.http("vic") as http:
        r = http.post(
            "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews",
            json={"kind": "SelfSubjectRulesReview", "spec": {"namespace": NS}},
        )
        assert r.status_code == 201
        status = r.json()["status"]
        assert status["incomplete"] is False
        assert any("pods" in rule["resources"] for rule in status["resourceRules"])
        # vic may not ask about others (no create on subjectaccessreviews)
        r = http.post(
            "/apis/authorization.k8s.io/v1/subjectaccessreviews",
            json={"spec": {"user": "x", "nonResourceAttributes": {"path": "/", "verb": "get"}}},
        )
        assert r.status_code == 403
    with cluster.http("ann") as http:
        r = http.post(
            f"/apis/authorization.k8s.io/v1/namespaces/{NS}/localsubjectaccessreviews",
            json={
                "spec": {
                    "user": "vic",
                    "resourceAttributes": {"namespace": NS, "verb": "get", "resource": "pods"},
                }
            },
        )
        assert r.status_code == 201, r.text
        assert r.json()["status"]["allowed"] is True
        r = http.post(
            f"/apis/authorization.k8s.io/v1/namespaces/{NS}/localsubjectaccessreviews",
            json={
                "spec": {
                    "user": "vic",
                    "resourceAttributes": {"namespace": "other", "verb": "get", "resource": "pods"},
                }
            },
        )
        assert r.status_code == 422


@pytest.mark.parametrize("minor", MINORS, ids=lambda m: m or "default")
def test_auth_reconcile(cluster: Cluster, minor: str | None, tmp_path: Path):
    name = f"rec-{(minor or 'default').replace('.', '')}"
    manifest = f"""
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {{name: {name}, namespace: {NS}}}
rules: [{{apiGroups: [""], resources: [configmaps], verbs: [get]}}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: {name}, namespace: {NS}}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: Role, name: {name}}}
subjects: [{{kind: User, name: jane}}]
"""
    kubectl = cluster.kubectl("root", minor, tmp_path / "cache")
    try:
        out = kubectl.run("auth", "reconcile", "-f", "-", input=manifest).stdout
        assert f"role.rbac.authorization.k8s.io/{name} reconciled" in out
        assert f"rolebinding.rbac.authorization.k8s.io/{name} reconciled" in out
        kubectl.run("auth", "reconcile", "-f", "-", input=manifest.replace("[get]", "[get, list]"))
        with cluster.http() as http:
            role = http.get(f"{RBAC}/namespaces/{NS}/roles/{name}").json()
            assert sorted(v for r in role["rules"] for v in r["verbs"]) == ["get", "list"]
            wait_allowed(http, "jane", "list", "configmaps", True)
    finally:
        with cluster.http() as http:
            http.delete(f"{RBAC}/namespaces/{NS}/roles/{name}")
            http.delete(f"{RBAC}/namespaces/{NS}/rolebindings/{name}")


def test_client_certificate_on_websocket_upgrades(cluster: Cluster, tmp_path: Path):
    """kubectl exec (1.31+) is a WebSocket upgrade: the certificate's user reaches the
    authorizer there too (uvicorn's WebSocket scope gets the peer certificate)."""
    import ssl

    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    def status(user: str, groups: tuple[str, ...]) -> int:
        cert, key = issue_client_cert(cluster.workdir / "pki", tmp_path, user, groups)
        ctx = ssl.create_default_context(cafile=str(cluster.api.ca_file))
        ctx.load_cert_chain(str(cert), str(key))
        url = cluster.api.url.replace("https://", "wss://")
        path = f"/api/v1/namespaces/{NS}/pods/nope/exec?command=true&stdout=true"
        try:
            # open_timeout: CI's loaded runs twice saw this module's apiserver answer an
            # upgrade after more than websockets' default 10 s (alone: 0.1 s)
            with connect(
                url + path,
                ssl=ctx,
                subprotocols=["v4.channel.k8s.io"],  # type: ignore[list-item]
                open_timeout=30,
            ):
                return 101
        except InvalidStatus as err:
            return err.response.status_code

    assert status("mallory", ()) == 403  # authenticated by the certificate, not allowed
    assert status("boss", ("system:masters",)) == 404  # allowed; the pod does not exist


def test_official_client_rbac_and_review_apis(cluster: Cluster):
    """The official Python client's RbacAuthorizationV1Api, AuthorizationV1Api and
    AuthenticationV1Api against the same policy kubectl sees: jane gets a Role through
    a RoleBinding made with the client, and the reviews say so."""
    from kubernetes import client, config

    def api_client(user: str) -> client.ApiClient:
        return config.new_client_from_config(config_file=str(cluster.kubeconfigs[user]))

    with api_client("root") as root, api_client("jane") as jane_client:
        rbac = client.RbacAuthorizationV1Api(root)
        assert "edit" in {r.metadata.name for r in rbac.list_cluster_role().items}
        group = "rbac.authorization.k8s.io"
        rule = client.V1PolicyRule(api_groups=[""], resources=["configmaps"], verbs=["get", "list"])
        role = client.V1Role(metadata=client.V1ObjectMeta(name="cm-reader"), rules=[rule])
        binding = client.V1RoleBinding(
            metadata=client.V1ObjectMeta(name="jane-reads-cms"),
            role_ref=client.V1RoleRef(api_group=group, kind="Role", name="cm-reader"),
            subjects=[client.RbacV1Subject(kind="User", name="jane", api_group=group)],
        )
        rbac.create_namespaced_role(NS, role)
        rbac.create_namespaced_role_binding(NS, binding)
        try:
            review = client.V1SubjectAccessReview(
                spec=client.V1SubjectAccessReviewSpec(
                    user="jane",
                    resource_attributes=client.V1ResourceAttributes(
                        namespace=NS, verb="list", resource="configmaps"
                    ),
                )
            )
            authz = client.AuthorizationV1Api(root)
            deadline = time.monotonic() + 10
            while not authz.create_subject_access_review(review).status.allowed:
                assert time.monotonic() < deadline, "the binding never reached the authorizer"
                time.sleep(0.05)

            mine = client.AuthorizationV1Api(jane_client)

            def self_review(verb: str, resource: str) -> bool:
                attrs = client.V1ResourceAttributes(namespace=NS, verb=verb, resource=resource)
                body = client.V1SelfSubjectAccessReview(
                    spec=client.V1SelfSubjectAccessReviewSpec(resource_attributes=attrs)
                )
                return bool(mine.create_self_subject_access_review(body).status.allowed)

            assert self_review("list", "configmaps")
            assert not self_review("delete", "configmaps")
            spec = client.V1SelfSubjectRulesReviewSpec(namespace=NS)
            rules_review = client.V1SelfSubjectRulesReview(spec=spec)
            rules = mine.create_self_subject_rules_review(rules_review).status.resource_rules
            assert any("configmaps" in (r.resources or []) for r in rules)
            who = client.AuthenticationV1Api(jane_client).create_self_subject_review(
                client.V1SelfSubjectReview()
            )
            assert who.status.user_info.username == "jane"
            assert "system:authenticated" in who.status.user_info.groups
            assert client.CoreV1Api(jane_client).list_namespaced_config_map(NS).items is not None
        finally:
            rbac.delete_namespaced_role_binding("jane-reads-cms", NS)
            rbac.delete_namespaced_role("cm-reader", NS)
