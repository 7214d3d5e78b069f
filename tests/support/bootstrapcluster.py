"""A control plane set up for joining machines the way kubeadm sets one up: its own
etcd, an apiserver with --authorization-mode=Node,RBAC and
--enable-bootstrap-token-auth, a controller manager running the certificate
controllers, the bootstrapsigner and the tokencleaner with the apiserver's CA as
--cluster-signing-*, the
bindings kubeadm makes at init (bootstrap tokens may ask for node client
certificates and have them approved; nodes have their renewals approved) and one
bootstrap token, TOKEN_ID.TOKEN_SECRET, in kubeadm's default node-token group."""

from __future__ import annotations

import shlex
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from cryptography import x509

from client.kubeconfig import load
from client.rest import Client
from componentbase.pki import ca_key_path
from deploy import kubeadmbootstrap
from deploy.controlplane import (
    ApiServer,
    Etcd,
    make_workdir,
    remove_workdir,
    start_apiserver,
    start_etcd,
)
from tests.support.controllermanager import ManagerProcess

RBAC = "/apis/rbac.authorization.k8s.io/v1"
TOKEN_ID, TOKEN_SECRET = "abcdef", "0123456789abcdef"
NODE_TOKEN_GROUP = "system:bootstrappers:kubeadm:default-node-token"
SIGNING_HOURS = 48  # --cluster-signing-duration
CONTROLLERS = "csrapproving,csrsigning,csrcleaner,bootstrapsigner,tokencleaner"
# what kubeadm binds at init: bootstrap tokens may ask for node client certificates and
# have them approved; nodes have their renewals approved
KUBEADM_BINDINGS = (
    ("kubeadm:kubelet-bootstrap", "system:node-bootstrapper", "Group", NODE_TOKEN_GROUP),
    ("kubeadm:node-autoapprove-bootstrap",
     "system:certificates.k8s.io:certificatesigningrequests:nodeclient", "Group",
     NODE_TOKEN_GROUP),
    ("kubeadm:node-autoapprove-certificate-rotation",
     "system:certificates.k8s.io:certificatesigningrequests:selfnodeclient", "Group",
     "system:nodes"),
)  # fmt: skip


class Cluster:
    def __init__(self, etcd: Etcd, api: ApiServer, manager: ManagerProcess) -> None:
        self.etcd, self.api, self.manager = etcd, api, manager

    def http(self, token: str | None = None, **headers: str) -> httpx.Client:
        client = self.api.http(token)
        client.headers.update(headers)
        return client

    def as_cert(self, cert: Path, key: Path) -> httpx.Client:
        ctx = self.api.ssl_context()
        ctx.load_cert_chain(str(cert), str(key))
        return httpx.Client(base_url=self.api.url, timeout=30, verify=ctx)

    @property
    def ca(self) -> x509.Certificate:
        return x509.load_pem_x509_certificate(self.api.ca_file.read_bytes())


def cluster_role_binding(name: str, role: str, kind: str, who: str) -> dict:
    return {
        "metadata": {"name": name},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": [{"kind": kind, "name": who, "apiGroup": "rbac.authorization.k8s.io"}],
    }


def bootstrap_secret(
    token_id: str, secret: str, expiration: str | None = None, **extra: str
) -> dict:
    data = {
        "token-id": token_id,
        "token-secret": secret,
        "usage-bootstrap-authentication": "true",
        "usage-bootstrap-signing": "true",
        **extra,
    }
    if expiration:
        data["expiration"] = expiration
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "bootstrap.kubernetes.io/token",
        "metadata": {"name": f"bootstrap-token-{token_id}", "namespace": "kube-system"},
        "stringData": data,
    }


@contextmanager
def bootstrap_cluster(signing_duration: str = f"{SIGNING_HOURS}h") -> Iterator[Cluster]:
    """Start it all (certificates signed for `signing_duration`); everything started
    is stopped (by PID) and the work dir removed on exit, also when setting up fails."""
    workdir = make_workdir("minik-csr-")
    etcd = start_etcd(workdir)
    api: ApiServer | None = None
    manager: ManagerProcess | None = None
    try:
        api = start_apiserver(
            etcd, workdir, ["--authorization-mode=Node,RBAC", "--enable-bootstrap-token-auth"]
        )
        pki = workdir / "pki"
        manager = ManagerProcess(
            api,
            workdir,
            f"--controllers={CONTROLLERS}",
            f"--cluster-signing-cert-file={pki / 'ca.crt'}",
            f"--cluster-signing-key-file={ca_key_path(pki)}",
            f"--cluster-signing-duration={signing_duration}",
        ).start()
        c = Cluster(etcd, api, manager)
        with c.http() as http:
            for name, role, kind, who in KUBEADM_BINDINGS:
                binding = cluster_role_binding(name, role, kind, who)
                r = http.post(f"{RBAC}/clusterrolebindings", json=binding)
                assert r.status_code == 201, r.text
            secret = bootstrap_secret(
                TOKEN_ID, TOKEN_SECRET, **{"auth-extra-groups": NODE_TOKEN_GROUP}
            )
            r = http.post("/api/v1/namespaces/kube-system/secrets", json=secret)
            assert r.status_code == 201, r.text
        yield c
    finally:
        if manager is not None:
            manager.stop()
        if api is not None:
            api.stop()
        etcd.stop()
        remove_workdir(workdir)


MINIK = [sys.executable, "-c", "import sys; from deploy.cli import main; sys.exit(main())"]


def minik(*args: str, timeout: float = 150) -> subprocess.CompletedProcess[str]:
    """The `minik` command line, as a user runs it."""
    return subprocess.run([*MINIK, *args], capture_output=True, text=True, timeout=timeout)


@contextmanager
def joinable_cluster(signing_duration: str = f"{SIGNING_HOURS}h") -> Iterator[Cluster]:
    """bootstrap_cluster plus what `minik up` reconciles for joining (cluster-info and
    kubeadm's bindings, deploy/kubeadmbootstrap), applied twice: the second pass must
    find everything in place."""
    with bootstrap_cluster(signing_duration) as cluster:
        with Client(load(str(cluster.api.kubeconfig))) as api:
            for _ in range(2):
                kubeadmbootstrap.ensure(api, cluster.api.url, cluster.api.ca_file.read_bytes())
        yield cluster


def printed_join_args(cluster: Cluster) -> list[str]:
    """`minik token create --print-join-command`'s command, without its leading `minik`."""
    done = minik(
        "token", "create", "--print-join-command", "--ttl", "10m",
        "--kubeconfig", str(cluster.api.kubeconfig),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    argv = shlex.split(done.stdout.strip())
    assert argv[:2] == ["minik", "join"], done.stdout
    return argv[1:]  # "join", then its flags
