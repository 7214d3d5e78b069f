"""A client's CPU per request beside its open watches (issue 18 §3: client/pool.py).

    .venv/bin/python bench/clientpool.py [--watches 40] [--requests 2000] [--rounds 3]

One apiserver on its own etcd. A client holds `--watches` watches open (of a namespace
nothing changes in, as a controller manager's informers wait: 37 of them in `minik up`'s)
and creates `--requests` pods, 16 in flight, through the same connection pool; printed:
the client process's CPU per create. The baseline is the same client over httpcore's
own pool (its assignment pass is quadratic in the pool's connections), rounds
interleaved, in the same run; then the same without watches.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
from pathlib import Path
from typing import Any

import httpcore

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.resources import NAMESPACES, PODS
from client.kubeconfig import load
from client.pool import LinearPool
from client.rest import AsyncClient
from deploy.controlplane import etcd_and_apiserver

CONCURRENCY = 16
QUIET_NAMESPACE = "quiet"


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def use_stock_pool(api: AsyncClient) -> None:
    """The baseline: the client's transport over httpcore's own pool, same settings."""
    transport: Any = api._http._transport
    linear = transport._pool
    assert isinstance(linear, LinearPool)
    transport._pool = httpcore.AsyncConnectionPool(
        ssl_context=linear._ssl_context,
        max_connections=linear._max_connections,
        max_keepalive_connections=linear._max_keepalive_connections,
        keepalive_expiry=linear._keepalive_expiry,
        network_backend=linear._network_backend,
    )


def pod(name: str) -> dict:
    return {
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]},
    }


async def one_round(kubeconfig: str, stock: bool, watches: int, requests: int, tag: str) -> float:
    """The client's CPU ms per create while `watches` watches stay open."""
    async with AsyncClient(load(kubeconfig)) as api:
        if stock:
            use_stock_pool(api)
        streams = [api.watch(PODS, QUIET_NAMESPACE) for _ in range(watches)]
        tasks = [asyncio.create_task(anext(s, None)) for s in streams]
        await api.list(PODS, QUIET_NAMESPACE)  # the watches' requests are under way
        while len(api._http._transport._pool.connections) < watches:  # type: ignore[attr-defined]
            await asyncio.sleep(0.05)
        gate = asyncio.Semaphore(CONCURRENCY)

        async def create(i: int) -> None:
            async with gate:
                await api.create(PODS, pod(f"{tag}-{i}"), "default")

        before = cpu_seconds()
        await asyncio.gather(*(create(i) for i in range(requests)))
        spent = cpu_seconds() - before
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)  # each watch's stream closes
        return 1e3 * spent / requests


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--watches", type=int, default=40)
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    results: dict[tuple[str, int], list[float]] = {}
    with etcd_and_apiserver("minik-bench-clientpool-") as server:
        kubeconfig = str(server.kubeconfig)

        async def setup() -> None:
            async with AsyncClient(load(kubeconfig)) as api:
                await api.create(NAMESPACES, {"metadata": {"name": QUIET_NAMESPACE}})

        asyncio.run(setup())
        n = 0
        for r in range(args.rounds):
            for watches in (args.watches, 0):
                for name, stock in (("httpcore's pool", True), ("client/pool.py", False)):
                    n += 1
                    ms = asyncio.run(one_round(kubeconfig, stock, watches, args.requests, f"r{n}"))
                    results.setdefault((name, watches), []).append(ms)
                    print(
                        f"round {r + 1}: {name}, {watches} watches open: "
                        f"{ms:.3f} ms client CPU per create",
                        flush=True,
                    )
    print(f"\nmedians over {args.rounds} rounds, {args.requests} creates, {CONCURRENCY} in flight:")
    for watches in (args.watches, 0):
        base = statistics.median(results[("httpcore's pool", watches)])
        linear = statistics.median(results[("client/pool.py", watches)])
        print(
            f"  {watches:3d} watches open: httpcore's pool (baseline) {base:.3f} ms, "
            f"client/pool.py {linear:.3f} ms per create: ratio {linear / base:.2f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
