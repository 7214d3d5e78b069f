"""Scheduler throughput: 1,000 pods over 100 hollow nodes, from first create to last
bound, through the real apiserver and etcd — beside the bare binding rate (the same
1,000 binds POSTed by this script, same concurrency, no scheduler) in the same run.

Rounds (3 by default) interleave the baseline and the scheduled run, so both meet
the same machine; the medians and their ratio are the result. The nodes exist only
as API objects, registered and kept fresh by their own process as kubemark's hollow
nodes are, `python -m kubelet.hollow --count N …` (Ready, allocatable cpu 32, memory
64Gi, pods 110, Leases renewed every 10 s during the run); the bench waits, watching
the Nodes, until all are registered. The scheduler is started as its own process,
`python -m scheduler --kubeconfig …`, with its own default parallel binds unless
--concurrency is given. Pods request 100m cpu. "Bound" is observed through a watch
on the pods.

Target (issue): >= 300 pods/s.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from api.resources import EVENTS, NAMESPACES, NODES, PODS
from bench.common import bounded
from client.kubeconfig import load
from client.rest import AsyncClient
from deploy import processes
from deploy.controlplane import make_workdir, remove_workdir, start_apiserver, start_etcd

CAPACITY = {"cpu": "32", "memory": "64Gi", "pods": "110"}
HOLLOW_PREFIX = "hollow-"
# The bench's own requests in flight (creates, bare binds) when --concurrency is not
# given; the scheduler then keeps its own default for parallel binds (8 as well).
DEFAULT_CLIENT_CONCURRENCY = 8
UNSCHEDULED = "bench-nobody"  # schedulerName of the baseline pods: no scheduler takes them


def pod(name: str, scheduler_name: str | None = None) -> dict:
    spec: dict = {
        "containers": [
            {
                "name": "web",
                "image": "busybox:1.36",
                "resources": {"requests": {"cpu": "100m"}},
            }
        ]
    }
    if scheduler_name:
        spec["schedulerName"] = scheduler_name
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "bench"}},
        "spec": spec,
    }


def binding(name: str, node: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": name},
        "target": {"apiVersion": "v1", "kind": "Node", "name": node},
    }


async def namespace(api: AsyncClient, name: str) -> str:
    await api.create(NAMESPACES, {"metadata": {"name": name}})
    return name


async def bare_binding_rate(
    api: AsyncClient, ns: str, nodes: list[str], n: int, concurrency: int
) -> tuple[float, float]:
    """Create n pods no scheduler takes (pods/s), then time POSTing their n bindings
    (binds/s)."""
    await namespace(api, ns)
    create_seconds = await bounded(
        n, concurrency, lambda i: api.create(PODS, pod(f"p-{i}", UNSCHEDULED), ns)
    )

    async def bind(i: int) -> None:
        node = nodes[i % len(nodes)]
        await api.create(PODS, binding(f"p-{i}", node), ns, name=f"p-{i}", subresource="binding")

    seconds = await bounded(n, concurrency, bind)
    return n / create_seconds, n / seconds


async def wait_bound(api: AsyncClient, ns: str, names: set[str], rv: str, into: dict) -> None:
    """Record into[name] = (time first seen bound, node) until every name is bound."""
    async for _, obj in api.watch(PODS, ns, resource_version=rv, timeout_seconds=600):
        name, node = obj["metadata"]["name"], (obj.get("spec") or {}).get("nodeName")
        if node and name in names and name not in into:
            into[name] = (time.perf_counter(), node)
            if len(into) == len(names):
                return


async def scheduled_rate(
    api: AsyncClient, ns: str, n: int, concurrency: int, timeout: float
) -> tuple[float, float, dict]:
    """Create n pods as fast as the client allows while the scheduler runs; pods/s
    from the first create to the last bound, and the create phase's own rate."""
    await namespace(api, ns)
    names = {f"p-{i}" for i in range(n)}
    bound: dict[str, tuple[float, str]] = {}
    rv = (await api.list(PODS, ns, limit=1))["metadata"]["resourceVersion"]
    watcher = asyncio.create_task(wait_bound(api, ns, names, rv, bound))
    await asyncio.sleep(0.2)  # the watch is open before the first create
    start = time.perf_counter()
    create_seconds = await bounded(n, concurrency, lambda i: api.create(PODS, pod(f"p-{i}"), ns))
    await asyncio.wait_for(watcher, timeout)
    last = max(t for t, _ in bound.values())
    return n / (last - start), n / create_seconds, bound


def start_hollow_nodes(
    kubeconfig: str,
    count: int,
    workdir: Path,
    prefix: str = HOLLOW_PREFIX,
    watch_pods: bool = False,
) -> processes.Process:
    """`count` hollow nodes named `prefix`0 … in their own process, as kubemark runs them;
    with `watch_pods` each watches its pods as a kubelet does."""
    argv = [sys.executable, "-m", "kubelet.hollow", "--kubeconfig", kubeconfig]
    argv += ["--count", str(count), "--prefix", prefix]
    argv += ["--watch-pods"] if watch_pods else []
    argv += ["--cpu", CAPACITY["cpu"], "--memory", CAPACITY["memory"], "--pods", CAPACITY["pods"]]
    name = prefix.rstrip("-") or "hollow"
    return processes.spawn(name, argv, workdir / f"{name}.log")


def node_ready(node: dict) -> bool:
    conditions = (node.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


async def wait_nodes_registered(
    api: AsyncClient, names: list[str], proc: processes.Process, timeout: float = 60.0
) -> None:
    """Until every named Node exists and is Ready: a list, then a watch from its
    resourceVersion, reopened every second to notice the hollow process dying."""
    want = set(names)
    listed = await api.list(NODES)
    ready = {n["metadata"]["name"] for n in listed["items"] if node_ready(n)} & want
    rv = listed["metadata"]["resourceVersion"]
    deadline = time.monotonic() + timeout
    while ready != want:
        if not proc.alive():
            raise RuntimeError(f"hollow nodes exited:\n{proc.log_tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{len(ready)}/{len(want)} hollow nodes Ready after {timeout}s:\n{proc.log_tail()}"
            )
        async for kind, node in api.watch(NODES, resource_version=rv, timeout_seconds=1):
            rv = node["metadata"]["resourceVersion"]
            name = node["metadata"]["name"]
            if kind != "DELETED" and node_ready(node):
                ready.add(name)
            else:
                ready.discard(name)
            ready &= want
            if ready == want:
                break


async def wait_ready(api: AsyncClient, proc: processes.Process, timeout: float = 30.0) -> None:
    """The scheduler is up once it has bound a probe pod."""
    ns = await namespace(api, "bench-warmup")
    await api.create(PODS, pod("probe"), ns)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proc.alive():
            raise RuntimeError(f"scheduler exited:\n{proc.log_tail()}")
        if (await api.get(PODS, "probe", ns))["spec"].get("nodeName"):
            return
        await asyncio.sleep(0.1)
    raise RuntimeError(f"scheduler did not bind a probe pod in {timeout}s:\n{proc.log_tail()}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_cpu_seconds(pid: int) -> float:
    """The same for a process and its direct children (the apiserver's workers)."""
    total = cpu_seconds(pid)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def process_cpu(name: str, pid: int) -> float:
    return tree_cpu_seconds(pid) if name == "apiserver" else cpu_seconds(pid)


@dataclass
class Round:
    baseline: float  # bare binds/s
    bare_create_rate: float  # pods/s created with nothing binding them
    rate: float  # scheduled pods/s, first create to last bound
    create_rate: float  # pods/s of the create phase alone, scheduler running
    cpu_ms_per_pod: dict[str, float]  # during the scheduled phase, by process
    per_node: Counter
    events: int = 0  # Scheduled events written for the round's pods
    events_after: float = 0.0  # seconds after the last bind until they all were


async def count_events(
    api: AsyncClient, ns: str, reason: str, want: int, wait: float
) -> tuple[int, float]:
    """How many `reason` Events the namespace holds, waiting up to `wait` s for `want`;
    and how long that took."""
    start = time.perf_counter()
    while True:
        items = (await api.list(EVENTS, ns, field_selector=f"reason={reason}"))["items"]
        waited = time.perf_counter() - start
        if len(items) >= want or waited > wait:
            return len(items), waited
        await asyncio.sleep(0.5)


async def run(args: argparse.Namespace, kubeconfig: str, workdir: Path, pids: dict) -> None:
    config = load(kubeconfig)
    nodes = [f"{HOLLOW_PREFIX}{i}" for i in range(args.nodes)]
    given = args.concurrency is not None
    concurrency = args.concurrency if given else DEFAULT_CLIENT_CONCURRENCY
    rounds: list[Round] = []
    hollow = start_hollow_nodes(kubeconfig, args.nodes, workdir)
    scheduler: processes.Process | None = None
    try:
        async with AsyncClient(config, timeout=60) as api:
            await wait_nodes_registered(api, nodes, hollow)
            argv = [sys.executable, "-m", "scheduler", "--kubeconfig", kubeconfig]
            if given:
                argv += ["--parallel-binds", str(args.concurrency)]
            scheduler = processes.spawn("scheduler", argv, workdir / "scheduler.log")
            await wait_ready(api, scheduler)
            pids = {**pids, "scheduler": scheduler.pid, "hollow": hollow.pid, "bench": os.getpid()}
            for r in range(args.rounds):
                # Interleaved, so both see the same (noisy) machine; the scheduler runs
                # during the baseline too but takes none of its pods.
                bare_creates, baseline = await bare_binding_rate(
                    api, f"baseline-{r}", nodes, args.pods, concurrency
                )
                before = {name: process_cpu(name, pid) for name, pid in pids.items()}
                rate, create_rate, bound = await scheduled_rate(
                    api, f"bench-{r}", args.pods, concurrency, args.timeout
                )
                cpu = {
                    name: (process_cpu(name, pid) - before[name]) * 1000 / args.pods
                    for name, pid in pids.items()
                }
                per_node = Counter(node for _, node in bound.values())
                # Events trail the binds (rate-limited); let them land before the next
                # round so each round starts from a quiet apiserver.
                events, after = await count_events(api, f"bench-{r}", "Scheduled", args.pods, 60)
                rounds.append(
                    Round(baseline, bare_creates, rate, create_rate, cpu, per_node, events, after)
                )
    finally:
        if scheduler is not None:
            scheduler.stop()
        hollow.stop()
    report(args, nodes, concurrency, rounds)


def report(
    args: argparse.Namespace, nodes: list[str], concurrency: int, rounds: list[Round]
) -> None:
    binds = "its default" if args.concurrency is None else args.concurrency
    print(
        f"\nminik scheduler benchmark ({args.pods} pods, {args.nodes} hollow nodes, "
        f"{concurrency} requests in flight, scheduler parallel binds {binds}, "
        f"{len(rounds)} rounds)"
    )
    print(
        f"{'round':<7}{'scheduled':>10}{'bare binds':>12}{'ratio':>7}"
        f"{'creates':>9}{'bare creates':>14}   CPU ms/pod (scheduled phase)"
    )
    for i, r in enumerate(rounds):
        cpu = ", ".join(f"{name} {ms:.2f}" for name, ms in r.cpu_ms_per_pod.items())
        print(
            f"{i:<7}{r.rate:>10.0f}{r.baseline:>12.0f}{r.rate / r.baseline:>7.2f}"
            f"{r.create_rate:>9.0f}{r.bare_create_rate:>14.0f}   {cpu}"
        )
    rate = statistics.median(r.rate for r in rounds)
    baseline = statistics.median(r.baseline for r in rounds)
    print(f"{'median':<7}{rate:>10.0f}{baseline:>12.0f}{rate / baseline:>7.2f}   (all per second)")
    print(
        "scheduled: first create to last bound, scheduler running (target >= 300 pods/s);\n"
        "bare binds: the bench POSTing the bindings itself; creates: the create phase of\n"
        "the scheduled run; bare creates: creating the baseline's pods, nothing binding."
    )
    counts = [rounds[-1].per_node.get(n, 0) for n in nodes]
    print(
        f"last round: pods per node min/median/max {min(counts)}/"
        f"{statistics.median(counts):.0f}/{max(counts)}"
    )
    for i, r in enumerate(rounds):
        print(
            f"round {i}: {r.events}/{args.pods} Scheduled events, the last written "
            f"{r.events_after:.1f}s after the last bind (events are rate-limited)"
        )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pods", type=int, default=1000)
    p.add_argument("--nodes", type=int, default=100)
    p.add_argument(
        "--concurrency",
        type=int,
        help="requests in flight for the bench's creates and bare binds, and the "
        "scheduler's --parallel-binds; when not given the bench sends "
        f"{DEFAULT_CLIENT_CONCURRENCY} and the scheduler keeps its own default",
    )
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--apiserver-workers", type=int, default=1)
    p.add_argument("--timeout", type=float, default=120.0)
    args = p.parse_args()
    workdir = make_workdir("minik-bench-scheduler-")
    etcd = start_etcd(workdir)
    try:
        extra = ["--workers", str(args.apiserver_workers)] if args.apiserver_workers > 1 else []
        server = start_apiserver(etcd, workdir / "apiserver", extra)
        try:
            pids = {"apiserver": server.running().pid, "etcd": etcd.process.pid}
            asyncio.run(run(args, str(server.kubeconfig), workdir, pids))
        finally:
            server.stop()
    finally:
        etcd.stop()
        remove_workdir(workdir)


if __name__ == "__main__":
    main()
