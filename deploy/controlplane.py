"""A throwaway control plane: a real etcd and a real apiserver process on free
loopback ports in a work dir, started the way `minik up` starts them
(deploy/processes.py). The integration tests and the benchmarks both stand on it,
so what they measure and check is the cluster a user runs."""

from __future__ import annotations

import shutil
import ssl
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from client.kubeconfig import write_kubeconfig
from componentbase.pki import ensure_client_cert
from deploy import processes
from deploy.identities import AUTHORIZATION_MODE, identity_of


@dataclass
class Etcd:
    url: str
    data_dir: Path
    process: processes.Process

    def stop(self) -> None:
        self.process.stop()


@dataclass
class ApiServer:
    url: str
    token: str
    kubeconfig: Path
    etcd_url: str
    workdir: Path
    port: int
    token_file: Path
    ca_file: Path
    process: processes.Process | None = None
    extra_args: list[str] = field(default_factory=list)
    restarts: int = 0

    def http(self, token: str | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            timeout=30,
            verify=self.ssl_context(),
            headers={"Authorization": f"Bearer {token or self.token}"},
        )

    def kubeconfig_as(self, name: str) -> Path:
        """A kubeconfig for the component `name` (deploy.identities: `kube-scheduler`,
        `kubelet-<node>`, ...) with its own client certificate from this apiserver's CA,
        so a test's components are who they are in `minik up`, and Node,RBAC judges
        them as it would there."""
        user, groups = identity_of(name)
        pki = self.workdir / "pki"
        cert = ensure_client_cert(
            pki, pki / "clients", user, tuple(g for g in groups.split(",") if g)
        )
        return write_kubeconfig(
            self.workdir / f"kubeconfig-{name}", self.url, ca_file=self.ca_file, client_cert=cert
        )

    def bind_cluster_admin(self, user: str) -> None:
        """Bind `user` to the `cluster-admin` ClusterRole: every right through RBAC, yet
        not `system:masters`, so per-user machinery (limits, exemptions) still applies.
        Returns once the authorizer has seen the binding."""
        rbac = "rbac.authorization.k8s.io"
        binding = {
            "metadata": {"name": f"{user}-cluster-admin"},
            "roleRef": {"apiGroup": rbac, "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"apiGroup": rbac, "kind": "User", "name": user}],
        }
        review = {
            "spec": {"user": user, "resourceAttributes": {"verb": "delete", "resource": "nodes"}}
        }
        with self.http() as admin:
            r = admin.post(f"/apis/{rbac}/v1/clusterrolebindings", json=binding)
            if r.status_code != 409:
                r.raise_for_status()
            deadline = time.monotonic() + 10
            while True:
                r = admin.post("/apis/authorization.k8s.io/v1/subjectaccessreviews", json=review)
                if r.raise_for_status().json()["status"].get("allowed"):
                    return
                if time.monotonic() > deadline:
                    raise TimeoutError(f"the authorizer never saw {user}'s binding")
                time.sleep(0.05)

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=str(self.ca_file))

    def start(self) -> None:
        log = self.workdir / f"apiserver-{self.restarts}.log"
        self.process = processes.start_apiserver(
            self.etcd_url, self.port, self.token_file, log, self.workdir / "pki", self.extra_args
        )

    def running(self) -> processes.Process:
        """The apiserver's process; an error when it is stopped."""
        if self.process is None:
            raise RuntimeError(f"the apiserver of {self.workdir} is not running")
        return self.process

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None

    def restart(self) -> None:
        self.stop()
        self.restarts += 1
        self.start()


def start_etcd(workdir: Path) -> Etcd:
    client_port, peer_port = processes.free_port(), processes.free_port()
    proc = processes.start_etcd(workdir / "etcd", client_port, peer_port, workdir / "etcd.log")
    return Etcd(f"http://127.0.0.1:{client_port}", workdir / "etcd", proc)


def start_apiserver(
    etcd: Etcd,
    workdir: Path,
    extra_args: list[str] | None = None,
    service_accounts: bool = False,
    local_kubelets: bool = True,
    verify_kubelets: bool = False,
    authorization_mode: str = AUTHORIZATION_MODE,
) -> ApiServer:
    """An apiserver on a free port. A throwaway control plane has no controller manager
    to make each namespace's `default` ServiceAccount, so unless `service_accounts`,
    the ServiceAccount admission plugin is off (as Kubernetes' own integration tests
    run it); tokens are signed either way. Its kubelets run on this machine
    (`local_kubelets`: loopback Node addresses are dialled); their serving certificates
    are checked with the CA only if `verify_kubelets` (tests' stand-in kubelets are
    self-signed). It authorizes as `minik up` does (Node,RBAC) unless `extra_args` or
    `authorization_mode` say otherwise, so what passes here passes in a real cluster."""
    workdir.mkdir(parents=True, exist_ok=True)
    extra_args = list(extra_args or [])
    if not any(a.startswith("--authorization-mode") for a in extra_args):
        extra_args.append(f"--authorization-mode={authorization_mode}")
    extra_args += processes.kubelet_flags(
        workdir / "pki", verify=verify_kubelets, local=local_kubelets
    )
    if not service_accounts:
        extra_args.append("--disable-admission-plugins=ServiceAccount")
    token_file = workdir / "tokens.csv"
    tokens = processes.write_token_file(
        token_file, [("admin", "system:masters"), ("viewer", "system:monitoring")]
    )
    port = processes.free_port()
    url = f"https://127.0.0.1:{port}"
    server = ApiServer(
        url,
        tokens["admin"],
        workdir / "kubeconfig",
        etcd.url,
        workdir,
        port,
        token_file,
        workdir / "pki" / "ca.crt",
        extra_args=list(extra_args or []),
    )
    server.start()
    write_kubeconfig(server.kubeconfig, url, tokens["admin"], ca_file=server.ca_file)
    return server


def make_workdir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=prefix))


def remove_workdir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


@contextmanager
def etcd_and_apiserver(
    prefix: str, apiserver_args: list[str] | None = None, service_accounts: bool = False
) -> Iterator[ApiServer]:
    """Only etcd and an apiserver (with `apiserver_args`) in a fresh workdir named
    `prefix...` (the apiserver's workdir's parent), removed afterwards: for a test
    module or a bench that runs its own components."""
    workdir = make_workdir(prefix)
    etcd = start_etcd(workdir)
    try:
        server = start_apiserver(
            etcd, workdir / "apiserver", apiserver_args, service_accounts=service_accounts
        )
        try:
            yield server
        finally:
            server.stop()
    finally:
        etcd.stop()
        remove_workdir(workdir)
