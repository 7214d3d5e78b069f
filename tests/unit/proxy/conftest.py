"""The data path tests run under both the standard asyncio loop and uvloop."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
import uvloop

LOOPS = {"asyncio": asyncio.run, "uvloop": uvloop.run}


@pytest.fixture(params=sorted(LOOPS))
def run(request) -> Callable[[Awaitable[None]], None]:
    runner = LOOPS[request.param]

    def go(coro: Awaitable[None]) -> None:
        async def bounded() -> None:
            async with asyncio.timeout(20):
                await coro

        runner(bounded())

    return go
