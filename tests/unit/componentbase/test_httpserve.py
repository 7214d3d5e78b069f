"""QuietServer: uvicorn without its ten wake-ups a second, still stopping at once."""

from __future__ import annotations

import asyncio
import socket
import threading
import time

import httpx
import uvicorn

from componentbase.httpserve import EmbeddedServer, bind


async def hello(scope: dict, receive: object, send: object) -> None:
    assert scope["type"] == "http"
    await send({"type": "http.response.start", "status": 200, "headers": []})  # type: ignore[operator]
    await send({"type": "http.response.body", "body": b"hi"})  # type: ignore[operator]


class CountingServer(EmbeddedServer):
    ticks = 0

    async def on_tick(self, counter: int) -> bool:
        self.ticks += 1
        return await super().on_tick(counter)


def server() -> tuple[CountingServer, int, socket.socket]:
    config = uvicorn.Config(hello, lifespan="off", log_level="warning", ws="none")
    sock = bind("127.0.0.1", 0)
    return CountingServer(config), sock.getsockname()[1], sock


async def started() -> tuple[CountingServer, int, asyncio.Future[None]]:
    """A server serving on a free loopback port, and its serve() task."""
    srv, port, sock = server()
    serving = asyncio.ensure_future(srv.serve(sockets=[sock]))
    while not srv.started:
        await asyncio.sleep(0.01)
    return srv, port, serving


def test_an_idle_server_ticks_once_a_second_and_serves_with_a_date() -> None:
    asyncio.run(_an_idle_server_ticks_once_a_second_and_serves_with_a_date())


async def _an_idle_server_ticks_once_a_second_and_serves_with_a_date() -> None:
    srv, port, serving = await started()
    async with httpx.AsyncClient() as http:
        r = await http.get(f"http://127.0.0.1:{port}/")
    assert r.text == "hi" and "date" in r.headers
    before = srv.ticks
    await asyncio.sleep(2.0)
    assert srv.ticks - before <= 3  # uvicorn's own loop: ~20
    srv.should_exit = True
    await asyncio.wait_for(serving, 2)


def test_should_exit_stops_the_server_at_once() -> None:
    asyncio.run(_should_exit_stops_the_server_at_once())


async def _should_exit_stops_the_server_at_once() -> None:
    srv, _, serving = await started()
    await asyncio.sleep(0.2)  # inside its one-second wait
    asked = time.monotonic()
    srv.should_exit = True
    await asyncio.wait_for(serving, 2)
    assert time.monotonic() - asked < 0.5


def test_should_exit_from_another_thread_stops_the_server_at_once() -> None:
    asyncio.run(_should_exit_from_another_thread_stops_the_server_at_once())


async def _should_exit_from_another_thread_stops_the_server_at_once() -> None:
    srv, _, serving = await started()
    await asyncio.sleep(0.2)
    asked = time.monotonic()
    setter = threading.Thread(target=setattr, args=(srv, "should_exit", True))
    setter.start()
    await asyncio.wait_for(serving, 2)
    setter.join()
    assert time.monotonic() - asked < 0.5


def test_should_exit_before_serving_never_serves_for_long() -> None:
    asyncio.run(_should_exit_before_serving_never_serves_for_long())


async def _should_exit_before_serving_never_serves_for_long() -> None:
    srv, _, sock = server()
    srv.should_exit = True
    began = time.monotonic()
    await asyncio.wait_for(srv.serve(sockets=[sock]), 2)
    assert time.monotonic() - began < 0.5
