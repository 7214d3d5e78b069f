"""Joining a machine, the way Kubernetes does it, on a dedicated control plane set up
as kubeadm sets one up (tests/support/bootstrapcluster.py: Node,RBAC, bootstrap token
authentication, the certificate controllers and the tokencleaner):
certificates.k8s.io/v1 CertificateSigningRequests (validation, the requestor taken
from the caller, /approval and /status, the approve and sign permissions on signers),
bootstrap tokens, auto-approval of a new node's client certificate (nodeclient) and of
a node's renewal (selfnodeclient), signing (durations, the certificate authenticates),
the tokencleaner and csrcleaner, the kubelet's TLS bootstrap, and the real kubectl's
`get csr`, `certificate approve|deny`, `apply` and `describe`."""

from __future__ import annotations

import asyncio
import base64
import datetime
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from api import certificates as certs
from api.resources import SELFSUBJECTREVIEWS
from client.kubeconfig import load as load_kubeconfig
from client.kubeconfig import write_kubeconfig
from client.rest import Client
from kubelet import certbootstrap
from tests.support.bootstrapcluster import (
    RBAC,
    SIGNING_HOURS,
    TOKEN_ID,
    TOKEN_SECRET,
    Cluster,
    bootstrap_cluster,
    bootstrap_secret,
    cluster_role_binding,
)
from tests.support.kubectl import MINORS, Kubectl, installed_kubectl
from tests.support.wait import eventually

CSRS = "/apis/certificates.k8s.io/v1/certificatesigningrequests"
KUBELET_SIGNER = "kubernetes.io/kube-apiserver-client-kubelet"
CLIENT_SIGNER = "kubernetes.io/kube-apiserver-client"


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with bootstrap_cluster() as c:
        yield c


def new_request(
    cn: str, orgs: tuple[str, ...] = (), dns: tuple[str, ...] = ()
) -> tuple[ec.EllipticCurvePrivateKey, str]:
    """A fresh key and its PEM CSR, base64 as spec.request carries it."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            *(x509.NameAttribute(NameOID.ORGANIZATION_NAME, o) for o in orgs),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )
    builder = x509.CertificateSigningRequestBuilder().subject_name(name)
    if dns:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(d) for d in dns]), critical=False
        )
    pem = builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)
    return key, base64.b64encode(pem).decode()


def csr_body(
    name: str,
    request: str,
    signer: str = KUBELET_SIGNER,
    usages: tuple[str, ...] = ("digital signature", "client auth"),
    **spec: object,
) -> dict:
    return {
        "apiVersion": "certificates.k8s.io/v1",
        "kind": "CertificateSigningRequest",
        "metadata": {"name": name},
        "spec": {"request": request, "signerName": signer, "usages": list(usages), **spec},
    }


def issued(http: httpx.Client, name: str, timeout: float = 20) -> x509.Certificate:
    def check() -> x509.Certificate:
        r = http.get(f"{CSRS}/{name}")
        assert r.status_code == 200, r.text
        cert = (r.json().get("status") or {}).get("certificate")
        assert cert, r.json().get("status")
        return x509.load_pem_x509_certificate(base64.b64decode(cert))

    return eventually(check, timeout=timeout, message=f"csr {name} issued")


def conditions(http: httpx.Client, name: str) -> list[dict]:
    r = http.get(f"{CSRS}/{name}")
    assert r.status_code == 200, r.text
    return (r.json().get("status") or {}).get("conditions") or []


def write_identity(
    tmp: Path, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate
) -> tuple[Path, Path]:
    cert_path, key_path = tmp / "client.crt", tmp / "client.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def whoami(http: httpx.Client) -> dict:
    r = http.post(
        "/apis/authentication.k8s.io/v1/selfsubjectreviews",
        json={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
    )
    assert r.status_code == 201, r.text
    return r.json()["status"]["userInfo"]


# ---- the kind --------------------------------------------------------------------------


def test_discovery_lists_csr_with_subresources(cluster: Cluster):
    with cluster.http() as http:
        r = http.get("/apis/certificates.k8s.io/v1")
        assert r.status_code == 200, r.text
        by_name = {x["name"]: x for x in r.json()["resources"]}
    csr = by_name["certificatesigningrequests"]
    assert csr["kind"] == "CertificateSigningRequest"
    assert csr["namespaced"] is False
    assert csr["shortNames"] == ["csr"]
    assert set(by_name["certificatesigningrequests/approval"]["verbs"]) == {
        "get",
        "patch",
        "update",
    }
    assert "certificatesigningrequests/status" in by_name


def test_validation_refuses_bad_requests(cluster: Cluster):
    bad = csr_body(
        "bad",
        base64.b64encode(b"not a pem").decode(),
        signer="nodomain",
        usages=("client auth", "frobnicate", "client auth"),
        expirationSeconds=60,
    )
    with cluster.http() as http:
        r = http.post(CSRS, json=bad)
        assert r.status_code == 422, r.text
        causes = {(c["field"], c["reason"]) for c in r.json()["details"]["causes"]}
        assert causes == {
            ("spec.request", "FieldValueInvalid"),
            ("spec.signerName", "FieldValueInvalid"),
            ("spec.usages[1]", "FieldValueNotSupported"),
            ("spec.usages[2]", "FieldValueDuplicate"),
            ("spec.expirationSeconds", "FieldValueInvalid"),
        }
        messages = " ".join(c["message"] for c in r.json()["details"]["causes"])
        assert "PEM block type must be CERTIFICATE REQUEST" in messages
        assert "may not specify a duration less than 600 seconds (10 minutes)" in messages
        _, request = new_request("someone")
        no_signer = csr_body("nosigner", request)
        del no_signer["spec"]["signerName"]
        no_signer["spec"]["usages"] = []
        r = http.post(CSRS, json=no_signer)
        assert r.status_code == 422, r.text
        causes = {(c["field"], c["reason"]) for c in r.json()["details"]["causes"]}
        assert causes == {
            ("spec.signerName", "FieldValueRequired"),
            ("spec.usages", "FieldValueRequired"),
        }
        assert http.get(f"{CSRS}/bad").status_code == 404


def test_requestor_comes_from_the_caller_and_spec_is_immutable(cluster: Cluster):
    _, request = new_request("jane")
    body = csr_body("requestor", request, CLIENT_SIGNER, ("client auth",))
    body["spec"].update(username="mallory", groups=["system:masters"], uid="x")
    body["status"] = {"conditions": [{"type": "Approved", "status": "True"}]}
    with cluster.http() as http:
        r = http.post(CSRS, json=body)
        assert r.status_code == 201, r.text
        created = r.json()
        assert created["spec"]["username"] == "admin"
        assert "system:masters" in created["spec"]["groups"]
        assert "system:authenticated" in created["spec"]["groups"]
        assert created["spec"].get("uid") != "x"
        assert not (created.get("status") or {}).get("conditions")  # never pre-approved
        changed = {**created, "spec": {**created["spec"], "signerName": "example.com/other"}}
        r = http.put(f"{CSRS}/requestor", json=changed)
        assert r.status_code == 200, r.text
        assert r.json()["spec"]["signerName"] == CLIENT_SIGNER
        http.delete(f"{CSRS}/requestor")


def test_subject_restriction_refuses_system_masters(cluster: Cluster):
    _, request = new_request("evil", ("system:masters",))
    with cluster.http() as http:
        r = http.post(CSRS, json=csr_body("masters", request, CLIENT_SIGNER, ("client auth",)))
    assert r.status_code == 403, r.text
    assert (
        "use of kubernetes.io/kube-apiserver-client signer with system:masters group"
        in (r.json()["message"])
    )


def test_approval_needs_approve_on_the_signer(cluster: Cluster):
    """A user who may update certificatesigningrequests/approval still needs `approve`
    on signers (the exact signerName or `<domain>/*`), as CertificateApproval checks."""
    _, request = new_request("jane")
    with cluster.http() as http:
        r = http.post(
            CSRS, json=csr_body("needs-approve", request, CLIENT_SIGNER, ("client auth",))
        )
        assert r.status_code == 201, r.text
        role = {
            "metadata": {"name": "csr-approval-writer"},
            "rules": [
                {
                    "apiGroups": ["certificates.k8s.io"],
                    "resources": [
                        "certificatesigningrequests",
                        "certificatesigningrequests/approval",
                    ],
                    "verbs": ["get", "update"],
                }
            ],
        }
        assert http.post(f"{RBAC}/clusterroles", json=role).status_code == 201
        binding = cluster_role_binding(
            "csr-approval-writer", "csr-approval-writer", "User", "approver"
        )
        assert http.post(f"{RBAC}/clusterrolebindings", json=binding).status_code == 201
    csr = None
    approved = None
    with cluster.http(**{"Impersonate-User": "approver"}) as as_approver:

        def readable() -> dict:
            r = as_approver.get(f"{CSRS}/needs-approve")
            assert r.status_code == 200, r.text
            return r.json()

        csr = eventually(readable, message="approver reads the csr")
        approved = {
            **csr,
            "status": {"conditions": [{"type": "Approved", "status": "True", "reason": "Test"}]},
        }
        r = as_approver.put(f"{CSRS}/needs-approve/approval", json=approved)
        assert r.status_code == 403, r.text
        assert r.json()["message"] == (
            'certificatesigningrequests.certificates.k8s.io "needs-approve" is forbidden: '
            "user not permitted to approve requests with signerName "
            '"kubernetes.io/kube-apiserver-client"'
        )
    with cluster.http() as http:
        approver_role = {
            "metadata": {"name": "csr-approver-all-kubernetes-io"},
            "rules": [
                {
                    "apiGroups": ["certificates.k8s.io"],
                    "resources": ["signers"],
                    "resourceNames": ["kubernetes.io/*"],
                    "verbs": ["approve"],
                }
            ],
        }
        assert http.post(f"{RBAC}/clusterroles", json=approver_role).status_code == 201
        binding = cluster_role_binding(
            "csr-approver-all-kubernetes-io", "csr-approver-all-kubernetes-io", "User", "approver"
        )
        assert http.post(f"{RBAC}/clusterrolebindings", json=binding).status_code == 201
    with cluster.http(**{"Impersonate-User": "approver"}) as as_approver:

        def approve() -> dict:
            r = as_approver.put(f"{CSRS}/needs-approve/approval", json=approved)
            assert r.status_code == 200, r.text
            return r.json()

        written = eventually(approve, message="approve with the wildcard signer")
    (condition,) = written["status"]["conditions"]
    assert condition["type"] == "Approved" and condition["status"] == "True"
    assert condition["lastUpdateTime"] and condition["lastTransitionTime"]
    with cluster.http() as http:
        # the approval stays: /status may not drop it, nor can an update remove it
        current = http.get(f"{CSRS}/needs-approve").json()
        current["status"]["conditions"] = []
        r = http.put(f"{CSRS}/needs-approve/approval", json=current)
        assert r.status_code == 422, r.text
        assert 'updates may not remove a condition of type \\"Approved\\"' in r.text or (
            'updates may not remove a condition of type "Approved"' in r.json()["message"]
        )
        # the kube-apiserver-client signer issues it: a client certificate for jane
        cert = issued(http, "needs-approve")
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "jane"


# ---- bootstrap tokens ------------------------------------------------------------------


def test_bootstrap_token_authenticates(cluster: Cluster):
    with cluster.http(f"{TOKEN_ID}.{TOKEN_SECRET}") as http:
        user = eventually(lambda: whoami(http), message="bootstrap token accepted")
    assert user["username"] == f"system:bootstrap:{TOKEN_ID}"
    assert sorted(user["groups"]) == [
        "system:authenticated",
        "system:bootstrappers",
        "system:bootstrappers:kubeadm:default-node-token",
    ]
    with cluster.http(f"{TOKEN_ID}.{'x' * 16}") as http:
        assert http.get("/api/v1/namespaces").status_code == 401  # wrong secret
    with cluster.http("zzzzzz.0123456789abcdef") as http:
        assert http.get("/api/v1/namespaces").status_code == 401  # no such token


def test_bootstrap_token_expiry_usage_and_cleaner(cluster: Cluster):
    soon = datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=6)
    with cluster.http() as http:
        for secret in (
            bootstrap_secret("expire", "0123456789abcdef", soon.strftime("%Y-%m-%dT%H:%M:%SZ")),
            bootstrap_secret(
                "unused", "0123456789abcdef", **{"usage-bootstrap-authentication": "false"}
            ),
            bootstrap_secret("badgrp", "0123456789abcdef", **{"auth-extra-groups": "admins"}),
        ):
            r = http.post("/api/v1/namespaces/kube-system/secrets", json=secret)
            assert r.status_code == 201, r.text
    with cluster.http("expire.0123456789abcdef") as http:
        user = eventually(lambda: whoami(http), message="token valid before its expiration")
        assert user["username"] == "system:bootstrap:expire"
    for token in ("unused.0123456789abcdef", "badgrp.0123456789abcdef"):
        with cluster.http(token) as http:
            assert http.get("/api/v1/namespaces").status_code == 401, token
    with cluster.http() as http:

        def deleted() -> bool:
            r = http.get("/api/v1/namespaces/kube-system/secrets/bootstrap-token-expire")
            assert r.status_code == 404, r.status_code
            return True

        eventually(deleted, timeout=20, message="tokencleaner deletes the expired token")
        # a token that never expires stays
        r = http.get(f"/api/v1/namespaces/kube-system/secrets/bootstrap-token-{TOKEN_ID}")
        assert r.status_code == 200
    with cluster.http("expire.0123456789abcdef") as http:
        assert http.get("/api/v1/namespaces").status_code == 401


# ---- TLS bootstrapping: nodeclient, signing, selfnodeclient ----------------------------


def test_node_joins_with_a_bootstrap_token(cluster: Cluster, tmp_path: Path):
    """A kubelet's TLS bootstrap by hand: with the bootstrap token it posts a CSR for
    system:node:joiner; csrapproving approves it (nodeclient), csrsigning signs it;
    the certificate then authenticates as the node. Its renewal, asked with that
    certificate, is approved as selfnodeclient; a node asking for another node's
    certificate is left pending."""
    key, request = new_request("system:node:joiner", ("system:nodes",))
    with cluster.http(f"{TOKEN_ID}.{TOKEN_SECRET}") as boot:
        r = boot.post(CSRS, json=csr_body("node-csr-joiner", request))
        assert r.status_code == 201, r.text
        assert r.json()["spec"]["username"] == f"system:bootstrap:{TOKEN_ID}"
        cert = issued(boot, "node-csr-joiner")
        (approved,) = conditions(boot, "node-csr-joiner")
    assert approved["type"] == "Approved" and approved["reason"] == "AutoApproved"
    assert approved["message"] == (
        "Auto approving kubelet client certificate after SubjectAccessReview."
    )
    assert cert.issuer == cluster.ca.subject
    cluster.ca.public_key().verify(  # type: ignore[call-arg]
        cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm)
    )
    assert cert.subject.rfc4514_string() == "CN=system:node:joiner,O=system:nodes"
    lifetime = cert.not_valid_after_utc - cert.not_valid_before_utc
    # --cluster-signing-duration 48h, backdated 5 minutes
    assert lifetime == datetime.timedelta(hours=SIGNING_HOURS, minutes=5), lifetime
    eku = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]
    assert cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca is False

    cert_path, key_path = write_identity(tmp_path, key, cert)
    with cluster.as_cert(cert_path, key_path) as node:
        user = whoami(node)
        assert user["username"] == "system:node:joiner"
        assert "system:nodes" in user["groups"]
        # renewal of its own certificate, asking for one hour
        _, renewal = new_request("system:node:joiner", ("system:nodes",))
        body = csr_body("node-csr-joiner-renew", renewal, expirationSeconds=3600)
        r = node.post(CSRS, json=body)
        assert r.status_code == 201, r.text
        renewed = issued(node, "node-csr-joiner-renew")
        (condition,) = conditions(node, "node-csr-joiner-renew")
        assert condition["message"] == (
            "Auto approving self kubelet client certificate after SubjectAccessReview."
        )
        # under 8 hours: not backdated
        assert renewed.not_valid_after_utc - renewed.not_valid_before_utc == datetime.timedelta(
            hours=1
        )
        # another node's certificate: NodeRestriction refuses it
        _, other = new_request("system:node:other", ("system:nodes",))
        r = node.post(CSRS, json=csr_body("node-csr-other", other))
        assert r.status_code == 403, r.text
        assert r.json()["message"].endswith("can only create a node CSR with CN=system:node:joiner")
    # a bootstrap token's user may not have another node's renewal approved: only
    # nodeclient (not selfnodeclient) applies, and a token without it is refused
    with cluster.http() as http:
        secret = bootstrap_secret("nogrp0", "0123456789abcdef")
        assert http.post("/api/v1/namespaces/kube-system/secrets", json=secret).status_code == 201
        binding = cluster_role_binding(
            "bootstrappers-may-post", "system:node-bootstrapper", "Group", "system:bootstrappers"
        )
        assert http.post(f"{RBAC}/clusterrolebindings", json=binding).status_code == 201
    with cluster.http("nogrp0.0123456789abcdef") as plain:
        _, other = new_request("system:node:other", ("system:nodes",))

        def posted() -> bool:
            r = plain.post(CSRS, json=csr_body("node-csr-unapproved", other))
            assert r.status_code == 201, r.text
            return True

        eventually(posted, message="a plain bootstrap token posts a CSR")

    def looked_at() -> bool:
        # csrapproving says it asked and was refused; only then is "pending" meaningful
        assert 'recognized csr "node-csr-unapproved" as [nodeclient]' in cluster.manager.log()
        return True

    eventually(looked_at, timeout=20, message="csrapproving looked at the request")
    with cluster.http() as http:
        assert conditions(http, "node-csr-unapproved") == []


def test_signer_fails_requests_it_cannot_honour(cluster: Cluster):
    """Approved by an admin, a kubelet-signer request whose subject is not a node's
    gets Failed (SignerValidationFailure) and no certificate; expirationSeconds under
    the signing duration but over 10 minutes is honoured."""
    _, request = new_request("not-a-node")
    with cluster.http() as http:
        r = http.post(CSRS, json=csr_body("not-a-node", request))
        assert r.status_code == 201, r.text
        csr = r.json()
        csr["status"] = {"conditions": [{"type": "Approved", "status": "True", "reason": "Admin"}]}
        r = http.put(f"{CSRS}/not-a-node/approval", json=csr)
        assert r.status_code == 200, r.text

        def failed() -> dict:
            found = [c for c in conditions(http, "not-a-node") if c["type"] == "Failed"]
            assert found, conditions(http, "not-a-node")
            return found[0]

        failure = eventually(failed, timeout=20, message="signer marks it Failed")
        assert failure["reason"] == "SignerValidationFailure"
        assert failure["message"] == "subject organization is not system:nodes"
        assert not http.get(f"{CSRS}/not-a-node").json()["status"].get("certificate")


def test_status_write_needs_sign_permission(cluster: Cluster):
    """Setting status.certificate through /status needs `sign` on the signer."""
    _, request = new_request("jane")
    with cluster.http() as http:
        r = http.post(
            CSRS, json=csr_body("sign-perm", request, "example.com/private", ("client auth",))
        )
        assert r.status_code == 201, r.text
        role = {
            "metadata": {"name": "csr-status-writer"},
            "rules": [
                {
                    "apiGroups": ["certificates.k8s.io"],
                    "resources": [
                        "certificatesigningrequests",
                        "certificatesigningrequests/status",
                    ],
                    "verbs": ["get", "update"],
                }
            ],
        }
        assert http.post(f"{RBAC}/clusterroles", json=role).status_code == 201
        binding = cluster_role_binding("csr-status-writer", "csr-status-writer", "User", "signer")
        assert http.post(f"{RBAC}/clusterrolebindings", json=binding).status_code == 201
        some_cert = base64.b64encode(cluster.api.ca_file.read_bytes()).decode()
    with cluster.http(**{"Impersonate-User": "signer"}) as as_signer:

        def refused() -> httpx.Response:
            csr = as_signer.get(f"{CSRS}/sign-perm")
            assert csr.status_code == 200, csr.text
            body = csr.json()
            body["status"] = {"certificate": some_cert}
            r = as_signer.put(f"{CSRS}/sign-perm/status", json=body)
            assert r.status_code == 403, r.text
            return r

        r = eventually(refused, message="status write refused")
    assert r.json()["message"].endswith(
        'user not permitted to sign requests with signerName "example.com/private"'
    )


# ---- the kubelet's TLS bootstrap -------------------------------------------------------


def test_kubelet_tls_bootstrap(cluster: Cluster, tmp_path: Path):
    """kubelet.certbootstrap as `python -m kubelet --bootstrap-kubeconfig` runs it:
    with only a bootstrap token it obtains a client certificate and writes --kubeconfig,
    which then authenticates as the node; run again, it leaves a valid one alone."""
    bootstrap = tmp_path / "bootstrap-kubelet.conf"
    write_kubeconfig(
        bootstrap, cluster.api.url, f"{TOKEN_ID}.{TOKEN_SECRET}", ca_file=cluster.api.ca_file
    )
    kubeconfig, cert_dir = tmp_path / "kubelet.conf", tmp_path / "pki"
    assert asyncio.run(
        certbootstrap.load_client_cert(kubeconfig, bootstrap, cert_dir, "tls-node", timeout=30)
    )
    current = cert_dir / certbootstrap.CURRENT
    assert current.is_symlink() and (current.stat().st_mode & 0o777) == 0o600
    assert not (cert_dir / certbootstrap.PENDING_KEY).exists()
    with Client(load_kubeconfig(kubeconfig)) as node:
        review = node.create(
            SELFSUBJECTREVIEWS,
            {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
        )
    assert review["status"]["userInfo"]["username"] == "system:node:tls-node"
    issued_cert = x509.load_pem_x509_certificate(current.read_bytes())
    name = certbootstrap.request_name(
        issued_cert.public_key(),  # type: ignore[arg-type]
        "system:node:tls-node",
        ["system:nodes"],
    )
    with cluster.http() as http:
        csr = http.get(f"{CSRS}/{name}").json()
    assert csr["spec"]["username"] == f"system:bootstrap:{TOKEN_ID}"
    assert certs.condition_word(csr) == "Approved,Issued"
    before = kubeconfig.read_bytes()
    assert not asyncio.run(
        certbootstrap.load_client_cert(kubeconfig, bootstrap, cert_dir, "tls-node", timeout=30)
    )
    assert kubeconfig.read_bytes() == before


# ---- kubectl ---------------------------------------------------------------------------


@pytest.mark.parametrize("minor", MINORS, ids=lambda m: m or "default")
def test_kubectl_get_approve_deny(cluster: Cluster, tmp_path: Path, minor: str | None):
    """kubectl 1.32 (and 1.27/1.33 beside it): `get csr` columns, `certificate
    approve|deny` through /approval (a protobuf body from 1.32 on)."""
    kubectl = installed_kubectl(minor, cluster.api.kubeconfig, tmp_path / "kubectl-cache")
    suffix = minor.replace(".", "-") if minor else "default"
    approve, deny = f"kubectl-approve-{suffix}", f"kubectl-deny-{suffix}"
    _, one = new_request("ann")
    _, two = new_request("bob")
    with cluster.http() as http:
        for name, request in ((approve, one), (deny, two)):
            body = csr_body(name, request, CLIENT_SIGNER, ("client auth",), expirationSeconds=7200)
            assert http.post(CSRS, json=body).status_code == 201
    out = kubectl.run("get", "csr", approve, deny).stdout
    lines = out.splitlines()
    assert lines[0].split() == [
        "NAME",
        "AGE",
        "SIGNERNAME",
        "REQUESTOR",
        "REQUESTEDDURATION",
        "CONDITION",
    ]
    assert lines[1].split()[0] == approve
    assert lines[1].split()[2:] == [CLIENT_SIGNER, "admin", "120m", "Pending"]
    assert "approved" in kubectl.run("certificate", "approve", approve).stdout
    assert "denied" in kubectl.run("certificate", "deny", deny).stdout
    with cluster.http() as http:
        issued(http, approve)
        (approved,) = conditions(http, approve)
        assert approved["reason"] == "KubectlApprove"
        (denied,) = conditions(http, deny)
        assert denied["type"] == "Denied" and denied["reason"] == "KubectlDeny"
    out = kubectl.run("get", "csr", approve, deny).stdout
    assert out.splitlines()[1].split()[-1] == "Approved,Issued"
    assert out.splitlines()[2].split()[-1] == "Denied"
    # kubectl will not approve a denied request, nor will the API
    result = kubectl.run("certificate", "approve", deny, check=False)
    assert not result.ok
    assert f'certificate signing request "{deny}" is already Denied' in result.stderr
    with cluster.http() as http:
        csr = http.get(f"{CSRS}/{deny}").json()
        csr["status"]["conditions"].append({"type": "Approved", "status": "True"})
        r = http.put(f"{CSRS}/{deny}/approval", json=csr)
        assert r.status_code == 422, r.text
        assert "Approved and Denied conditions are mutually exclusive" in r.text
    by_short_name = kubectl.run("get", "csr", "-o", "name").stdout.split()
    assert f"certificatesigningrequest.certificates.k8s.io/{approve}" in by_short_name


def test_kubectl_apply_and_describe(cluster: Cluster, tmp_path: Path):
    """The tutorial's way: `kubectl apply -f csr.yaml` (validated against the served
    OpenAPI), then `kubectl describe csr`."""
    kubectl = Kubectl(cluster.api.kubeconfig, tmp_path / "kubectl-cache")
    _, request = new_request("myuser")
    manifest = f"""
apiVersion: certificates.k8s.io/v1
kind: CertificateSigningRequest
metadata:
  name: myuser
spec:
  request: {request}
  signerName: kubernetes.io/kube-apiserver-client
  expirationSeconds: 86400
  usages:
  - client auth
"""
    out = kubectl.run("apply", "-f", "-", input=manifest).stdout
    assert "certificatesigningrequest.certificates.k8s.io/myuser created" in out
    typo = manifest.replace("  usages:", "  usagez:")
    result = kubectl.run("apply", "-f", "-", input=typo, check=False)
    assert not result.ok and 'unknown field "spec.usagez"' in result.stderr, result
    described = kubectl.run("describe", "csr", "myuser").stdout
    assert "Requesting User:" in described and "admin" in described
    assert "kubernetes.io/kube-apiserver-client" in described
    assert "Pending" in described


def test_csrcleaner_deletes_old_decisions(cluster: Cluster):
    """A request denied two hours ago goes at once; one denied now and a pending one
    stay (their hour and day have not passed)."""
    two_hours_ago = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=2)).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    with cluster.http() as http:
        for name, updated in (("old-denial", two_hours_ago), ("new-denial", None), ("pending", "")):
            _, request = new_request(name)
            r = http.post(CSRS, json=csr_body(f"clean-{name}", request, CLIENT_SIGNER))
            assert r.status_code == 201, r.text
            if updated == "":
                continue
            csr = r.json()
            denial = {"type": "Denied", "status": "True", "reason": "Test"}
            if updated:
                denial["lastUpdateTime"] = updated
            csr["status"] = {"conditions": [denial]}
            r = http.put(f"{CSRS}/clean-{name}/approval", json=csr)
            assert r.status_code == 200, r.text

        def gone() -> bool:
            r = http.get(f"{CSRS}/clean-old-denial")
            assert r.status_code == 404, r.status_code
            return True

        eventually(gone, timeout=20, message="csrcleaner deletes the old denial")
        assert http.get(f"{CSRS}/clean-new-denial").status_code == 200
        assert http.get(f"{CSRS}/clean-pending").status_code == 200
