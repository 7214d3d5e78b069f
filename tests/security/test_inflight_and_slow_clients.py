"""Issue 11: a flood of requests is refused early (kube-apiserver's
--max-requests-inflight / --max-mutating-requests-inflight, 429 + Retry-After), and
a client that never finishes its request headers is disconnected (slowloris).

One apiserver for this module with tiny limits (1 mutating, 2 read-only), so a
request held open mid-body fills a limit deterministically."""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from deploy.controlplane import ApiServer, Etcd, start_apiserver

CM = "/api/v1/namespaces/default/configmaps"
# Go's http.Server.ReadHeaderTimeout in Kubernetes' secure serving
# (componentbase.serving.READ_HEADER_TIMEOUT_SECONDS)
READ_HEADER_TIMEOUT_SECONDS = 32


@pytest.fixture(scope="module")
def server(etcd: Etcd, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    server = start_apiserver(
        etcd,
        Path(tmp_path_factory.mktemp("inflight")),
        ["--max-requests-inflight=2", "--max-mutating-requests-inflight=1"],
    )
    try:
        server.bind_cluster_admin("viewer")
        yield server
    finally:
        server.stop()


def viewer_token(server: ApiServer) -> str:
    """A caller outside system:masters (whom Kubernetes never refuses), bound to
    `cluster-admin`."""
    for line in server.token_file.read_text().splitlines():
        token, user = line.split(",")[:2]
        if user == "viewer":
            return token
    raise AssertionError("no viewer token")


def connect(server: ApiServer) -> ssl.SSLSocket:
    url = urlsplit(server.url)
    host, port = url.hostname or "127.0.0.1", url.port or 443
    raw = socket.create_connection((host, port), timeout=10)
    return server.ssl_context().wrap_socket(raw, server_hostname=host)


@contextmanager
def held(server: ApiServer, method: str, path: str) -> Iterator[None]:
    """A request whose body never completes, in flight until the block ends (for a
    read: a GET to an aggregated API, whose proxy reads the body before it calls)."""
    conn = connect(server)
    try:
        conn.sendall(
            f"{method} {path} HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {viewer_token(server)}\r\n"
            "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{".encode()
        )
        time.sleep(0.5)  # the server has taken it in
        yield
    finally:
        conn.close()
        time.sleep(0.3)  # the server has let it go


@pytest.fixture
def aggregated_path(server: ApiServer) -> Iterator[str]:
    """/apis/slow.example.com/v1/things, served (as far as the apiserver knows) by a
    Service elsewhere: the apiserver reads a request's body before it calls it."""
    svc = "/api/v1/namespaces/default/services"
    apiservices = "/apis/apiregistration.k8s.io/v1/apiservices"
    with server.http() as http:
        r = http.post(svc, json={"metadata": {"name": "slow"}, "spec": {"ports": [{"port": 80}]}})
        assert r.status_code in (201, 409), r.text
        spec = {
            "group": "slow.example.com",
            "version": "v1",
            "service": {"namespace": "default", "name": "slow", "port": 80},
            "groupPriorityMinimum": 100,
            "versionPriority": 10,
        }
        r = http.post(apiservices, json={"metadata": {"name": "v1.slow.example.com"}, "spec": spec})
        assert r.status_code in (201, 409), r.text
        yield "/apis/slow.example.com/v1/things"
        http.delete(f"{apiservices}/v1.slow.example.com")
        http.delete(f"{svc}/slow")


def test_mutating_requests_beyond_the_limit_get_429_with_retry_after(server) -> None:
    """Finding: nothing bounded concurrent requests (--max-mutating-requests-inflight)."""
    with server.http(viewer_token(server)) as viewer, server.http() as admin:
        with held(server, "POST", CM):
            r = viewer.post(CM, json={"metadata": {"name": "refused"}})
            assert r.status_code == 429, r.text
            assert r.headers["Retry-After"] == "1"
            status = r.json()
            assert status["kind"] == "Status"
            assert status["reason"] == "TooManyRequests"
            assert status["message"] == "Too many requests, please try again later."
            # reads have their own limit; system:masters is never refused
            assert viewer.get(CM).status_code == 200
            r = admin.post(CM, json={"metadata": {"name": "by-admin"}, "data": {}})
            assert r.status_code == 201, r.text
        r = viewer.post(CM, json={"metadata": {"name": "after"}, "data": {}})
        assert r.status_code == 201, r.text
        admin.delete(f"{CM}/by-admin")
        admin.delete(f"{CM}/after")


def test_read_only_requests_beyond_the_limit_get_429_but_watches_are_exempt(
    server, aggregated_path: str
) -> None:
    """--max-requests-inflight; long-running requests (watch) are not counted."""
    with server.http(viewer_token(server)) as viewer:
        with held(server, "GET", aggregated_path), held(server, "GET", aggregated_path):
            r = viewer.get(CM)
            assert r.status_code == 429, r.text
            assert r.headers["Retry-After"] == "1"
            with viewer.stream("GET", CM, params={"watch": "true", "timeoutSeconds": "1"}) as watch:
                assert watch.status_code == 200
        assert viewer.get(CM).status_code == 200


def test_a_connection_that_never_finishes_its_headers_is_closed(server) -> None:
    """Finding: 200 slowloris connections stayed open 40 s (uvicorn has no header
    timeout). As Go's ReadHeaderTimeout in Kubernetes' serving: closed after 32 s;
    a connection that sends nothing at all too."""
    slow, silent = connect(server), connect(server)
    began = time.monotonic()
    slow.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\n")
    deadline = began + READ_HEADER_TIMEOUT_SECONDS + 8
    closed = []
    for conn in (slow, silent):
        conn.settimeout(2)
        while time.monotonic() < deadline:
            if conn is slow:
                try:
                    slow.sendall(b"X-Slow: 1\r\n")  # a header line every 2 s
                except OSError:
                    closed.append(time.monotonic() - began)
                    break
            try:
                if conn.recv(1024) == b"":
                    closed.append(time.monotonic() - began)
                    break
            except TimeoutError:
                continue
            except (ssl.SSLError, OSError):
                closed.append(time.monotonic() - began)
                break
        conn.close()
    assert len(closed) == 2, f"still open after {deadline - began:.0f}s"
    assert all(
        READ_HEADER_TIMEOUT_SECONDS - 1 < t < READ_HEADER_TIMEOUT_SECONDS + 8 for t in closed
    )
    # a well-behaved client is unaffected
    with server.http() as http:
        assert http.get("/version").status_code == 200
