"""What a joining node keeps (kubeadm's /etc/kubernetes) and how its kubelet and proxy
get their identities from a bootstrap token: the cluster CA, a bootstrap kubeconfig
the kubelet asks for its client certificate with (its TLS bootstrap writes
kubelet.conf), and a kubeconfig with a token of kube-system's kube-proxy
ServiceAccount for the proxy. Shared by `minik join` (deploy/join.py) and the worker
hosts of `minik up --hosts` (deploy/hostjoin.py), so both join the same way."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

from api.errors import ApiError
from api.privatefile import write_private
from api.resources import SERVICEACCOUNTS
from client.kubeconfig import KubeConfig, write_kubeconfig
from client.rest import Client
from componentbase.pki import not_after
from deploy.jointoken import JoinError
from deploy.kubeadmbootstrap import PROXY_SERVICE_ACCOUNT, SYSTEM_NAMESPACE

BOOTSTRAP_KUBECONFIG = "bootstrap-kubelet.conf"  # kubeadm's /etc/kubernetes names
KUBELET_KUBECONFIG = "kubelet.conf"
PROXY_KUBECONFIG = "kube-proxy.conf"
KUBELET_CLIENT_CERT = "kubelet-client-current.pem"  # in the kubelet's --cert-dir
# the proxy's ServiceAccount token: a year, what Kubernetes' extended projected tokens
# last (--service-account-extend-token-expiration); not refreshed yet
PROXY_TOKEN_SECONDS = 365 * 24 * 3600


@dataclass(frozen=True)
class NodeFiles:
    """A node's configuration directory, laid out as kubeadm's /etc/kubernetes."""

    dir: Path

    @property
    def ca_file(self) -> Path:
        return self.dir / "pki" / "ca.crt"

    @property
    def bootstrap(self) -> Path:
        return self.dir / BOOTSTRAP_KUBECONFIG

    @property
    def kubelet(self) -> Path:
        return self.dir / KUBELET_KUBECONFIG

    @property
    def proxy(self) -> Path:
        return self.dir / PROXY_KUBECONFIG


def write_ca(files: NodeFiles, ca_pem: bytes) -> Path:
    """The cluster CA, as discovery found and pinned it."""
    files.ca_file.parent.mkdir(parents=True, exist_ok=True)
    write_private(files.ca_file, ca_pem)
    return files.ca_file


def write_bootstrap(files: NodeFiles, server: str, token: str) -> Path:
    """The bootstrap kubeconfig: the token, the CA of write_ca trusted."""
    return write_kubeconfig(files.bootstrap, server, token, ca_file=files.ca_file)


def kubelet_bootstrap_flags(files: NodeFiles) -> list[str]:
    """The kubelet asks for its client certificate with the bootstrap kubeconfig (and
    writes --kubeconfig to use it), and renews it before it expires, as kubeadm's."""
    return ["--bootstrap-kubeconfig", str(files.bootstrap), "--rotate-certificates"]


def proxy_token(server: str, ca_file: Path, token: str) -> str:
    """A token of kube-system's `kube-proxy` ServiceAccount (bound to
    system:node-proxier, deploy/kubeadmbootstrap), asked for with the bootstrap token:
    what kubeadm's kube-proxy DaemonSet pod would run with on this machine."""
    config = KubeConfig(server, token=token, certificate_authority=str(ca_file))
    body = {
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "spec": {"expirationSeconds": PROXY_TOKEN_SECONDS},
    }
    try:
        with Client(config) as api:
            answer = api.create(
                SERVICEACCOUNTS,
                body,
                namespace=SYSTEM_NAMESPACE,
                name=PROXY_SERVICE_ACCOUNT,
                subresource="token",
            )
    except ApiError as err:
        raise JoinError(
            f"cannot get a token for the {SYSTEM_NAMESPACE}/{PROXY_SERVICE_ACCOUNT} "
            f"ServiceAccount for the proxy: {err.message} (`minik up` on the control plane "
            "makes it; or join with --skip-proxy)"
        ) from err
    return str(answer["status"]["token"])


def write_proxy_kubeconfig(
    files: NodeFiles, server: str, token: str, token_server: str | None = None
) -> Path:
    """The proxy's kubeconfig: a kube-proxy ServiceAccount token asked for (at
    `token_server`, default `server`) with the bootstrap token; the CA of write_ca."""
    sa_token = proxy_token(token_server or server, files.ca_file, token)
    return write_kubeconfig(files.proxy, server, sa_token, ca_file=files.ca_file)


def has_client_certificate(cert_dir: Path, now: datetime.datetime | None = None) -> bool:
    """Whether the kubelet of `cert_dir` holds a client certificate from its TLS
    bootstrap that has not expired: a restarted kubelet uses it and needs no token."""
    path = cert_dir / KUBELET_CLIENT_CERT
    try:
        ends = not_after(path)
    except (OSError, ValueError):
        return False
    return (now or datetime.datetime.now(datetime.UTC)) < ends
