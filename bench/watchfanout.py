"""Watch fan-out: what delivering each change to many watchers costs (issue 18 §2, §3).

    .venv/bin/python bench/watchfanout.py [--watchers 20] [--pods 2000] [--rounds 2]
                                          [--compare COMMIT]

One apiserver on its own etcd; `--watchers` watches of every pod in a namespace, all in
one client process (as a controller manager's informers share one); another process
creates `--pods` pods, 16 in flight. Printed per round: the apiserver's CPU per create
(its share of delivering the change to every watcher included), the watchers' CPU per
event received, and the time until every watcher has seen every pod. The baseline is
the same figures with `--watchers 0` (the create alone) in the same run, and with
`--compare` an older commit's apiserver (bench/oldtree.py), rounds interleaved.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.resources import PODS
from bench import oldtree
from bench.loadgen import process_cpu_seconds
from client.kubeconfig import load
from client.rest import AsyncClient
from componentbase.run import run
from deploy.controlplane import (
    ApiServer,
    make_workdir,
    remove_workdir,
    start_apiserver,
    start_etcd,
)

CONCURRENCY = 16


def pod(i: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"p{i}", "labels": {"app": "fanout"}},
        "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]},
    }


def watch_all(kubeconfig: str, watchers: int, pods: int, ready: Any, out: Any) -> None:
    """`watchers` watches in this process until each has seen `pods` pods; puts the
    process's CPU seconds from `ready` on."""

    async def main() -> None:
        async with AsyncClient(load(kubeconfig)) as api:

            async def one() -> None:
                seen = 0
                async for _kind, _obj in api.watch(PODS, "default", timeout_seconds=300):
                    seen += 1
                    if seen == pods:
                        return

            tasks = [asyncio.create_task(one()) for _ in range(watchers)]
            await asyncio.sleep(1.0)  # every watch open
            start = time.process_time()
            ready.set()
            await asyncio.gather(*tasks)
            out.put(time.process_time() - start)

    run(main())


async def create_all(kubeconfig: str, pods: int) -> None:
    async with AsyncClient(load(kubeconfig)) as api:
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(i: int) -> None:
            async with gate:
                await api.create(PODS, pod(i), "default")

        await asyncio.gather(*(one(i) for i in range(pods)))


def measure(server: ApiServer, watchers: int, pods: int) -> dict[str, float]:
    kubeconfig = str(server.kubeconfig)
    pid = server.running().pid
    ready = mp.Event()
    out: mp.Queue[float] = mp.Queue()
    proc = None
    if watchers:
        proc = mp.Process(target=watch_all, args=(kubeconfig, watchers, pods, ready, out))
        proc.start()
        if not ready.wait(60):
            raise RuntimeError("the watchers did not start")
    api_cpu, wall = process_cpu_seconds(pid), time.perf_counter()
    asyncio.run(create_all(kubeconfig, pods))
    watcher_cpu = 0.0
    if proc is not None:
        watcher_cpu = out.get(timeout=300)
        proc.join(30)
    return {
        "create_ms": 1e3 * (process_cpu_seconds(pid) - api_cpu) / pods,
        "event_us": 1e6 * watcher_cpu / (pods * watchers) if watchers else 0.0,
        "seconds": time.perf_counter() - wall,
    }


def one_round(tree: Path | None, watchers: int, pods: int) -> dict[str, float]:
    """A fresh etcd and apiserver (this tree's, or `tree`'s) for one measurement."""
    workdir = make_workdir("minik-bench-fanout-")
    etcd = start_etcd(workdir)
    try:
        if tree is None:
            server = start_apiserver(etcd, workdir / "apiserver")
        else:
            # as start_apiserver runs this tree's: no controller makes ServiceAccounts
            extra = ["--authorization-mode=Node,RBAC", "--disable-admission-plugins=ServiceAccount"]
            server = oldtree.start_tree_apiserver(etcd, workdir / "apiserver", tree, extra)
        try:
            return measure(server, watchers, pods)
        finally:
            server.stop()
    finally:
        etcd.stop()
        remove_workdir(workdir)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--watchers", type=int, default=20)
    p.add_argument("--pods", type=int, default=2000)
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--compare", help="an older commit whose apiserver runs beside this one")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="minik-bench-fanout-tree-") as tmp:
        trees: dict[str, Path | None] = {"this": None}
        if args.compare:
            trees = {args.compare[:10]: Path(tmp) / "before", "this": None}
            oldtree.export_tree(args.compare, Path(tmp) / "before")
        results: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
        alone: list[dict[str, float]] = []
        for r in range(args.rounds):
            alone.append(one_round(None, 0, args.pods))
            print(f"round {r + 1}: no watcher: {alone[-1]['create_ms']:.2f} ms per create")
            for name, tree in trees.items():
                got = one_round(tree, args.watchers, args.pods)
                results[name].append(got)
                print(
                    f"round {r + 1}: {name}: apiserver {got['create_ms']:.2f} ms CPU per create, "
                    f"watchers {got['event_us']:.0f} us per event, all seen in "
                    f"{got['seconds']:.1f} s",
                    flush=True,
                )
    print(f"\nmedians, {args.watchers} watchers x {args.pods} pods:")
    print(
        f"  no watcher (baseline): {statistics.median(a['create_ms'] for a in alone):.2f} ms/create"
    )
    for name, rounds in results.items():
        print(
            f"  {name}: {statistics.median(x['create_ms'] for x in rounds):.2f} ms/create, "
            f"{statistics.median(x['event_us'] for x in rounds):.0f} us/event, "
            f"{statistics.median(x['seconds'] for x in rounds):.1f} s"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
