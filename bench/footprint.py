"""The idle footprint of a whole local cluster (issue #18, part 4): `minik up` with one
node and every component it starts (etcd, apiserver, scheduler, controller manager,
kubelet, proxy, the add-ons process (ingress controller, metrics
server, dashboard), the supervisor), left alone; then each process's RSS and CPU
over a window, and the totals against the targets (≤ 350 MB RSS, ≤ 3% of one core).
etcd's own figures are the reference: the one part that is not minik's code.

Run: .venv/bin/python bench/footprint.py [--settle 20] [--window 60] (under the e2e lock)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.upcluster import UpCluster, UpFailed  # noqa: E402
from deploy.images import ensure_busybox_image  # noqa: E402

NODE_PREFIX = "footprint-"
TARGET_RSS_MB = 350
TARGET_CPU_PERCENT = 3.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process so far (/proc/PID/stat fields 14 and 15)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def shared_memory_mib(pid: int) -> tuple[float, float] | None:
    """(PSS, USS) in MiB from /proc/PID/smaps_rollup. RSS counts every shared page
    (libpython, OpenSSL, uvloop...) once per process, so summed RSS overstates the
    machine's memory; PSS splits each shared page among its users (the sum is what
    the cluster really holds) and USS is what exiting the process would free."""
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return None
    kib = {}
    for line in text.splitlines()[1:]:
        key, _, rest = line.partition(":")
        if rest.strip().endswith("kB"):
            kib[key] = int(rest.split()[0])
    uss = kib.get("Private_Clean", 0) + kib.get("Private_Dirty", 0)
    return kib.get("Pss", 0) / 1024, uss / 1024


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--settle", type=float, default=20.0, help="seconds after up, untimed")
    p.add_argument("--window", type=float, default=60.0, help="seconds of CPU measurement")
    args = p.parse_args()
    ensure_busybox_image()
    try:
        with UpCluster(NODE_PREFIX) as cluster:
            measure(cluster, args.settle, args.window)
    except UpFailed as err:
        print(err, file=sys.stderr)
        return 1
    return 0


def measure(cluster: UpCluster, settle: float, window: float) -> None:
    time.sleep(settle)
    pids = cluster.pids()
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    began = time.monotonic()
    time.sleep(window)
    elapsed = time.monotonic() - began
    after = {name: cpu_seconds(pid) for name, pid in pids.items()}
    rss = cluster.rss()
    print(f"idle footprint of `minik up` (1 node), CPU over {elapsed:.0f} s")
    print(f"{'process':<22}{'RSS MiB':>9}{'PSS MiB':>9}{'USS MiB':>9}{'CPU % of a core':>17}")
    total_rss = total_cpu = total_pss = total_uss = 0.0
    for name in pids:
        start, end = before[name], after[name]
        cpu = None if start is None or end is None else 100 * (end - start) / elapsed
        mib = rss.get(name)
        shared = shared_memory_mib(pids[name])
        total_rss += mib or 0.0
        total_cpu += cpu or 0.0
        total_pss += shared[0] if shared else 0.0
        total_uss += shared[1] if shared else 0.0
        cells = (
            f"{mib:9.1f}" if mib is not None else f"{'-':>9}",
            f"{shared[0]:9.1f}{shared[1]:9.1f}" if shared else f"{'-':>9}{'-':>9}",
            f"{cpu:17.2f}" if cpu is not None else f"{'-':>17}",
        )
        print(f"{name:<22}{''.join(cells)}")
    print(f"{'total':<22}{total_rss:9.1f}{total_pss:9.1f}{total_uss:9.1f}{total_cpu:17.2f}")
    print(
        f"total RSS {total_rss * 1.048576:.0f} MB (target <= {TARGET_RSS_MB}), "
        f"CPU {total_cpu:.2f}% of a core (target <= {TARGET_CPU_PERCENT:g})"
    )
    print(
        f"total PSS {total_pss * 1.048576:.0f} MB: the machine's memory the cluster holds, "
        "each shared page counted once (RSS counts it in every process that maps it)"
    )
    etcd = rss.get("etcd")
    if etcd is not None and total_rss:
        print(f"reference: etcd alone {etcd:.1f} MiB ({etcd / total_rss:.0%} of the total)")


if __name__ == "__main__":
    sys.exit(main())
