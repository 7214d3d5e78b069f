"""A stand-in kubelet for integration tests: answers `/metrics/resource` with CPU
counters that grow at rates the test sets (cores, per container), so the metrics
server and the HPA see known usage without Docker; and `/containerLogs/...` with the
lines the test adds (`add_log_line`), followed while `follow=true`, as the apiserver's
`pods/log` reaches a kubelet.

It speaks HTTPS, as a real kubelet, with a self-signed certificate (so its scrapers
run with `--kubelet-insecure-tls`, and the apiserver does not verify it, as without
`--kubelet-certificate-authority`). Given `client_ca`, it asks callers for a client
certificate signed by it. It checks no credentials itself; it records what each
request presented (`requests`: path, headers, the verified client certificate's
subject), so tests can assert who called and with what."""

from __future__ import annotations

import os
import ssl
import tempfile
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from componentbase.pki import self_signed_pem


@dataclass(frozen=True)
class SeenRequest:
    path: str
    headers: dict[str, str]  # lower-cased names
    client_subject: dict[str, str]  # the verified client certificate's CN/O, or {}


def server_context(client_ca: str | None = None) -> ssl.SSLContext:
    """A stand-in kubelet's TLS: a self-signed certificate for 127.0.0.1, and client
    certificates from `client_ca` asked for (not required)."""
    cert, key = self_signed_pem("fake-kubelet", ("127.0.0.1", "localhost"))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with tempfile.TemporaryDirectory(prefix="minik-fakekubelet-") as directory:
        cert_path, key_path = os.path.join(directory, "tls.crt"), os.path.join(directory, "tls.key")
        with open(cert_path, "wb") as f:
            f.write(cert)
        with open(key_path, "wb") as f:
            f.write(key)
        context.load_cert_chain(cert_path, key_path)
    if client_ca:
        context.load_verify_locations(client_ca)
        context.verify_mode = ssl.CERT_OPTIONAL
    return context


class FakeKubelet(ThreadingHTTPServer):
    def __init__(
        self,
        node_cores: float = 1.5,
        node_memory: int = 2048 * 1024 * 1024,
        client_ca: str | None = None,
    ) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        # The handshake happens in the handler's thread, on the first read.
        self.socket = server_context(client_ca).wrap_socket(
            self.socket, server_side=True, do_handshake_on_connect=False
        )
        self.requests: list[SeenRequest] = []
        self.node_cores = node_cores
        self.node_memory = node_memory
        self.started = time.time() - 100
        self._lock = threading.Lock()
        # (namespace, pod, container) -> (cpu seconds so far, cores now, since, memory)
        self._containers: dict[tuple[str, str, str], tuple[float, float, float, int]] = {}
        self._logs: dict[tuple[str, str, str], list[str]] = {}
        self._new_log = threading.Condition(self._lock)
        self.closing = False
        threading.Thread(target=self.serve_forever, daemon=True).start()

    def add_log_line(self, namespace: str, pod: str, container: str, line: str) -> None:
        with self._new_log:
            self._logs.setdefault((namespace, pod, container), []).append(line)
            self._new_log.notify_all()

    def log_lines(self, key: tuple[str, str, str], start: int, wait: float) -> list[str]:
        """The container's lines from `start` on, waiting up to `wait` s for one."""
        with self._new_log:
            if len(self._logs.get(key, [])) <= start and wait:
                self._new_log.wait(wait)
            return self._logs.get(key, [])[start:]

    def shutdown(self) -> None:
        self.closing = True
        super().shutdown()

    @property
    def port(self) -> int:
        return self.server_address[1]

    def set_usage(
        self, namespace: str, pod: str, container: str, cores: float, memory: int
    ) -> None:
        """From now on the container uses `cores` (its counter keeps what it had)."""
        now = time.time()
        with self._lock:
            spent, rate, since, _ = self._containers.get(
                (namespace, pod, container), (0, 0, now, 0)
            )
            self._containers[(namespace, pod, container)] = (
                spent + rate * (now - since),
                cores,
                now,
                memory,
            )

    def remove(self, namespace: str, pod: str) -> None:
        with self._lock:
            for key in [k for k in self._containers if k[:2] == (namespace, pod)]:
                del self._containers[key]

    def text(self) -> str:
        now = time.time()
        ms = int(now * 1000)
        lines = []
        with self._lock:
            for (ns, pod, c), (spent, rate, since, memory) in self._containers.items():
                labels = f'container="{c}",namespace="{ns}",pod="{pod}"'
                cpu = spent + rate * (now - since)
                lines.append(f"container_cpu_usage_seconds_total{{{labels}}} {cpu} {ms}")
                lines.append(f"container_memory_working_set_bytes{{{labels}}} {memory} {ms}")
        elapsed = now - self.started
        lines.append(f"node_cpu_usage_seconds_total {elapsed * self.node_cores} {ms}")
        lines.append(f"node_memory_working_set_bytes {self.node_memory} {ms}")
        lines.append("resource_scrape_error 0")
        return "\n".join(lines) + "\n"


class _Handler(BaseHTTPRequestHandler):
    server: FakeKubelet

    def handle(self) -> None:
        try:
            super().handle()
        except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
            return

    def _record(self) -> None:
        cert: Any = None
        if isinstance(self.connection, ssl.SSLSocket):
            cert = self.connection.getpeercert()
        subject: dict[str, str] = {}
        for rdn in (cert or {}).get("subject") or ():
            for key, value in rdn:
                subject.setdefault(key, value)
        headers = {k.lower(): v for k, v in self.headers.items()}
        with self.server._lock:
            self.server.requests.append(SeenRequest(self.path, headers, subject))

    def do_GET(self) -> None:
        self._record()
        if self.path.startswith("/containerLogs/"):
            self._logs()
            return
        if self.path != "/metrics/resource":
            self._not_found()
            return
        body = self.server.text().encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        """Recorded (a SPDY exec/attach/port-forward upgrade is a POST), then 404."""
        self._record()
        self._not_found()

    def _not_found(self) -> None:
        """404 as HTTP/1.1 with a length: what an upgrading client (WebSocket, SPDY)
        can read as a refusal."""
        body = b"404 page not found\n"
        head = (
            "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        )
        self.wfile.write(head.encode() + body)
        self.close_connection = True

    def _logs(self) -> None:
        url = urlsplit(self.path)
        parts = url.path.split("/")[2:]
        if len(parts) != 3:
            self.send_error(404)
            return
        key = (parts[0], parts[1], parts[2])
        follow = parse_qs(url.query).get("follow") == ["true"]
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()  # HTTP/1.0: the body ends when the connection closes
        sent = 0
        try:
            while True:
                lines = self.server.log_lines(key, sent, 0.2 if follow else 0)
                if lines:
                    self.wfile.write("".join(line + "\n" for line in lines).encode())
                    self.wfile.flush()
                    sent += len(lines)
                if not follow or self.server.closing:
                    return
        except (BrokenPipeError, ConnectionResetError):
            return

    def log_message(self, *args: Any) -> None:
        pass


def node_manifest(name: str, port: int, labels: dict[str, str] | None = None) -> dict[str, Any]:
    """A Ready Node whose kubelet is the fake at 127.0.0.1:`port`."""
    return {
        "metadata": {"name": name, "labels": dict(labels or {})},
        "status": {
            "addresses": [{"type": "InternalIP", "address": "127.0.0.1"}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": port}},
            "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
            "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }
