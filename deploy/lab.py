"""Credentials for the docker-compose lab (deploy/compose): the CAs, certificates, one
token per component, and kubeconfigs — for the containers (server
https://apiserver:6443 on the lab network) and for the host (deploy/compose/kubeconfig,
through the published port). Run: python -m deploy.lab

Each container gets only its own credentials: `generated/<container>/`, a 0700
directory of 0600 files (the containers run as root), mounted read-only at
CREDENTIALS. The CAs' keys stay in `generated/pki/`, mounted nowhere: no container
issues certificates."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from api.privatefile import write_private
from client.kubeconfig import write_kubeconfig
from componentbase.pki import ensure_service_account_key, ensure_serving_cert, issue_serving_cert
from deploy.encryption import FILE_NAME as ENCRYPTION_FILE
from deploy.encryption import ensure_encryption_config
from deploy.identities import ensure_credentials, kubelet_kubeconfig
from deploy.podsecurity import FILE_NAME, write_admission_config
from deploy.processes import etcd_pki, kubelet_client_cert

COMPOSE_DIR = Path(__file__).resolve().parent / "compose"
ETCD_IP = "10.250.0.2"
APISERVER_IP = "10.250.0.3"
HOST_PORT = 16443
NODES = {"lab-node-1": "10.250.0.11", "lab-node-2": "10.250.0.12", "lab-node-3": "10.250.0.13"}
CREDENTIALS = "/lab/credentials"  # where each container sees its own directory
# The hostproxy shares the host's one-proxy-per-host lock (api.clusterdefaults) with a
# `minik up` proxy: that one file is mounted, not the host's /run (the Docker socket).
HOST_PROXY_LOCK = Path("/run/minik-proxy.lock")
# kubeconfig name (deploy/identities) of each single-component container
COMPONENT_CONTAINERS = {
    "scheduler": "kube-scheduler",
    "controller": "kube-controller-manager",
    "dashboard": "dashboard",
    "hostproxy": "kube-proxy",
}


def generate(out: Path = COMPOSE_DIR / "generated", host_kubeconfig: Path | None = None) -> Path:
    """Everything the lab's containers read, under `out`; returns the host's admin
    kubeconfig (`host_kubeconfig`, by default deploy/compose/kubeconfig)."""
    out.mkdir(parents=True, exist_ok=True)
    out.chmod(0o700)
    _remove_old_layout(out)
    pki = out / "pki"
    pki.mkdir(exist_ok=True)
    pki.chmod(0o700)
    files = ensure_serving_cert(pki, ("apiserver", APISERVER_IP))
    sa = ensure_service_account_key(pki)
    kubelet_client = kubelet_client_cert(pki)
    etcd = etcd_pki(pki, ("etcd", ETCD_IP))
    for key in pki.rglob("*.key"):  # an older lab made them 0644
        key.chmod(0o600)
    tokens_path = out / "apiserver" / "tokens.csv"
    # each component's client certificate is carried inside its kubeconfig (kubeadm's
    # way): the container gets one file, and the pki directory stays on the host
    credentials = ensure_credentials(tokens_path, pki, list(NODES))
    server = f"https://{APISERVER_IP}:6443"

    def kubeconfig(directory: str, name: str, identity: str) -> Path:
        return write_kubeconfig(
            out / directory / name,
            server,
            ca_file=files.ca_cert,
            client_cert=credentials.client_certs[identity],
            embed_client_cert=True,
        )

    _install(
        out / "etcd",
        {
            "ca.crt": etcd.ca,
            "server.crt": etcd.cert,
            "server.key": etcd.key,
            "healthcheck-client.crt": etcd.healthcheck_cert,
            "healthcheck-client.key": etcd.healthcheck_key,
        },
    )
    write_admission_config(out / "apiserver" / FILE_NAME)
    # Secrets encrypted at rest, as `minik up` does: the key is made once and kept in the
    # private pki directory, which no container mounts (deploy/encryption.py)
    encryption = ensure_encryption_config(pki / ENCRYPTION_FILE)
    _install(
        out / "apiserver",
        {
            "tokens.csv": tokens_path,
            FILE_NAME: out / "apiserver" / FILE_NAME,
            ENCRYPTION_FILE: encryption,
            "apiserver.crt": files.cert,
            "apiserver.key": files.key,
            "ca.crt": files.ca_cert,
            "sa.pub": sa.pub,
            "sa.key": sa.key,
            "kubelet-client.crt": kubelet_client[0],
            "kubelet-client.key": kubelet_client[1],
            "etcd-ca.crt": etcd.ca,
            "etcd-client.crt": etcd.client_cert,
            "etcd-client.key": etcd.client_key,
        },
    )
    for container, identity in COMPONENT_CONTAINERS.items():
        _install(out / container, {"kubeconfig": kubeconfig(container, "kubeconfig", identity)})
    for node, ip in NODES.items():
        # each kubelet's serving certificate from the CA (the apiserver verifies it:
        # --kubelet-certificate-authority); the node runs its proxy and ingress too
        served = issue_serving_cert(pki, pki, node, node, (ip, node))
        _install(
            out / node,
            {
                "kubelet.kubeconfig": kubeconfig(
                    node, "kubelet.kubeconfig", kubelet_kubeconfig(node)
                ),
                "kube-proxy.kubeconfig": kubeconfig(node, "kube-proxy.kubeconfig", "kube-proxy"),
                "ingress.kubeconfig": kubeconfig(node, "ingress.kubeconfig", "ingress"),
                "ca.crt": files.ca_cert,
                "kubelet.crt": served.cert,
                "kubelet.key": served.key,
            },
        )
    return write_kubeconfig(
        host_kubeconfig or COMPOSE_DIR / "kubeconfig",
        f"https://127.0.0.1:{HOST_PORT}",
        credentials.admin_token,
        ca_file=files.ca_cert,
    )


def _install(directory: Path, files: dict[str, Path]) -> None:
    """`directory` holds exactly `files` (name -> source), each 0600, the directory
    0700: what one container mounts."""
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    for name, source in files.items():
        target = directory / name
        if source.resolve() != target.resolve():
            write_private(target, source.read_bytes())
        target.chmod(0o600)
    for stale in directory.iterdir():
        if stale.name not in files:
            shutil.rmtree(stale) if stale.is_dir() else stale.unlink()


def _remove_old_layout(out: Path) -> None:
    """An older lab kept the token file, every kubeconfig and the admission config at
    the top, 0644, all mounted into every container."""
    (out / "tokens.csv").unlink(missing_ok=True)
    (out / FILE_NAME).unlink(missing_ok=True)
    shutil.rmtree(out / "kubeconfigs", ignore_errors=True)


def ensure_host_proxy_lock() -> None:
    """The host's proxy lock file must exist before `docker-compose up`: Docker would
    make a directory of a missing bind-mount source."""
    if HOST_PROXY_LOCK.is_dir():  # such a directory, empty, left by an earlier `up`
        HOST_PROXY_LOCK.rmdir()
    if not HOST_PROXY_LOCK.exists():
        HOST_PROXY_LOCK.touch()


def main() -> int:
    host = generate()
    ensure_host_proxy_lock()
    print(f"lab credentials ready; host kubeconfig: {host}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
