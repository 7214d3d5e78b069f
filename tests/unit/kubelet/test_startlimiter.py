"""The start limiter: containers of pods whose sandbox is up overtake sandboxes."""

from __future__ import annotations

import asyncio

from kubelet.startlimiter import CONTAINER, SANDBOX, PriorityLimiter


def test_priority_limiter_lets_containers_overtake_sandboxes() -> None:
    async def scenario() -> list[str]:
        limiter = PriorityLimiter(1)
        order: list[str] = []
        gate = asyncio.Event()

        async def job(name: str, priority: int) -> None:
            async with limiter.slot(priority):
                order.append(name)
                if name == "first":
                    await gate.wait()

        first = asyncio.create_task(job("first", SANDBOX))
        await asyncio.sleep(0)
        waiting = [asyncio.create_task(job(f"sandbox-{i}", SANDBOX)) for i in range(3)]
        await asyncio.sleep(0)
        waiting.append(asyncio.create_task(job("container", CONTAINER)))
        await asyncio.sleep(0)
        gate.set()
        await asyncio.gather(first, *waiting)
        assert limiter.in_use == 0
        return order

    assert asyncio.run(scenario()) == ["first", "container", "sandbox-0", "sandbox-1", "sandbox-2"]


def test_priority_limiter_survives_cancellation() -> None:
    async def scenario() -> int:
        limiter = PriorityLimiter(1)
        await limiter.acquire(SANDBOX)
        waiter = asyncio.create_task(limiter.acquire(SANDBOX))
        await asyncio.sleep(0)
        waiter.cancel()
        await asyncio.sleep(0)
        limiter.release()
        await limiter.acquire(CONTAINER)  # the cancelled waiter did not keep the slot
        return limiter.in_use

    assert asyncio.run(scenario()) == 1
