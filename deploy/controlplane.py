"""A throwaway control plane: a real etcd and a real apiserver process on free
loopback ports in a work dir, started the way `minik up` starts them
(deploy/processes.py). The integration tests and the benchmarks both stand on it,
so what they measure and check is the cluster a user runs."""

from __future__ import annotations

import shutil
import ssl
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from client.kubeconfig import write_kubeconfig
from deploy import processes


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
) -> ApiServer:
    """An apiserver on a free port. A throwaway control plane has no controller manager
    to make each namespace's `default` ServiceAccount, so unless `service_accounts`,
    the ServiceAccount admission plugin is off (as Kubernetes' own integration tests
    run it); tokens are signed either way. Its kubelets run on this machine
    (`local_kubelets`: loopback Node addresses are dialled); their serving certificates
    are checked with the CA only if `verify_kubelets` (tests' stand-in kubelets are
    self-signed)."""
    workdir.mkdir(parents=True, exist_ok=True)
    extra_args = list(extra_args or [])
    extra_args += processes.kubelet_flags(
        workdir / "pki", verify=verify_kubelets, local=local_kubelets
    )
    if not service_accounts:
        extra_args.append("--disable-admission-plugins=ServiceAccount")
    token_file = workdir / "tokens.csv"
    tokens = processes.write_token_file(
        token_file, [("admin", "system:masters"), ("viewer", "system:authenticated")]
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
