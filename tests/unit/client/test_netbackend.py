"""AsyncClient's connections over asyncio's transports (client/netbackend.py), against
a small HTTP/1.1 server in the test's own event loop."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import pytest

from api.resources import lookup
from client.errors import ConnectionFailed
from client.netbackend import HIGH_WATER, AsyncioBackend
from client.rest import AsyncClient
from tests.support.wait import eventually_async

PODS = lookup("pods")
Answer = Callable[[bytes, asyncio.StreamWriter], Awaitable[bool]]  # False: close after


def response(body: bytes, status: str = "200 OK") -> bytes:
    head = f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n"
    return f"{head}Content-Length: {len(body)}\r\n\r\n".encode() + body


async def serve(answer: Answer) -> tuple[asyncio.Server, list[int]]:
    """A keep-alive server; the list counts its connections."""
    connections: list[int] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(1)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = await reader.readexactly(length) if length else b""
                if not await answer(body, writer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, connections


def client_for(server: asyncio.Server, **kwargs) -> AsyncClient:
    port = server.sockets[0].getsockname()[1]
    api = AsyncClient(server=f"http://127.0.0.1:{port}", token="t", **kwargs)
    pool = api._http._transport._pool  # type: ignore[attr-defined]
    assert isinstance(pool._network_backend, AsyncioBackend)  # the backend under test
    return api


def test_requests_and_answers_round_trip_on_kept_alive_connections():
    async def echo(body: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(response(json.dumps({"got": json.loads(body)}).encode(), "201 Created"))
        return True

    async def go() -> None:
        server, connections = await serve(echo)
        async with server, client_for(server) as api:
            for i in range(5):
                answer = await api.create(PODS, {"metadata": {"name": f"p{i}"}}, "ns")
                assert answer == {"got": {"metadata": {"name": f"p{i}"}}}
        assert len(connections) == 1

    asyncio.run(go())


def test_a_connection_the_server_closed_while_idle_is_not_reused():
    async def once(body: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(response(b"{}"))
        await writer.drain()
        return False  # close after each answer, as an idle timeout would

    async def go() -> None:
        server, connections = await serve(once)
        async with server, client_for(server) as api:
            pool = api._http._transport._pool  # type: ignore[attr-defined]
            for _ in range(3):
                assert await api.get(PODS, "p", "ns") == {}
                # the server's EOF reaches the idle connection: "readable", so expired
                await eventually_async(lambda: all(c.has_expired() for c in pool.connections))
        assert len(connections) == 3

    asyncio.run(go())


def test_an_answer_larger_than_the_read_buffer_arrives_whole():
    count = 3 * HIGH_WATER // 200
    items = [{"metadata": {"name": f"p{i}", "pad": "x" * 200}} for i in range(count)]
    big = json.dumps({"kind": "PodList", "items": items}).encode()
    assert len(big) > 2 * HIGH_WATER

    async def answer(body: bytes, writer: asyncio.StreamWriter) -> bool:
        writer.write(response(big))
        await writer.drain()
        return True

    async def go() -> None:
        server, _ = await serve(answer)
        async with server, client_for(server) as api:
            listed = await api.list(PODS, "ns")
            assert len(listed["items"]) == len(items)

    asyncio.run(go())


def test_a_silent_server_is_a_read_timeout():
    async def go() -> None:
        release = asyncio.Event()

        async def silent(body: bytes, writer: asyncio.StreamWriter) -> bool:
            await release.wait()
            return False

        server, _ = await serve(silent)
        async with server, client_for(server, timeout=0.05) as api:
            with pytest.raises(ConnectionFailed, match="timed out reading"):
                await api.get(PODS, "p", "ns")
            release.set()

    asyncio.run(go())
