"""The ingress data path on loopback, with real sockets and small keep-alive HTTP
backends of this module (no apiserver: the route table is built by hand): routing,
keep-alive pooling, 404/503/502, a retry past a refused endpoint, X-Forwarded-*
headers, chunked bodies, an Upgrade tunnel, and TLS with SNI."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from componentbase.pki import self_signed_pem
from deploy.processes import free_port
from ingress.routing import RouteTable, build_table
from ingress.server import ProxyServer
from ingress.tlsstore import TlsStore


@dataclass
class Backend:
    """An HTTP/1.1 keep-alive server answering JSON about each request it saw."""

    name: str
    port: int = field(default_factory=free_port)
    connections: int = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode().split("\r\n")
                method, target, _ = lines[0].split(" ")
                headers = {
                    k.lower(): v.strip()
                    for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)
                }
                if headers.get("upgrade") == "echo":
                    writer.write(
                        b"HTTP/1.1 101 Switching Protocols\r\n"
                        b"Upgrade: echo\r\nConnection: Upgrade\r\n\r\n"
                    )
                    while data := await reader.read(1024):
                        writer.write(data.upper())
                    return
                body = b""
                if "content-length" in headers:
                    body = await reader.readexactly(int(headers["content-length"]))
                elif headers.get("transfer-encoding") == "chunked":
                    while True:
                        size = int((await reader.readuntil(b"\r\n")).strip(), 16)
                        body += (await reader.readexactly(size + 2))[:-2]
                        if size == 0:
                            break
                answer = json.dumps(
                    {
                        "backend": self.name,
                        "method": method,
                        "path": target,
                        "headers": headers,
                        "body": body.decode(),
                    }
                ).encode()
                if target.startswith("/chunked"):
                    writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                    writer.write(b"%x\r\n%s\r\n0\r\n\r\n" % (len(answer), answer))
                else:
                    writer.write(
                        b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(answer), answer)
                    )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


def svc(name: str) -> dict:
    return {
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"ports": [{"name": "http", "port": 80, "protocol": "TCP"}]},
    }


def eps(name: str, ports: list[int]) -> dict:
    return {
        "metadata": {"name": name, "namespace": "default"},
        "subsets": [
            {
                "addresses": [{"ip": "127.0.0.1"}],
                "ports": [{"name": "http", "port": p, "protocol": "TCP"}],
            }
            for p in ports
        ],
    }


def rule(host: str, *paths: tuple[str, str]) -> dict:
    return {
        "host": host,
        "http": {
            "paths": [
                {
                    "path": p,
                    "pathType": "Prefix",
                    "backend": {"service": {"name": s, "port": {"number": 80}}},
                }
                for p, s in paths
            ]
        },
    }


@dataclass
class Rig:
    http_url: str
    https_port: int
    api: Backend
    web: Backend
    certs: dict[str, bytes]
    tables: list[RouteTable]  # the proxy routes by the last one
    proxy: ProxyServer


@pytest.fixture(scope="module", params=["asyncio", "uvloop"])
def rig(request: pytest.FixtureRequest) -> Iterator[Rig]:
    """The proxy on both event loops: `python -m ingress` runs on uvloop, whose
    transports are not asyncio's classes."""
    if request.param == "uvloop":
        uvloop = pytest.importorskip("uvloop")
        loop = uvloop.new_event_loop()
    else:
        loop = asyncio.new_event_loop()
    api, web = Backend("api"), Backend("web")
    refused = free_port()  # nothing listens here: the retry goes past it
    ingress = {
        "metadata": {
            "name": "demo",
            "namespace": "default",
            "creationTimestamp": "2026-01-01T00:00:00Z",
        },
        "spec": {
            "rules": [
                rule("demo.local", ("/api", "api"), ("/web", "web"), ("/empty", "empty")),
                rule("*.wild.local", ("/", "web")),
            ],
            "tls": [
                {"hosts": ["secure.local"], "secretName": "secure"},
                {"hosts": ["*.wild.local"], "secretName": "wild"},
            ],
        },
    }
    services = {f"default/{n}": svc(n) for n in ("api", "web", "empty")}
    endpoints = {
        "default/api": eps("api", [refused, api.port]),
        "default/web": eps("web", [web.port]),
        "default/empty": eps("empty", []),
    }
    ingress["spec"]["rules"].append(rule("secure.local", ("/", "api")))
    table = build_table([ingress], services, endpoints)
    certs: dict[str, bytes] = {}
    secrets = {}
    for name, host in (("secure", "secure.local"), ("wild", "*.wild.local")):
        cert, key = self_signed_pem(host, (host,))
        certs[host] = cert
        secrets[f"default/{name}"] = {
            "metadata": {"name": name, "namespace": "default", "resourceVersion": "1"},
            "data": {
                "tls.crt": base64.b64encode(cert).decode(),
                "tls.key": base64.b64encode(key).decode(),
            },
        }
    tls = TlsStore()
    tls.update([ingress], secrets)
    tables = [table]
    proxy = ProxyServer(lambda: tables[-1])
    http_port, https_port = free_port(), free_port()

    servers: list[asyncio.AbstractServer] = []

    async def start() -> None:
        for b in (api, web):
            servers.append(await asyncio.start_server(b.handle, "127.0.0.1", b.port))
        await proxy.listen("127.0.0.1", http_port)
        await proxy.listen("127.0.0.1", https_port, tls.server_context)

    async def stop() -> None:
        await proxy.close()
        for server in servers:
            server.close()
        for task in asyncio.all_tasks() - {asyncio.current_task()}:
            task.cancel()
        await asyncio.sleep(0.05)

    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    yield Rig(f"http://127.0.0.1:{http_port}", https_port, api, web, certs, tables, proxy)
    asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    loop.close()


def test_host_and_path_routing_with_forwarded_headers(rig: Rig) -> None:
    with httpx.Client(base_url=rig.http_url, headers={"Host": "demo.local"}, timeout=5) as c:
        api = c.get("/api/items?x=1", headers={"X-Forwarded-For": "6.6.6.6"}).json()
        assert api["backend"] == "api" and api["path"] == "/api/items?x=1"
        assert api["headers"]["x-forwarded-for"] == "127.0.0.1"  # not trusted from clients
        assert api["headers"]["x-forwarded-proto"] == "http"
        assert api["headers"]["x-forwarded-host"] == "demo.local"
        assert api["headers"]["host"] == "demo.local"
        assert c.get("/web").json()["backend"] == "web"
        assert c.get("/nothing").status_code == 404
        assert c.get("/empty").status_code == 503
        assert c.get("/", headers={"Host": "a.wild.local"}).json()["backend"] == "web"
        assert c.get("/", headers={"Host": "a.b.wild.local"}).status_code == 404


def test_keep_alive_pools_backend_connections_past_a_refused_endpoint(rig: Rig) -> None:
    before = rig.api.connections
    with httpx.Client(base_url=rig.http_url, headers={"Host": "demo.local"}, timeout=5) as c:
        for i in range(20):  # round robin: every other request meets the refused endpoint
            assert c.get(f"/api/{i}").json()["backend"] == "api"
    assert rig.api.connections - before <= 2


def test_a_repeated_request_follows_a_new_route_table(rig: Rig) -> None:
    """The same head again on a keep-alive connection is routed from memory, but only
    while the route table is the one it was routed by."""
    head = b"GET /api/again HTTP/1.1\r\nHost: demo.local\r\n\r\n"
    port = int(rig.http_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        reader = conn.makefile("rb")

        def ask() -> dict:
            conn.sendall(head)
            status = reader.readline()
            assert status.startswith(b"HTTP/1.1 200"), status
            length = 0
            while (line := reader.readline()) != b"\r\n":
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            return json.loads(reader.read(length))

        for _ in range(3):
            answer = ask()
            assert answer["backend"] == "api" and answer["path"] == "/api/again"
            assert answer["headers"]["x-forwarded-host"] == "demo.local"
        moved = {"metadata": {"name": "moved", "namespace": "default"}, "spec": {"rules": [
            rule("demo.local", ("/api", "web"))]}}  # fmt: skip
        services = {"default/web": svc("web")}
        rig.tables.append(
            build_table([moved], services, {"default/web": eps("web", [rig.web.port])})
        )
        try:
            assert ask()["backend"] == "web"
            assert ask()["backend"] == "web"
        finally:
            rig.tables.pop()
        assert ask()["backend"] == "api"


def test_every_answer_is_counted_once(rig: Rig) -> None:
    """/metrics' request counter sees each answer, whichever path relayed it: a whole
    answer in one segment (the backend writes head and body at once), a chunked one,
    the proxy's own 404 and 503."""
    counts = rig.proxy.requests.counts
    before = dict(counts)

    def added(namespace: str, service: str, status: int) -> int:
        key = (namespace, service, "GET", status)
        return counts[key] - before.get(key, 0)

    with httpx.Client(base_url=rig.http_url, headers={"Host": "demo.local"}, timeout=5) as c:
        for i in range(3):
            assert c.get(f"/web/{i}").status_code == 200  # one segment: the whole path
        assert c.get("/web/chunked").status_code == 200
        assert c.get("/nothing").status_code == 404
        assert c.get("/empty").status_code == 503
    assert added("default", "web", 200) == 4
    assert added("default", "empty", 503) == 1
    assert added("", "", 404) == 1  # no rule matched: no Service


def test_request_and_response_bodies(rig: Rig) -> None:
    with httpx.Client(base_url=rig.http_url, headers={"Host": "demo.local"}, timeout=5) as c:
        assert c.post("/api/post", content=b"hello").json()["body"] == "hello"
        for _ in range(2):  # round robin: once the refused endpoint comes first
            streamed = c.post("/api/stream", content=iter([b"a" * 10, b"b" * 5]))
            assert streamed.json()["body"] == "a" * 10 + "b" * 5
        assert c.get("/api/chunked").json()["path"] == "/api/chunked"


def test_upgrade_is_tunnelled(rig: Rig) -> None:
    port = int(rig.http_url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(
            b"GET /api/ws HTTP/1.1\r\nHost: demo.local\r\n"
            b"Connection: Upgrade\r\nUpgrade: echo\r\n\r\n"
        )
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(1024)
        assert head.startswith(b"HTTP/1.1 101")
        s.sendall(b"ping")
        assert s.recv(1024) == b"PING"


def test_tls_picks_the_certificate_by_sni(rig: Rig) -> None:
    for host, sni in (("secure.local", "secure.local"), ("*.wild.local", "x.wild.local")):
        context = ssl.create_default_context(cadata=rig.certs[host].decode())
        with (
            socket.create_connection(("127.0.0.1", rig.https_port), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname=sni) as s,
        ):
            s.sendall(f"GET /tls HTTP/1.1\r\nHost: {sni}\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while chunk := s.recv(4096):
                data += chunk
        body = json.loads(data.split(b"\r\n\r\n", 1)[1])
        assert body["headers"]["x-forwarded-proto"] == "https"
    unknown = ssl.create_default_context(cadata=rig.certs["secure.local"].decode())
    with (
        socket.create_connection(("127.0.0.1", rig.https_port), timeout=5) as raw,
        pytest.raises(ssl.SSLCertVerificationError),
    ):
        unknown.wrap_socket(raw, server_hostname="other.local")


def test_upgrade_and_streamed_bodies_over_tls(rig: Rig) -> None:
    """The fast path hands a TLS connection to the streams code too."""
    context = ssl.create_default_context(cadata=rig.certs["secure.local"].decode())
    with (
        socket.create_connection(("127.0.0.1", rig.https_port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname="secure.local") as s,
    ):
        s.sendall(
            b"POST /chunk HTTP/1.1\r\nHost: secure.local\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3\r\nabc\r\n0\r\n\r\n"
        )
        data = b""
        while b"}" not in data:
            data += s.recv(4096)
        assert json.loads(data.split(b"\r\n\r\n", 1)[1])["body"] == "abc"
        s.sendall(
            b"GET /ws HTTP/1.1\r\nHost: secure.local\r\n"
            b"Connection: Upgrade\r\nUpgrade: echo\r\n\r\n"
        )
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(1024)
        assert head.startswith(b"HTTP/1.1 101")
        s.sendall(b"tls")
        assert s.recv(1024) == b"TLS"
