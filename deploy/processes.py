"""Starting minik's processes on this machine: etcd, the apiserver, and later the
other components. `minik up` and the test fixtures both use these, so a cluster in a
test is started exactly as a user's is."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from api.privatefile import write_private
from deploy.readiness import http_ok

if TYPE_CHECKING:
    from componentbase.pki import ServingFiles

# componentbase.pki (cryptography, ~10 MiB resident) is imported by the functions that
# issue certificates, which `minik up` calls: the supervisor, which imports this module
# to start and check processes, never does.

KUBELET_CLIENT_USER = "kube-apiserver-kubelet-client"  # kubeadm's name for it
ETCD_CLIENT_USER = "kube-apiserver-etcd-client"  # kubeadm's names
ETCD_HEALTHCHECK_USER = "kube-etcd-healthcheck-client"
ETCD_HOSTS = ("127.0.0.1", "::1", "localhost")


class StartError(Exception):
    pass


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Whether a listener could bind host:port now."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def etcd_binary() -> str:
    found = shutil.which("etcd") or ("/usr/bin/etcd" if Path("/usr/bin/etcd").exists() else None)
    if not found:
        raise StartError("etcd not found: install Debian's etcd-server (deploy/setup.sh does)")
    return found


@dataclass
class Process:
    name: str
    popen: subprocess.Popen
    log_path: Path

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        stop_pid(self.popen.pid, timeout, self.popen)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def stop_pid(pid: int, timeout: float = 10.0, popen: subprocess.Popen | None = None) -> None:
    """SIGTERM, wait, then SIGKILL: only the process we started, by its PID."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if popen is not None:
            if popen.poll() is not None:
                return
        elif not pid_alive(pid):
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    if popen is not None:
        popen.wait(5)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours counts as gone
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        return state != "Z"
    except OSError:
        return False


# What every process minik starts gets in its environment unless the caller's says
# otherwise. glibc gives each thread that allocates an arena of its own (up to 8 per
# core) and keeps what is freed there for that thread; MALLOC_ARENA_MAX=2 bounds that
# for the threads the components do have (asyncio's executor and libuv's pool for DNS
# and files, the kubelet's Docker calls, gRPC's pollers in the apiserver). Idle, it
# measured no different (within 0.5 MiB a process): it is there for the busy case.
# etcd (Go) does not read it.
DEFAULT_ENV = {"MALLOC_ARENA_MAX": "2"}


def spawn(
    name: str,
    argv: list[str],
    log_path: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
) -> Process:
    """`argv` in its own session, output to `log_path`; `cwd` e.g. another source tree
    for `python -m` (bench/apiserver.py --budgets runs an older apiserver so)."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "ab")  # noqa: SIM115 - the child owns it
    popen = subprocess.Popen(
        argv,
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env={**DEFAULT_ENV, **os.environ, **(env or {})},
        cwd=cwd,
        start_new_session=True,
    )
    log.close()
    return Process(name, popen, log_path)


ETCD_ENV = {"ETCD_UNSUPPORTED_ARCH": os.uname().machine}

# etcd's --snapshot-count, kubeadm's value. etcd keeps its raft log (every applied
# entry, each a whole request with its object) in memory and trims it only after a
# snapshot; with etcd's default of 100,000 entries the first snapshot of a churn soak
# (~44 writes/s) came after ~38 min, and etcd grew ~11 MiB/min until then. Compaction
# does not help: it trims the MVCC history on disk, not the raft log. The compose lab's
# etcd (deploy/compose/docker-compose.yml) carries the same flag.
ETCD_SNAPSHOT_COUNT = 10_000


@dataclass(frozen=True)
class EtcdTLS:
    """etcd's certificates, laid out as kubeadm's `pki/etcd/`: its own CA (a certificate
    from the cluster CA, a kubelet's or a user's, opens no door to etcd), etcd's serving
    certificate, and the client certificates etcd's --client-cert-auth asks for: the
    apiserver's and the health checks'. Keys are 0600."""

    ca: Path
    cert: Path
    key: Path
    client_cert: Path  # the apiserver's: --etcd-certfile
    client_key: Path
    healthcheck_cert: Path  # `minik up`'s readiness checks of etcd's /health
    healthcheck_key: Path

    def server_flags(self) -> list[str]:
        """etcd's: TLS on the client and peer URLs, callers must show a certificate."""
        return [
            "--cert-file",
            str(self.cert),
            "--key-file",
            str(self.key),
            "--trusted-ca-file",
            str(self.ca),
            "--client-cert-auth",
            "--peer-cert-file",
            str(self.cert),
            "--peer-key-file",
            str(self.key),
            "--peer-trusted-ca-file",
            str(self.ca),
            "--peer-client-cert-auth",
            # the TLS policy of minik's own servers (componentbase.serving): AEAD only
            "--cipher-suites",
            ",".join(_go_aead_cipher_suites()),
        ]

    def apiserver_flags(self) -> list[str]:
        """kube-apiserver's flags toward this etcd."""
        return [
            "--etcd-cafile",
            str(self.ca),
            "--etcd-certfile",
            str(self.client_cert),
            "--etcd-keyfile",
            str(self.client_key),
        ]

    def healthcheck(self) -> tuple[str, str]:
        return str(self.healthcheck_cert), str(self.healthcheck_key)


def etcd_pki(pki_dir: Path, hosts: tuple[str, ...] = ()) -> EtcdTLS:
    """etcd's CA and certificates in `pki_dir`/etcd (a 0700 directory), made once and
    kept; the serving certificate covers loopback and `hosts`."""
    from componentbase.pki import ensure_ca, ensure_client_cert, issue_serving_cert

    directory = pki_dir / "etcd"
    directory.mkdir(parents=True, exist_ok=True)
    directory.chmod(0o700)
    ca, _ = ensure_ca(directory, "etcd-ca")
    hosts = tuple(dict.fromkeys((*ETCD_HOSTS, *hosts)))
    served = issue_serving_cert(
        directory, directory, "server", "kube-etcd", hosts, client_auth=True
    )
    client = ensure_client_cert(directory, directory, ETCD_CLIENT_USER)
    health = ensure_client_cert(directory, directory, ETCD_HEALTHCHECK_USER)
    return EtcdTLS(ca, served.cert, served.key, *client, *health)


def etcd_argv(
    data_dir: Path,
    client_port: int,
    peer_port: int,
    quota_bytes: int = 2 * 1024**3,
    tls: EtcdTLS | None = None,
    name: str = "minik",
    initial_cluster: str | None = None,
) -> list[str]:
    """etcd on loopback; with `tls`, https and client-certificate authentication (what
    `minik up` runs), else plain http (the tests' throwaway control planes). Alone, or
    member `name` of `initial_cluster` (etcd's `name=peer-url,...`; read only when the
    data dir is new: a restarted member rejoins from its data)."""
    scheme = "https" if tls else "http"
    client_url = f"{scheme}://127.0.0.1:{client_port}"
    peer_url = f"{scheme}://127.0.0.1:{peer_port}"
    return [
        etcd_binary(),
        "--name",
        name,
        "--data-dir",
        str(data_dir),
        "--listen-client-urls",
        client_url,
        "--advertise-client-urls",
        client_url,
        "--listen-peer-urls",
        peer_url,
        "--initial-advertise-peer-urls",
        peer_url,
        "--initial-cluster",
        initial_cluster or f"{name}={peer_url}",
        "--quota-backend-bytes",
        str(quota_bytes),
        "--snapshot-count",
        str(ETCD_SNAPSHOT_COUNT),
        "--log-level",
        "warn",
        *(tls.server_flags() if tls else []),
    ]


def start_etcd(
    data_dir: Path,
    client_port: int,
    peer_port: int,
    log_path: Path,
    quota_bytes: int = 2 * 1024**3,
    tls: EtcdTLS | None = None,
) -> Process:
    client_url = f"{'https' if tls else 'http'}://127.0.0.1:{client_port}"
    argv = etcd_argv(data_dir, client_port, peer_port, quota_bytes, tls)
    proc = spawn("etcd", argv, log_path, env=ETCD_ENV)
    ca, cert = (str(tls.ca), tls.healthcheck()) if tls else (None, None)
    wait_for(lambda: http_ok(f"{client_url}/health", ca, cert), 30, proc, "etcd")
    return proc


def start_apiserver(
    etcd_url: str,
    port: int,
    token_file: Path,
    log_path: Path,
    pki_dir: Path,
    extra: list[str] | None = None,
    bind: str = "127.0.0.1",
) -> Process:
    """The apiserver over HTTPS with a serving certificate from the CA in `pki_dir`
    (kubectl sends tokens only over TLS). Ready when /readyz answers. Its kubelets are
    local and self-signed unless `extra` says otherwise (kubelet_flags)."""
    argv = apiserver_argv(etcd_url, port, token_file, pki_dir, extra, bind)
    proc = spawn("apiserver", argv, log_path)
    host = "127.0.0.1" if bind in ("0.0.0.0", "::") else bind
    url = f"https://{host}:{port}/readyz"
    ca = pki_dir / "ca.crt"
    wait_for(lambda: http_ok(url, str(ca)), 30, proc, "apiserver")
    return proc


def apiserver_argv(
    etcd_url: str,
    port: int,
    token_file: Path,
    pki_dir: Path,
    extra: list[str] | None = None,
    bind: str = "127.0.0.1",
    kubelet_client: bool = True,
) -> list[str]:
    """The apiserver's command line with certificates from the CA in `pki_dir`;
    without `kubelet_client`, only flags an older minik knows too (bench/ starts the
    apiserver of an older commit beside today's)."""
    from componentbase.pki import ensure_service_account_key, ensure_serving_cert

    files = ensure_serving_cert(pki_dir, () if bind in ("0.0.0.0", "::") else (bind,))
    sa = ensure_service_account_key(pki_dir)
    kubelet_flags: list[str] = []
    if kubelet_client:
        cert, key = kubelet_client_cert(pki_dir)
        kubelet_flags = [
            "--kubelet-client-certificate",
            str(cert),
            "--kubelet-client-key",
            str(key),
        ]
    return [
        sys.executable,
        "-m",
        "apiserver",
        "--etcd-servers",
        etcd_url,
        "--bind-address",
        bind,
        "--secure-port",
        str(port),
        "--token-auth-file",
        str(token_file),
        "--client-ca-file",  # the components' client certificates (deploy/identities)
        str(files.ca_cert),
        "--tls-cert-file",
        str(files.cert),
        "--tls-private-key-file",
        str(files.key),
        "--service-account-key-file",
        str(sa.pub),
        "--service-account-signing-key-file",
        str(sa.key),
        *kubelet_flags,
        *(extra or []),
    ]


def kubelet_client_cert(pki_dir: Path) -> tuple[Path, Path]:
    """The apiserver's client certificate toward kubelets, as kubeadm's
    `apiserver-kubelet-client.crt`: CN kube-apiserver-kubelet-client, O system:masters
    (made once)."""
    from componentbase.pki import issue_client_cert

    stem = pki_dir / KUBELET_CLIENT_USER
    cert, key = stem.with_suffix(".crt"), stem.with_suffix(".key")
    if cert.exists() and key.exists():
        return cert, key
    return issue_client_cert(pki_dir, pki_dir, KUBELET_CLIENT_USER, ("system:masters",))


def kubelet_flags(pki_dir: Path, *, verify: bool, local: bool) -> list[str]:
    """The apiserver's flags about its kubelets: verify their serving certificates with
    the cluster CA (they were issued by it: kubelet_serving_flags), and whether they
    run on this machine (their Node addresses are loopback)."""
    from componentbase.pki import ensure_ca

    flags = ["--kubelet-certificate-authority", str(ensure_ca(pki_dir)[0])] if verify else []
    return flags + (["--kubelet-allow-local-addresses=true"] if local else [])


def kubelet_serving_flags(pki_dir: Path, node: str, node_ip: str, out_dir: Path) -> list[str]:
    """A kubelet's TLS flags: a serving certificate from the cluster CA for its node
    name and address, and the CA its callers' client certificates are checked with
    (the apiserver's, kubelet_client_cert)."""
    from componentbase.pki import issue_serving_cert

    files: ServingFiles = issue_serving_cert(
        pki_dir, out_dir, "kubelet", node, tuple(dict.fromkeys((node_ip, node, "localhost")))
    )
    return [
        "--tls-cert-file",
        str(files.cert),
        "--tls-private-key-file",
        str(files.key),
        "--client-ca-file",
        str(files.ca_cert),
    ]


def _go_aead_cipher_suites() -> tuple[str, ...]:
    from componentbase.serving import GO_AEAD_CIPHER_SUITES  # ssl: not in the supervisor

    return tuple(GO_AEAD_CIPHER_SUITES)


def wait_for(check, timeout: float, proc: Process | None, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and not proc.alive():
            raise StartError(f"{what} exited with {proc.popen.returncode}:\n{proc.log_tail()}")
        if check():
            return
        time.sleep(0.1)
    tail = proc.log_tail() if proc else ""
    raise StartError(f"{what} did not become ready within {timeout:.0f}s\n{tail}")


def kubelet_healthy(port: int, token: str, ca_file: Path, host: str = "127.0.0.1") -> bool:
    """Whether a kubelet answers its /healthz (HTTPS, its certificate from the CA in
    `ca_file`, a token allowed nodes/proxy) within a second."""
    import ssl

    import httpx

    try:
        verify = ssl.create_default_context(cafile=str(ca_file))
        r = httpx.get(
            f"https://{host}:{port}/healthz",
            headers={"Authorization": f"Bearer {token}"},
            timeout=1.0,
            verify=verify,
        )
    except httpx.HTTPError:
        return False
    return r.status_code == 200


def write_token_file(path: Path, users: list[tuple[str, str]]) -> dict[str, str]:
    """One random token per (user, groups); returns user -> token."""
    import secrets  # hashlib's OpenSSL: not in the supervisor, which never calls this

    tokens: dict[str, str] = {}
    lines = []
    for user, groups in users:
        token = secrets.token_hex(16)
        tokens[user] = token
        lines.append(f'{token},{user},{user},"{groups}"')
    write_private(path, ("\n".join(lines) + "\n").encode())
    return tokens
