"""Small helpers the benchmarks share."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def bounded(n: int, concurrency: int, fn: Callable[[int], Awaitable[object]]) -> float:
    """Run fn(i) for i in range(n) with `concurrency` workers; seconds taken."""
    counter = iter(range(n))

    async def worker() -> None:
        for i in counter:
            await fn(i)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start


def web_pod(name: str) -> dict:
    """The pod bench/apiserver.py and its capacity mode create: one busybox httpd
    container with a port, an env var and two labels (a typical small pod)."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "bench", "tier": "web"}},
        "spec": {
            "containers": [
                {
                    "name": "web",
                    "image": "busybox:1.36",
                    "command": ["httpd", "-f", "-p", "80"],
                    "ports": [{"containerPort": 80}],
                    "env": [{"name": "MODE", "value": "bench"}],
                }
            ]
        },
    }
