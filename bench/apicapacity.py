"""`bench/apiserver.py --capacity`: what one apiserver process can do on one core.

The apiserver is pinned to CPU 0 (every thread, as `taskset -a -c 0`); etcd and the
load generator (bench/loadgen.py: several client processes with their own keep-alive
connections, far cheaper per request than httpx) share CPU 1. Each round, in a fresh
namespace:

- raw etcd: `n` puts then `n` gets of a pod's JSON from client processes pinned to
  CPU 0, the apiserver's core, with aetcd (the apiserver's etcd client) at the same
  concurrency: what an etcd client on that core gets out of this etcd;
- `n` pod creates then `n` gets through the apiserver, the same concurrency, with the
  apiserver's CPU per request and its core's utilisation over each phase (near 100%:
  the server is the bottleneck, not the clients);
- pod creates paced at `--rate` a second (100) for `--paced-seconds`, open loop:
  p50/p99 latency from each request's scheduled start; then raw etcd puts of the same
  bytes at the same rate from CPU 0 (etcd's own fsync tail is the floor of the p99).

Medians over `--rounds`, every round printed, the machine's load average before and
after. `--profile DIR` records the apiserver with py-spy (200 Hz) during the creates
and gets of an extra round 0 (not counted: sampling slows the server) and prints their
top entries. `--compare COMMIT` runs that commit's apiserver (git archive of it, this
venv) beside this tree's, each on its own etcd, rounds interleaved, and prints both and
their ratios: before/after figures measured under the same load."""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path

from bench import loadgen, oldtree, pyspyprof
from bench.common import pct, web_pod
from deploy.controlplane import (
    ApiServer,
    Etcd,
    make_workdir,
    remove_workdir,
    start_apiserver,
    start_etcd,
)
from deploy.identities import AUTHORIZATION_MODE

Recording = AbstractContextManager[object]

SERVER_CPUS = (0,)
OTHER_CPUS = (1,)


def pod_body(ns: str) -> bytes:
    """The bench's pod (bench.common.web_pod) with the name placeholder."""
    obj = web_pod("@NAME@")
    obj["metadata"]["namespace"] = ns
    return json.dumps(obj, separators=(",", ":")).encode()


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


class ServerProbe:
    """The apiserver's CPU seconds and its core's busy seconds (anyone's) over a run,
    and a profile (py-spy) of that run when asked for."""

    def __init__(self, pid: int, recording: AbstractContextManager[object]) -> None:
        self.pid = pid
        self.recording = recording

    def _now(self) -> tuple[float, float]:
        own = loadgen.process_cpu_seconds(self.pid)
        return own, loadgen.cpu_busy_seconds(SERVER_CPUS[0])

    def start(self) -> None:
        self.recording.__enter__()
        self.before = self._now()

    def stop(self) -> tuple[float, ...]:
        after = self._now()
        self.recording.__exit__(None, None, None)
        return tuple(b - a for a, b in zip(self.before, after, strict=True))


def _check(outcome: loadgen.Outcome, what: str) -> None:
    if outcome.errors:
        raise RuntimeError(f"{what}: {outcome.errors} errors, first: {outcome.first_error}")


def one_round(
    args: argparse.Namespace,
    server: ApiServer,
    etcd_url: str,
    i: int,
    profile: Callable[[str], Recording],
) -> dict[str, float]:
    pid = server.running().pid
    ns = f"cap-{i}"

    with server.http() as http:
        http.post("/api/v1/namespaces", json={"metadata": {"name": ns}}).raise_for_status()
    target = loadgen.Target("127.0.0.1", server.port, server.token, str(server.ca_file))
    n, procs, conns = args.n, args.procs, args.conns
    body = pod_body(ns)
    out: dict[str, float] = {}

    put = loadgen.etcd_closed_loop(
        etcd_url, "put", f"/bench/raw/{i}/", body, n, procs, conns, SERVER_CPUS
    )
    get = loadgen.etcd_closed_loop(
        etcd_url, "get", f"/bench/raw/{i}/", body, n, procs, conns, SERVER_CPUS
    )
    out["etcd put/s"], out["etcd get/s"] = put.rate, get.rate

    pods = f"/api/v1/namespaces/{ns}/pods"
    create_plan = loadgen.Plan("POST", pods, "pod", body, (201,))
    get_plan = loadgen.Plan("GET", f"{pods}/@NAME@", "pod", b"", (200,))
    for verb, plan in (("create", create_plan), ("get", get_plan)):
        probe = ServerProbe(pid, profile(verb))
        done = loadgen.closed_loop(target, plan, n, procs, conns, OTHER_CPUS, probe)
        _check(done, f"{verb}s")
        out[f"{verb}/s"] = done.rate
        own, core = done.probed
        out[f"{verb} server µs/req"] = 1e6 * own / done.ok
        out[f"{verb} server core %"] = 100 * own / done.seconds
        out[f"{verb} others core %"] = 100 * max(0.0, core - own) / done.seconds
        out[f"{verb} client µs/req"] = 1e6 * done.client_cpu_seconds / done.ok

    paced_plan = loadgen.Plan("POST", pods, "paced", body, (201,))
    paced = loadgen.paced(target, paced_plan, args.rate, args.paced_seconds, 1, OTHER_CPUS)
    _check(paced, "paced creates")
    out["paced p50 ms"] = pct(paced.latencies_ms, 50)
    out["paced p99 ms"] = pct(paced.latencies_ms, 99)
    raw = loadgen.etcd_paced(
        etcd_url, f"/bench/paced/{i}/", body, args.rate, args.paced_seconds, SERVER_CPUS
    )
    out["etcd paced p50 ms"] = pct(raw.latencies_ms, 50)
    out["etcd paced p99 ms"] = pct(raw.latencies_ms, 99)
    return out


ROWS = (
    # (key, label, format, target)
    ("create/s", "pod creates/s", ".0f", ">= 1000"),
    ("etcd put/s", "  raw etcd puts/s (same run)", ".0f", ""),
    ("get/s", "pod gets/s", ".0f", ">= 2500"),
    ("etcd get/s", "  raw etcd gets/s (same run)", ".0f", ""),
    ("paced p50 ms", "create p50 ms at the paced rate", ".2f", ""),
    ("paced p99 ms", "create p99 ms at the paced rate", ".2f", "<= 10"),
    ("etcd paced p50 ms", "  raw etcd put p50 ms, same rate", ".2f", ""),
    ("etcd paced p99 ms", "  raw etcd put p99 ms, same rate", ".2f", ""),
    ("create server µs/req", "apiserver CPU µs per create", ".0f", ""),
    ("get server µs/req", "apiserver CPU µs per get", ".0f", ""),
    ("create server core %", "apiserver's share of its core, creates %", ".0f", ""),
    ("get server core %", "apiserver's share of its core, gets %", ".0f", ""),
    ("create others core %", "  its core busy with others (creates) %", ".0f", ""),
    ("get others core %", "  its core busy with others (gets) %", ".0f", ""),
    ("create client µs/req", "load generator CPU µs per create", ".0f", ""),
    ("get client µs/req", "load generator CPU µs per get", ".0f", ""),
)


def report(
    args: argparse.Namespace, rounds: list[dict[str, float]], loads: list[str], title: str = ""
) -> None:
    print(
        f"\nminik apiserver capacity{' — ' + title if title else ''}: "
        f"apiserver pinned to CPU {SERVER_CPUS}, etcd and "
        f"{args.procs} client processes x {args.conns} connections on CPU {OTHER_CPUS}; "
        f"{args.n} pods per phase, paced creates {args.rate:.0f}/s for {args.paced_seconds:.0f} s"
        f"; medians of {len(rounds)} rounds"
    )
    print(f"{'measure':<42}{'median':>10}   {'target':<9}rounds")
    for key, label, fmt, target in ROWS:
        values = [r[key] for r in rounds]
        each = ", ".join(f"{v:{fmt}}" for v in values)
        print(f"{label:<42}{loadgen.median(values):>10{fmt}}   {target:<9}{each}")
    c, p = (loadgen.median([r[k] for r in rounds]) for k in ("create/s", "etcd put/s"))
    g, e = (loadgen.median([r[k] for r in rounds]) for k in ("get/s", "etcd get/s"))
    print(f"{'ratios: creates/etcd puts, gets/etcd gets':<42}{c / p:>10.2f}{g / e:>8.2f}")
    print(f"load average (1/5/15 min) before/after each round: {'; '.join(loads)}")


def start_before_apiserver(etcd: Etcd, workdir: Path, tree: Path) -> ApiServer:
    """The older tree's apiserver with the flags controlplane.start_apiserver gives
    (Node,RBAC, no ServiceAccount admission, local kubelets)."""
    from deploy import processes

    extra = [
        f"--authorization-mode={AUTHORIZATION_MODE}",
        *processes.kubelet_flags(workdir / "pki", verify=False, local=True),
        "--disable-admission-plugins=ServiceAccount",
    ]
    return oldtree.start_tree_apiserver(etcd, workdir, tree, extra)


def capacity_main(args: argparse.Namespace) -> None:
    """One apiserver (this tree's), or with --compare COMMIT that commit's beside it,
    each on its own etcd, rounds interleaved (before, now, before, ...)."""
    if len(os.sched_getaffinity(0)) < 2:
        raise SystemExit("--capacity needs two CPUs (the apiserver's and everyone else's)")
    workdir = make_workdir("minik-bench-capacity-")
    started: list[Etcd | ApiServer] = []
    try:
        servers: dict[str, tuple[ApiServer, str]] = {}
        cases = ("before", "now") if args.compare else ("now",)
        if args.compare:
            oldtree.export_tree(args.compare, workdir / "before-tree")
        for case in cases:
            etcd = start_etcd(workdir / f"etcd-{case}")
            started.append(etcd)
            loadgen.pin_process(etcd.process.pid, OTHER_CPUS)
            if case == "before":
                server = start_before_apiserver(etcd, workdir / case, workdir / "before-tree")
            else:
                extra = ["--workers", str(args.workers)] if args.workers > 1 else []
                server = start_apiserver(etcd, workdir / case, extra)
            started.append(server)
            loadgen.pin_process(server.running().pid, SERVER_CPUS)
            servers[case] = (server, etcd.url)
        os.sched_setaffinity(0, OTHER_CPUS)
        profile_dir = Path(args.profile) if args.profile else None
        rounds: dict[str, list[dict[str, float]]] = {case: [] for case in cases}
        loads = []
        # With --profile, a round 0 under py-spy first (sampling slows the server, so it
        # is not counted); it warms the servers up too.
        for i in range(0 if profile_dir else 1, args.rounds + 1):
            before = load_average()
            for case, (server, etcd_url) in servers.items():
                where = profile_dir / case if profile_dir and len(cases) > 1 else profile_dir

                def profile(
                    verb: str,
                    i: int = i,
                    where: Path | None = where,
                    pid: int = server.running().pid,
                ) -> Recording:
                    if where is None or i != 0:
                        return nullcontext()
                    where.mkdir(parents=True, exist_ok=True)
                    return pyspyprof.Recording(pid, where / f"{verb}.txt")

                figures = one_round(args, server, etcd_url, i, profile)
                text = ", ".join(f"{k} {v:.1f}" for k, v in figures.items())
                print(f"round {i} {case}: {text}", flush=True)
                if i:
                    rounds[case].append(figures)
            if i:
                loads.append(f"{before} -> {load_average()}")
        for case in cases:
            title = f"{case} ({args.compare[:7]})" if case == "before" else "now (this tree)"
            report(args, rounds[case], loads, title if args.compare else "")
        if args.compare:
            compare(rounds["before"], rounds["now"])
        if profile_dir:
            for case in cases:
                where = profile_dir / case if len(cases) > 1 else profile_dir
                for verb in ("create", "get"):
                    print(f"\n[{case}] " + pyspyprof.summary(where / f"{verb}.txt"))
    finally:
        for process in reversed(started):
            process.stop()
        remove_workdir(workdir)


def compare(before: list[dict[str, float]], now: list[dict[str, float]]) -> None:
    print("\nnow/before (medians, same run, rounds interleaved)")
    for key, label, fmt, _target in ROWS:
        b = loadgen.median([r[key] for r in before])
        n = loadgen.median([r[key] for r in now])
        ratio = n / b if b else float("nan")
        print(f"{label:<42}{b:>10{fmt}}{n:>10{fmt}}{ratio:>8.2f}")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--procs", type=int, default=3, help="--capacity: client processes")
    p.add_argument("--conns", type=int, default=8, help="--capacity: connections per process")
    p.add_argument("--rate", type=float, default=100.0, help="--capacity: paced creates/s")
    p.add_argument("--profile", help="--capacity: py-spy profiles of round 0 into this dir")
    p.add_argument(
        "--compare",
        metavar="COMMIT",
        help="--capacity: that commit's apiserver beside this tree's, rounds interleaved",
    )
