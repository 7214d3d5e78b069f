"""What proves that the worker hosts of a `minik up --hosts` cluster joined the kubeadm
way (deploy/hostjoin.py), shared by the hosts e2e modules: a bootstrap token Secret in
kube-system made by `up`; for each worker Node one CertificateSigningRequest asked
for by that token (`system:bootstrap:<id>`), for `system:node:<name>`, signer
kubernetes.io/kube-apiserver-client-kubelet, Approved and issued; the kubelet's
kubeconfig using that certificate (kubelet-client-current.pem), which authenticates as
system:node:<name>; the proxy's kubeconfig a kube-system/kube-proxy ServiceAccount
token; and no client certificate that `up` issued itself for those kubelets."""

from __future__ import annotations

import base64
import dataclasses
from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import NameOID

from api import bootstraptoken as bt
from api.resources import CERTIFICATESIGNINGREQUESTS, SECRETS
from client.kubeconfig import KubeConfig, load
from client.rest import Client
from deploy import hostjoin
from deploy.jointoken import NODE_TOKEN_GROUP

KUBELET_SIGNER = "kubernetes.io/kube-apiserver-client-kubelet"


def whoami(config: KubeConfig) -> str:
    """Who the apiserver says `config`'s credentials are (a SelfSubjectReview)."""
    with Client(config) as api:
        review = api.request(
            "POST",
            "/apis/authentication.k8s.io/v1/selfsubjectreviews",
            body={"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"},
        ).json()
    return str(review["status"]["userInfo"]["username"])


def _cn(name: x509.Name) -> str:
    return str(name.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


def join_token(admin: KubeConfig) -> tuple[str, str]:
    """(id, secret) of the one bootstrap token `minik up --hosts` made."""
    with Client(admin) as api:
        items = api.list(SECRETS, namespace=bt.NAMESPACE)["items"]
    ours = [
        s
        for s in items
        if s.get("type") == bt.SECRET_TYPE
        and bt.data(s, "description") == hostjoin.TOKEN_DESCRIPTION
    ]
    assert len(ours) == 1, [s["metadata"]["name"] for s in items]
    secret = ours[0]
    assert secret["metadata"]["name"] == f"{bt.SECRET_PREFIX}{bt.data(secret, bt.TOKEN_ID_KEY)}"
    assert bt.data(secret, bt.USAGE_AUTHENTICATION) == "true"
    return str(bt.data(secret, bt.TOKEN_ID_KEY)), str(bt.data(secret, bt.TOKEN_SECRET_KEY))


def assert_hosts_joined_the_kubeadm_way(
    data_dir: Path, nodes: list[str], host_server: str | None = None
) -> None:
    """Every check of the module docstring, for the worker Nodes `nodes`; the hosts'
    kubeconfigs name `host_server` (default the machine's, the admin kubeconfig's; with
    control-plane hosts each host's own apilb). Credentials are tried against the
    machine's server, which this process reaches."""
    admin = load(str(data_dir / "kubeconfig"))
    host_server = host_server or admin.server
    token_id, token_secret = join_token(admin)
    with Client(admin) as api:
        csrs = api.list(CERTIFICATESIGNINGREQUESTS)["items"]
    for node in nodes:
        mine = [
            c
            for c in csrs
            if c["spec"]["username"] == f"system:bootstrap:{token_id}"
            and _cn(x509.load_pem_x509_csr(base64.b64decode(c["spec"]["request"])).subject)
            == f"system:node:{node}"
        ]
        assert len(mine) == 1, (node, [c["metadata"]["name"] for c in csrs])
        csr = mine[0]
        assert csr["spec"]["signerName"] == KUBELET_SIGNER
        assert NODE_TOKEN_GROUP in csr["spec"]["groups"]
        conditions = {c["type"]: c["status"] for c in csr["status"]["conditions"]}
        assert conditions.get("Approved") == "True", conditions
        issued = x509.load_pem_x509_certificate(base64.b64decode(csr["status"]["certificate"]))
        assert _cn(issued.subject) == f"system:node:{node}"
        # the kubelet runs with that certificate, stored where kubelets keep it
        files = hostjoin.node_files(data_dir, node)
        kubelet_conf = load(str(files.kubelet))
        current = hostjoin.cert_dir(data_dir, node) / "kubelet-client-current.pem"
        assert kubelet_conf.token is None
        assert Path(kubelet_conf.client_certificate or "").resolve() == current.resolve()
        stored = x509.load_pem_x509_certificate(current.read_bytes())
        assert stored.serial_number == issued.serial_number
        assert kubelet_conf.server == host_server
        bootstrap = load(str(files.bootstrap))
        assert bootstrap.token == f"{token_id}.{token_secret}"
        assert bootstrap.server == host_server
        as_kubelet = dataclasses.replace(
            admin, token=None, client_certificate=str(current), client_key=str(current)
        )
        assert whoami(as_kubelet) == f"system:node:{node}"
        proxy = load(str(files.proxy))
        assert proxy.server == host_server and proxy.token
        as_proxy = dataclasses.replace(admin, token=proxy.token)
        assert whoami(as_proxy) == "system:serviceaccount:kube-system:kube-proxy"
        clients = data_dir / "pki" / "clients"
        assert not list(clients.glob(f"system_node_{node}.*"))  # `up` issued it none
