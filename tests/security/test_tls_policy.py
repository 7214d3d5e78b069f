"""Issue #11, "TLS: TLS 1.2+ with AEAD suites only": every server minik runs refuses
TLS 1.0/1.1 and, on TLS 1.2, every suite but ECDHE with AES-GCM or ChaCha20-Poly1305.

Before the fix the apiserver, the kubelet, the scheduler's and controller manager's
secure port and the ingress took Python's default list, which also offers CBC suites
(ECDHE-ECDSA-AES256-SHA384, ...) to a TLS 1.2 client; and no server had
`--tls-min-version`/`--tls-cipher-suites`. Each test makes real handshakes against a
real listener: the apiserver as the test harness starts it (a process), the others
with the server code each component runs."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import threading
import warnings
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest

from componentbase.metrics import MetricsListener, serving_context
from componentbase.pki import issue_serving_cert
from deploy.controlplane import ApiServer, Etcd, make_workdir, remove_workdir, start_apiserver
from ingress.tlsstore import TlsStore
from scheduler.__main__ import parse_args as scheduler_args

# CBC suites (HMAC-SHA256/384, no AEAD) that Python's default server list offers.
CBC_SUITES = (
    "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA384:"
    "ECDHE-RSA-AES128-SHA256:ECDHE-RSA-AES256-SHA384"
)


def _client(
    *, max_version: ssl.TLSVersion | None = None, ciphers: str | None = None
) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE  # the handshake's terms are tested, not trust
    if max_version is not None:
        context.maximum_version = max_version
    if ciphers is not None:
        context.set_ciphers(ciphers)
    return context


def tls11_client() -> ssl.SSLContext:
    """A client that speaks only TLS 1.0/1.1 (OpenSSL allows it at security level 0)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context = _client(ciphers="DEFAULT:@SECLEVEL=0")
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = ssl.TLSVersion.TLSv1_1
    return context


def handshake(port: int, context: ssl.SSLContext) -> tuple[str, str]:
    """(TLS version, cipher) the server at 127.0.0.1:port agrees to; ssl.SSLError
    (or a reset) when it refuses."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as raw,
        context.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        version, cipher = tls.version(), tls.cipher()
        assert version is not None and cipher is not None
        return version, cipher[0]


def refused(port: int, context: ssl.SSLContext) -> bool:
    try:
        handshake(port, context)
    except (ssl.SSLError, ConnectionResetError):
        return True
    return False


def assert_policy(port: int) -> None:
    """The server at `port` serves TLS 1.3 and TLS 1.2 AEAD, and nothing weaker."""
    assert handshake(port, _client())[0] == "TLSv1.3"
    version, cipher = handshake(port, _client(max_version=ssl.TLSVersion.TLSv1_2))
    assert version == "TLSv1.2" and ("GCM" in cipher or "CHACHA20" in cipher), cipher
    cbc = _client(max_version=ssl.TLSVersion.TLSv1_2, ciphers=CBC_SUITES)
    assert refused(port, cbc), f"a CBC suite was accepted: {handshake(port, cbc)}"
    assert refused(port, tls11_client()), "TLS 1.1 was accepted"


def assert_tls13_only(port: int) -> None:
    assert handshake(port, _client())[0] == "TLSv1.3"
    assert refused(port, _client(max_version=ssl.TLSVersion.TLSv1_2))


class LoopThread:
    """An event loop in a thread, for the servers that run inside a component's loop."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, Any], timeout: float = 20) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture(scope="module")
def loop() -> Iterator[LoopThread]:
    thread = LoopThread()
    yield thread
    thread.close()


@pytest.fixture(scope="module")
def tls13_apiserver(etcd: Etcd) -> Iterator[ApiServer]:
    workdir = make_workdir("minik-sec-tls13-")
    server = start_apiserver(etcd, workdir, ["--tls-min-version=VersionTLS13"])
    yield server
    server.stop()
    remove_workdir(workdir)


def test_apiserver_serves_tls12_aead_only(apiserver: ApiServer) -> None:
    """Finding "TLS 1.2+ with AEAD suites only": the apiserver (as `minik up` and the
    test harness start it) refuses TLS 1.1 and a TLS 1.2 client offering only CBC
    suites; a normal client (TLS 1.3, or TLS 1.2 with AES-GCM) still works."""
    port = int(apiserver.url.rsplit(":", 1)[1])
    assert_policy(port)
    with apiserver.http() as api:  # and the API answers over it
        assert api.get("/readyz").status_code == 200


def test_apiserver_tls_min_version_flag(tls13_apiserver: ApiServer) -> None:
    """Finding "TLS 1.2+ with AEAD suites only": Kubernetes' `--tls-min-version
    VersionTLS13` makes the apiserver refuse TLS 1.2 clients."""
    assert_tls13_only(int(tls13_apiserver.url.rsplit(":", 1)[1]))


def test_apiserver_refuses_a_non_aead_cipher_suite_flag(tmp_path: Path) -> None:
    """Finding "TLS 1.2+ with AEAD suites only": `--tls-cipher-suites` takes Go's names
    but not a CBC suite (the apiserver exits with a usage error)."""
    from apiserver.config import parse_args

    with pytest.raises(SystemExit):
        parse_args(["--tls-cipher-suites", "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"])
    with pytest.raises(SystemExit):
        parse_args(["--tls-min-version", "VersionTLS11"])
    ok = parse_args(["--tls-cipher-suites", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"])
    assert ok.tls_policy.openssl_ciphers() == "ECDHE-ECDSA-AES128-GCM-SHA256"


@contextlib.contextmanager
def kubelet_server(
    loop: LoopThread, tmp_path: Path, argv: list[str] | None = None
) -> Iterator[int]:
    """The kubelet's HTTPS server (kubelet/server.py) with a certificate from a CA,
    configured from the kubelet's own flags; yields its port."""
    from kubelet.auth import KubeletAuth
    from kubelet.config import parse_args
    from kubelet.server import KubeletServer, serving_tls

    files = issue_serving_cert(
        tmp_path / "pki", tmp_path / "node", "kubelet", "n1", ("127.0.0.1", "localhost")
    )
    config = parse_args(
        [
            "--node-name=n1",
            f"--root-dir={tmp_path / 'root'}",
            "--node-ip=127.0.0.1",
            f"--tls-cert-file={files.cert}",
            f"--tls-private-key-file={files.key}",
            f"--client-ca-file={files.ca_cert}",
            *(argv or []),
        ]
    )
    none: Any = None  # the handshake reaches neither Docker nor the apiserver
    server = KubeletServer(
        host="127.0.0.1",
        port=0,
        auth=KubeletAuth(none, "n1", mode="AlwaysAllow", client_ca=True),
        tls=serving_tls(
            config.tls_cert_file,
            config.tls_private_key_file,
            tmp_path,
            ("127.0.0.1",),
            config.client_ca_file,
            config.tls_policy,
        ),
        runtime=none,
        find_pod=lambda namespace, name: None,
        pod_status=none,
    )
    port = server.bind().getsockname()[1]
    task = asyncio.run_coroutine_threadsafe(server.serve(), loop.loop)
    try:
        _wait_listening(port, lambda: task.done() and task.result())
        yield port
    finally:
        server.stop()
        task.result(15)


def _wait_listening(port: int, failed: Callable[[], Any]) -> None:
    """Until a TLS handshake at `port` completes (the server has started serving)."""
    for _ in range(200):
        failed()
        with contextlib.suppress(OSError):
            handshake(port, _client())
            return
        threading.Event().wait(0.05)
    raise AssertionError(f"nothing served TLS on port {port}")


def test_kubelet_serves_tls12_aead_only(loop: LoopThread, tmp_path: Path) -> None:
    """Finding "TLS 1.2+ with AEAD suites only": the kubelet's API server (logs, exec,
    metrics) refuses TLS 1.1 and CBC suites; `--tls-min-version VersionTLS13` refuses
    TLS 1.2."""
    with kubelet_server(loop, tmp_path) as port:
        assert_policy(port)
    with kubelet_server(loop, tmp_path, ["--tls-min-version", "VersionTLS13"]) as port:
        assert_tls13_only(port)


def test_secure_port_serves_tls12_aead_only(loop: LoopThread) -> None:
    """Finding "TLS 1.2+ with AEAD suites only": the scheduler's and the controller
    manager's secure port (/metrics, /healthz; self-signed when given no certificate)
    refuses TLS 1.1 and CBC suites, and takes `--tls-min-version`."""
    cases: list[tuple[list[str], Callable[[int], None]]] = [
        ([], assert_policy),
        (["--tls-min-version=VersionTLS13"], assert_tls13_only),
    ]
    for extra, check in cases:
        args = scheduler_args(["--secure-port", "0", *extra])
        listener = MetricsListener("127.0.0.1", 0, tls=serving_context(args, "kube-scheduler"))
        port = loop.run(listener.start())
        try:
            check(port)
        finally:
            loop.loop.call_soon_threadsafe(listener.close)


def test_ingress_https_serves_tls12_aead_only(loop: LoopThread) -> None:
    """Finding "TLS 1.2+ with AEAD suites only": the ingress controller's HTTPS
    listener (its default certificate and every Secret's) refuses TLS 1.1 and CBC."""
    store = TlsStore()

    async def listen() -> asyncio.Server:
        async def close(_r: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            writer.close()

        return await asyncio.start_server(close, "127.0.0.1", 0, ssl=store.server_context)

    server = loop.run(listen())
    try:
        assert_policy(server.sockets[0].getsockname()[1])
    finally:
        loop.loop.call_soon_threadsafe(server.close)
