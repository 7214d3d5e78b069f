"""Run until SIGTERM/SIGINT, then stop gracefully: the work unwinds, nothing is cut."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from componentbase.run import run, run_until_signalled, stop_on_signals


def test_work_that_ends_returns_its_result():
    async def work() -> int:
        return 7

    assert run(run_until_signalled(work())) == 7


def test_work_errors_propagate():
    async def work() -> None:
        raise LookupError("no kubeconfig")

    with pytest.raises(LookupError):
        run(run_until_signalled(work()))


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_cancels_the_work_and_lets_it_unwind(sig):
    unwound: list[str] = []

    async def work() -> None:
        try:
            await asyncio.sleep(60)
        finally:
            await asyncio.sleep(0)  # a graceful stop may still await
            unwound.append("cleaned up")

    async def main() -> object:
        asyncio.get_running_loop().call_later(0.05, os.kill, os.getpid(), sig)
        return await run_until_signalled(work())

    assert run(main()) is None
    assert unwound == ["cleaned up"]


def test_work_that_stops_itself_gets_an_event():
    async def main() -> str:
        stop = stop_on_signals()
        asyncio.get_running_loop().call_later(0.05, os.kill, os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(stop.wait(), 5)
        return "stopped in order"

    assert run(main()) == "stopped in order"
