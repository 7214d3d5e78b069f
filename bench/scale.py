"""A kubemark-style scale curve (issue 18, part 3): one control plane, hollow nodes
grown in steps (100, 500, 1,000 by default) with 10 pods per node at each step,
created through the real apiserver and bound by the real scheduler.

Everything runs on this machine as processes: etcd, the apiserver, the scheduler,
the controller manager (its node lifecycle controller marks a node NotReady when its
Lease goes stale, so "leases keep up" is checked by the same code as in a cluster)
and hollow nodes (`python -m kubelet.hollow --watch-pods`, many nodes per process, one
process per step's new nodes; each node watches its pods as a kubelet does, so the
apiserver carries 1,000 kubelets' watches at 1,000 nodes; `--no-hollow-watch` leaves
them out). Pods bound to hollow nodes stay Pending: nothing runs them.

At each size, for the step's new pods (the cluster keeps the earlier ones, so the
cluster holds 10 pods per node each time it is measured):

- mutating-call latency: the pod creates' p50/p99 as the client saw them
  (Kubernetes' SLO: p99 <= 1 s);
- watch delivery: from a create's response to that pod's ADDED event on a watch
  opened before the step (p50/p99);
- scheduler pods/s: the step's pods are created with the scheduler stopped
  (SIGSTOP), then it is let go and times its binding of that backlog, so the figure
  is the scheduler's, not this client's create rate (target >= 300 at 1,000 nodes);
- LIST of every pod in the cluster, unpaginated (SLO: <= 30 s; aim <= 3 s at 10,000),
  and the same in kubectl's pages of 500 ("pages s");
- RSS of etcd, the apiserver, the scheduler, the controller manager and the hollow
  nodes' processes; NotReady nodes seen during the step (target: none);
- CPU ms per pod bound of the scheduler, the apiserver and etcd while the backlog is
  bound (who is saturated: 1,000 ms/s is one core), and with `--profile DIR` py-spy
  profiles of the scheduler and the apiserver over that window (bench/pyspyprof.py).

Then the growth from the first size to the last, per figure, beside the growth of
the cluster itself: "roughly linear or better" means a figure per pod (or per node)
does not grow with the cluster.

Run (under the e2e lock; it takes a few minutes at the default sizes):
    .venv/bin/python bench/scale.py [--sizes 100,500,1000] [--pods-per-node 10]
        [--profile DIR] [--no-hollow-watch]"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.resources import NODES, PODS
from bench import pyspyprof
from bench.common import pct
from bench.loadgen import cpu_busy_seconds, process_cpu_seconds
from bench.scheduler import (
    namespace,
    node_ready,
    pod,
    start_hollow_nodes,
    wait_nodes_registered,
    wait_ready,
)
from bench.upcluster import rss_mib
from client.kubeconfig import load
from client.rest import ALL_NAMESPACES, AsyncClient
from deploy import processes
from deploy.controlplane import make_workdir, remove_workdir, start_apiserver, start_etcd

KUBECTL_CHUNK = 500  # kubectl get's --chunk-size: its LISTs come in pages of this
CONCURRENCY = 8  # the bench's creates in flight, as bench/scheduler.py


@dataclass
class Step:
    nodes: int
    pods: int  # in the cluster once the step is done
    create_ms: list[float] = field(default_factory=list)
    delivery_ms: list[float] = field(default_factory=list)
    scheduled_per_s: float = 0.0
    list_s: float = 0.0
    paged_list_s: float = 0.0  # the same in kubectl's pages of 500
    rss_mib: dict[str, float] = field(default_factory=dict)
    not_ready: set[str] = field(default_factory=set)
    bind_cpu_ms: dict[str, float] = field(default_factory=dict)  # per pod bound
    machine_busy: float = 0.0  # cores busy (every process) while the backlog was bound


async def watch_nodes_not_ready(api: AsyncClient, rv: str, into: set[str]) -> None:
    """Every node seen not Ready from `rv` on (the node lifecycle controller's verdict)."""
    while True:
        async for kind, node in api.watch(NODES, resource_version=rv, timeout_seconds=300):
            rv = node["metadata"]["resourceVersion"]
            if kind != "DELETED" and not node_ready(node):
                into.add(node["metadata"]["name"])


async def create_and_bind(
    api: AsyncClient,
    ns: str,
    count: int,
    step: Step,
    pids: dict[str, int],
    profile: Path | None = None,
) -> None:
    """Create `count` pods (CONCURRENCY in flight) with the scheduler stopped (SIGSTOP),
    while a watch, opened first, records each one's ADDED delivery; then let the
    scheduler go (SIGCONT) and time its binding of the whole backlog, as the
    scheduler's own throughput (not bounded by this client's create rate), with the
    CPU each of `pids` spent meanwhile (and py-spy profiles into `profile`)."""
    scheduler = pids["scheduler"]
    await namespace(api, ns)
    names = [f"p-{i}" for i in range(count)]
    created: dict[str, float] = {}
    added: dict[str, float] = {}
    bound: dict[str, float] = {}
    rv = (await api.list(PODS, ns, limit=1))["metadata"]["resourceVersion"]
    all_bound = asyncio.Event()

    async def watch() -> None:
        async for kind, obj in api.watch(PODS, ns, resource_version=rv, timeout_seconds=900):
            name, now = obj["metadata"]["name"], time.perf_counter()
            if kind == "ADDED":
                added.setdefault(name, now)
            if (obj.get("spec") or {}).get("nodeName"):
                bound.setdefault(name, now)
                if len(bound) == count:
                    all_bound.set()
                    return

    watcher = asyncio.create_task(watch())
    await asyncio.sleep(0.2)  # the watch is open before the first create
    gate = asyncio.Semaphore(CONCURRENCY)

    async def create(name: str) -> None:
        async with gate:
            sent = time.perf_counter()
            await api.create(PODS, pod(name), ns)
            created[name] = time.perf_counter()
            step.create_ms.append((created[name] - sent) * 1e3)

    os.kill(scheduler, signal.SIGSTOP)
    try:
        await asyncio.gather(*(create(n) for n in names))
    finally:
        os.kill(scheduler, signal.SIGCONT)
    start = time.perf_counter()
    cpu = {name: process_cpu_seconds(pid) for name, pid in pids.items()}
    machine = machine_busy_seconds()
    with ExitStack() as recordings:
        if profile is not None:
            for name in ("scheduler", "apiserver"):
                out = profile / f"{name}-{step.nodes}.txt"
                recordings.enter_context(pyspyprof.Recording(pids[name], out))
        try:
            await asyncio.wait_for(all_bound.wait(), 600)
        finally:
            watcher.cancel()
    for name, pid in pids.items():
        step.bind_cpu_ms[name] = 1e3 * (process_cpu_seconds(pid) - cpu[name]) / count
    took = max(bound.values()) - start
    step.machine_busy = (machine_busy_seconds() - machine) / (time.perf_counter() - start)
    step.scheduled_per_s = count / took
    # a watch event can beat the create's response to the client: that is 0 delay
    step.delivery_ms = [max(0.0, (added[n] - created[n]) * 1e3) for n in names if n in added]


def machine_busy_seconds() -> float:
    """CPU seconds every core of this machine spent on anything (all processes)."""
    return sum(cpu_busy_seconds(cpu) for cpu in range(os.cpu_count() or 1))


async def timed_list(api: AsyncClient, expect: int, page: int | None = None) -> float:
    """The median of three LISTs of every pod in the cluster: unpaginated, or in pages
    of `page` (kubectl's --chunk-size is 500)."""
    times = []
    for _ in range(3):
        start = time.perf_counter()
        items = (await api.list(PODS, ALL_NAMESPACES, limit=page))["items"]
        times.append(time.perf_counter() - start)
        if len(items) < expect:
            raise RuntimeError(f"LIST returned {len(items)} pods, expected {expect}")
    return statistics.median(times)


async def run(args: argparse.Namespace, kubeconfig: str, workdir: Path, pids: dict) -> list[Step]:
    config = load(kubeconfig)
    profile = args.profile
    if profile is not None:
        profile.mkdir(parents=True, exist_ok=True)
    steps: list[Step] = []
    hollows: list[processes.Process] = []
    scheduler = controller = None
    try:
        async with AsyncClient(config, timeout=120) as api:
            py = [sys.executable, "-m"]
            scheduler = processes.spawn(
                "scheduler", [*py, "scheduler", "--kubeconfig", kubeconfig], workdir / "sch.log"
            )
            controller = processes.spawn(
                "controller", [*py, "controller", "--kubeconfig", kubeconfig], workdir / "cm.log"
            )
            pids = {**pids, "scheduler": scheduler.pid, "controller": controller.pid}
            have = 0
            for size in args.sizes:
                prefix = f"hollow{len(hollows)}-"
                hollow = start_hollow_nodes(
                    kubeconfig, size - have, workdir, prefix, watch_pods=args.hollow_watch
                )
                hollows.append(hollow)
                names = [f"{prefix}{i}" for i in range(size - have)]
                await wait_nodes_registered(api, names, hollow, timeout=300)
                if not steps:
                    await wait_ready(api, scheduler)
                have = size
                step = Step(nodes=size, pods=size * args.pods_per_node)
                rv = (await api.list(NODES, limit=1))["metadata"]["resourceVersion"]
                sentinel = asyncio.create_task(watch_nodes_not_ready(api, rv, step.not_ready))
                try:
                    new_pods = step.pods - (steps[-1].pods if steps else 0)
                    busy = {
                        **{n: pids[n] for n in ("scheduler", "apiserver", "etcd", "controller")},
                        **{f"hollow{i}": h.pid for i, h in enumerate(hollows)},
                        "bench": os.getpid(),
                    }
                    await create_and_bind(api, f"scale-{size}", new_pods, step, busy, profile)
                    step.list_s = await timed_list(api, step.pods)
                    step.paged_list_s = await timed_list(api, step.pods, KUBECTL_CHUNK)
                finally:
                    sentinel.cancel()
                step.rss_mib = {name: rss_mib(pid) or 0.0 for name, pid in pids.items()}
                step.rss_mib["hollow"] = sum(rss_mib(h.pid) or 0.0 for h in hollows)
                steps.append(step)
                print(line(step), flush=True)
                print(f"{'':>13}{cpu_line(step)}", flush=True)
    finally:
        for proc in (scheduler, controller, *hollows):
            if proc is not None:
                proc.stop()
    return steps


HEADER = (
    f"{'nodes':>6}{'pods':>7}{'create p50/p99 ms':>19}{'watch p50/p99 ms':>18}"
    f"{'sched/s':>9}{'LIST s':>8}{'pages s':>8}{'NotReady':>9}   RSS MiB"
)


def line(s: Step) -> str:
    rss = ", ".join(f"{k} {v:.0f}" for k, v in s.rss_mib.items())
    create = f"{statistics.median(s.create_ms):.1f}/{pct(s.create_ms, 99):.1f}"
    delivery = f"{statistics.median(s.delivery_ms):.1f}/{pct(s.delivery_ms, 99):.1f}"
    return (
        f"{s.nodes:>6}{s.pods:>7}{create:>19}{delivery:>18}"
        f"{s.scheduled_per_s:>9.0f}{s.list_s:>8.2f}{s.paged_list_s:>8.2f}"
        f"{len(s.not_ready):>9}   {rss}"
    )


def cpu_line(s: Step) -> str:
    each = ", ".join(f"{k} {v:.2f}" for k, v in s.bind_cpu_ms.items())
    cores = os.cpu_count() or 1
    return (
        f"binding: CPU ms per pod bound: {each}; machine {s.machine_busy:.2f} of {cores} cores busy"
    )


def report(steps: list[Step], profile: Path | None = None) -> None:
    print("\nminik scale curve (hollow nodes; the cluster holds the pods of every step)")
    print(HEADER)
    for s in steps:
        print(line(s))
        print(f"{'':>13}{cpu_line(s)}")
    first, last = steps[0], steps[-1]
    grow = last.pods / first.pods
    print(f"\ngrowth {first.nodes} -> {last.nodes} nodes (the cluster grew {grow:.1f}x):")
    figures = {
        "create p99": (pct(first.create_ms, 99), pct(last.create_ms, 99)),
        "watch delivery p99": (pct(first.delivery_ms, 99), pct(last.delivery_ms, 99)),
        "scheduler pods/s (inverse)": (1 / first.scheduled_per_s, 1 / last.scheduled_per_s),
        "LIST per pod": (first.list_s / first.pods, last.list_s / last.pods),
        "paged LIST per pod": (first.paged_list_s / first.pods, last.paged_list_s / last.pods),
    }
    for name in last.rss_mib:
        figures[f"{name} RSS"] = (first.rss_mib[name], last.rss_mib[name])
    for name, (a, b) in figures.items():
        print(f"  {name:<28} {b / a if a else float('inf'):6.2f}x")
    print(
        "SLOs and targets: create p99 <= 1000 ms; LIST <= 30 s (aim <= 3 s at 10,000 pods); "
        "scheduler >= 300 pods/s at 1,000 nodes; NotReady nodes 0. A per-request or\n"
        "per-pod figure that grows with the cluster (well above 1x) is a quadratic path."
    )
    if profile is not None:
        for s in steps:
            for name in ("scheduler", "apiserver"):
                out = profile / f"{name}-{s.nodes}.txt"
                if out.exists():
                    print(f"\n[{name}, binding at {s.nodes} nodes] " + pyspyprof.summary(out))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--sizes", type=lambda t: [int(x) for x in t.split(",")], default=[100, 500, 1000]
    )
    p.add_argument("--pods-per-node", type=int, default=10)
    p.add_argument(
        "--profile", type=Path, help="py-spy profiles of the scheduler and apiserver here"
    )
    p.add_argument(
        "--no-hollow-watch",
        dest="hollow_watch",
        action="store_false",
        help="hollow nodes do not watch their pods (the apiserver carries no kubelet watches)",
    )
    args = p.parse_args()
    if args.sizes != sorted(args.sizes) or args.sizes[0] <= 0:
        p.error("--sizes must grow, from a positive size: e.g. 100,500,1000")
    workdir = make_workdir("minik-bench-scale-")
    etcd = start_etcd(workdir)
    try:
        server = start_apiserver(etcd, workdir / "apiserver")
        try:
            pids = {"etcd": etcd.process.pid, "apiserver": server.running().pid}
            print(HEADER, flush=True)
            steps = asyncio.run(run(args, str(server.kubeconfig), workdir, pids))
        finally:
            server.stop()
    finally:
        etcd.stop()
        remove_workdir(workdir)
    report(steps, args.profile)


if __name__ == "__main__":
    main()
