"""client/pool.py's assignment pass: against a small HTTP/1.1 server in the test's own
event loop, and (which connection a waiting request gets) on stand-in connections."""

from __future__ import annotations

import asyncio
import contextlib

import httpcore
from httpcore._async.connection_pool import AsyncPoolRequest

from client.netbackend import AsyncioBackend
from client.pool import LinearPool
from tests.unit.client.test_netbackend import response, serve


def url(server: asyncio.Server, path: str) -> str:
    return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}{path}"


def test_many_concurrent_requests_share_the_pools_few_connections():
    async def answer(body: bytes, writer: asyncio.StreamWriter) -> bool:
        await asyncio.sleep(0.001)
        writer.write(response(b"{}"))
        return True

    async def go() -> None:
        server, connections = await serve(answer)
        async with server, LinearPool(max_connections=4, network_backend=AsyncioBackend()) as pool:
            answers = await asyncio.gather(
                *(pool.request("GET", url(server, f"/{i}")) for i in range(40))
            )
            assert [a.status for a in answers] == [200] * 40
            assert len(pool.connections) == 4
        assert len(connections) == 4

    asyncio.run(go())


def test_surplus_idle_connections_are_counted_among_the_idle_ones_only():
    """Three streams held open (as watches are) and four finished requests, two kept
    alive: two idle connections stay (httpcore's own pass counted the busy streams too
    and closed every idle one)."""
    release = asyncio.Event()

    async def answer(body: bytes, writer: asyncio.StreamWriter) -> bool:
        if body == b"stream":
            head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            writer.write(head.encode() + b"1\r\nx\r\n")
            await release.wait()
            writer.write(b"0\r\n\r\n")
            return True
        await asyncio.sleep(0.01)
        writer.write(response(b"{}"))
        return True

    async def go() -> None:
        server, _ = await serve(answer)
        backend = AsyncioBackend()
        async with (
            server,
            LinearPool(
                max_connections=10, max_keepalive_connections=2, network_backend=backend
            ) as pool,
            contextlib.AsyncExitStack() as streams,
        ):
            for _ in range(3):
                watch = pool.stream("POST", url(server, "/watch"), content=b"stream")
                await streams.enter_async_context(watch)
            await asyncio.gather(*(pool.request("GET", url(server, "/q")) for _ in range(4)))
            idle = [c for c in pool.connections if c.is_idle()]
            assert (len(pool.connections), len(idle)) == (5, 2)
            release.set()

    asyncio.run(go())


class StandIn:
    """A connection's state as the pass reads it."""

    def __init__(self, idle: bool = True) -> None:
        self.idle = idle

    def is_closed(self) -> bool:
        return False

    def has_expired(self) -> bool:
        return False

    def is_idle(self) -> bool:
        return self.idle

    def is_available(self) -> bool:
        return self.idle

    def can_handle_request(self, origin: httpcore.Origin) -> bool:
        return True


class StandInPool(LinearPool):
    def create_connection(self, origin: httpcore.Origin) -> StandIn:  # type: ignore[override]
        return StandIn(idle=False)  # connecting


def waiting(n: int) -> list[AsyncPoolRequest]:
    return [AsyncPoolRequest(httpcore.Request("GET", "http://api.test/")) for _ in range(n)]


def assign(pool: LinearPool) -> list:
    """One pass, in an event loop (a request's "assigned" event needs one)."""

    async def one_pass() -> list:
        return pool._assign_requests_to_connections()

    return asyncio.run(one_pass())


def test_an_idle_connection_goes_to_one_waiting_request_and_the_next_gets_a_new_one():
    pool = StandInPool(max_connections=10)
    idle = StandIn()
    pool._connections = [idle]
    pool._requests = waiting(2)
    assert assign(pool) == []
    first, second = (r.connection for r in pool._requests)
    assert first is idle
    assert second is not idle and second in pool._connections


def test_a_connection_promised_to_a_request_is_not_closed_to_make_room():
    pool = StandInPool(max_connections=1)
    idle = StandIn()
    pool._connections = [idle]
    pool._requests = waiting(2)
    assign(pool)  # the first gets it; the second waits
    assert [r.connection for r in pool._requests] == [idle, None]
    assert assign(pool) == []  # a pass before the first starts
    assert pool._connections == [idle]
    assert pool._requests[1].connection is None


def test_a_full_pool_closes_an_idle_connection_for_a_waiting_request():
    pool = StandInPool(max_connections=2)
    busy, idle = StandIn(idle=False), StandIn()
    pool._connections = [busy, idle]
    ahead, behind = waiting(2)
    ahead.connection = busy  # started on it
    pool._requests = [ahead, behind]
    idle.can_handle_request = lambda origin: False  # type: ignore[method-assign]
    assert assign(pool) == [idle]
    assert behind.connection is not None and behind.connection not in (busy, idle)
    assert pool._connections == [busy, behind.connection]
