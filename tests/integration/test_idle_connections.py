"""The apiserver keeps an idle keep-alive connection as long as Kubernetes' does (90 s).

With uvicorn's default (5 s), `kubectl drain` failed now and then: it POSTs an eviction
every 5 s while a budget refuses it, on the connection it kept, and Go's client does not
retry a POST that meets a connection the server closed a moment before (an EOF)."""

from __future__ import annotations

import socket
import ssl
import time
from urllib.parse import urlsplit

IDLE_SECONDS = 6.0  # longer than uvicorn's default keep-alive timeout of 5 s


def _request(conn: ssl.SSLSocket, host: str, token: str) -> bytes:
    """One GET /version on `conn`, read to the end of its body; its status line."""
    conn.sendall(
        f"GET /version HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\r\n".encode()
    )
    data = b""
    while b"\r\n\r\n" not in data:
        data += _receive(conn)
    head, body = data.split(b"\r\n\r\n", 1)
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += _receive(conn)
    return head.split(b"\r\n", 1)[0]


def _receive(conn: ssl.SSLSocket) -> bytes:
    chunk = conn.recv(65536)
    assert chunk, "the apiserver closed the connection instead of answering"
    return chunk


def test_an_idle_connection_outlives_a_kubectl_retry_interval(apiserver) -> None:
    url = urlsplit(apiserver.url)
    host, port = url.hostname or "127.0.0.1", url.port or 443
    raw = socket.create_connection((host, port), timeout=10)
    with apiserver.ssl_context().wrap_socket(raw, server_hostname=host) as conn:
        assert _request(conn, host, apiserver.token) == b"HTTP/1.1 200 OK"
        time.sleep(IDLE_SECONDS)  # what is measured is the server's idle timeout
        assert _request(conn, host, apiserver.token) == b"HTTP/1.1 200 OK"
