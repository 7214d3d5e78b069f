"""A bounded churn soak (issue #17): `minik up --nodes 1`, then for N minutes create and
delete pods, Deployments and ConfigMaps in a loop, printing every component's RSS over
time beside its value at the start (the baseline of the same run). Also counts the
supervisor's restarts, which should stay 0.

Run: .venv/bin/python bench/soak.py [--minutes 2] [--interval 30] [--event-ttl 5m] (under
the e2e lock). --event-ttl goes to `minik up` (the apiserver's; default kube-apiserver's 1h,
longer than a 30-minute soak: Events written in it would all still be there at its end).
Under each row: etcd's raft snapshots, database, keys, leases and anonymous/file RSS."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api.errors import ApiError  # noqa: E402
from api.resources import CONFIGMAPS, DEPLOYMENTS, PODS  # noqa: E402
from bench.upcluster import UpCluster, UpFailed, rss_mib  # noqa: E402
from client.kubeconfig import load  # noqa: E402
from client.rest import Client  # noqa: E402
from deploy.images import BUSYBOX_IMAGE, ensure_busybox_image  # noqa: E402

NODE_PREFIX = "soak-"
NAMESPACE = "default"
KEEP = 5  # objects of each kind alive at once; older ones are deleted


def pod(name: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"soak": "pod"}},
        "spec": {
            "terminationGracePeriodSeconds": 0,
            "containers": [
                {
                    "name": "c",
                    "image": BUSYBOX_IMAGE,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["sleep", "3600"],
                }
            ],
        },
    }


def deployment(name: str) -> dict:
    template = {"metadata": {"labels": {"soak": name}}, "spec": pod(name)["spec"]}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"soak": name}},
            "template": template,
        },
    }


def configmap(name: str, i: int) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name},
        "data": {"i": str(i), "pad": "x" * 2048},
    }


def churn_once(api: Client, i: int, counts: dict[str, int]) -> None:
    """One round: a new pod, Deployment and ConfigMap; the one KEEP rounds old goes."""
    for res, obj in (
        (PODS, pod(f"soak-pod-{i}")),
        (DEPLOYMENTS, deployment(f"soak-dep-{i}")),
        (CONFIGMAPS, configmap(f"soak-cm-{i}", i)),
    ):
        try:
            api.create(res, obj, NAMESPACE)
            counts["created"] += 1
        except ApiError as err:
            counts["errors"] += 1
            print(f"  create {obj['metadata']['name']}: {err}", file=sys.stderr)
    old = i - KEEP
    if old >= 0:
        for res, name in (
            (PODS, f"soak-pod-{old}"),
            (DEPLOYMENTS, f"soak-dep-{old}"),
            (CONFIGMAPS, f"soak-cm-{old}"),
        ):
            try:
                api.delete(res, name, NAMESPACE, propagation_policy="Background")
                counts["deleted"] += 1
            except ApiError as err:
                counts["errors"] += 1
                print(f"  delete {name}: {err}", file=sys.stderr)


def print_row(label: str, sample: dict[str, float | None], start: dict[str, float | None]) -> None:
    cells = []
    for name, value in sample.items():
        if name == "supervisor":
            continue
        base = start.get(name)
        if value is None or base is None:
            cells.append(f"{name} -")
        else:
            cells.append(f"{name} {value:.0f} ({value - base:+.0f})")
    print(f"{label:>7}  " + "  ".join(cells), flush=True)


ETCD_METRICS = (
    "etcd_debugging_snap_save_total_duration_seconds_count",  # raft snapshots taken
    "etcd_debugging_mvcc_db_total_size_in_bytes",
    "etcd_mvcc_db_total_size_in_use_in_bytes",
    "etcd_debugging_mvcc_keys_total",
    "etcd_debugging_lease_granted_total",
)


def print_etcd(soak: UpCluster) -> None:
    """What etcd's memory follows: raft snapshots (its in-memory raft log is trimmed at
    each), its bbolt database (mmap'd: file-backed RSS) and its keys (Events expire
    through leases, --event-ttl)."""
    m = soak.etcd_metrics(ETCD_METRICS)
    pid = soak.pids().get("etcd")
    anon, mapped = (rss_mib(pid, "RssAnon"), rss_mib(pid, "RssFile")) if pid else (None, None)
    if not m or anon is None or mapped is None:
        print("         etcd: no metrics", flush=True)
        return
    mib = 1024 * 1024
    print(
        f"         etcd: {m.get(ETCD_METRICS[0], 0):.0f} snapshots, "
        f"db {m.get(ETCD_METRICS[1], 0) / mib:.1f} MiB ({m.get(ETCD_METRICS[2], 0) / mib:.1f} "
        f"in use), {m.get(ETCD_METRICS[3], 0):.0f} keys, "
        f"{m.get(ETCD_METRICS[4], 0):.0f} leases granted; RSS {anon:.0f} anon + {mapped:.0f} file",
        flush=True,
    )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--minutes", type=float, default=2.0)
    p.add_argument("--interval", type=float, default=30.0, help="seconds between RSS samples")
    p.add_argument("--rate", type=float, default=2.0, help="churn rounds per second (at most)")
    p.add_argument(
        "--event-ttl",
        metavar="DURATION",
        help="the cluster's `minik up --event-ttl` (Go duration; default the apiserver's 1h)",
    )
    args = p.parse_args()
    ensure_busybox_image()
    up_flags = ("--event-ttl", args.event_ttl) if args.event_ttl else ()
    try:
        with UpCluster(NODE_PREFIX, up_flags) as soak:
            return soak_for(soak, args)
    except UpFailed as err:
        print(err, file=sys.stderr)
        return 1


def soak_for(soak: UpCluster, args: argparse.Namespace) -> int:
    counts = {"created": 0, "deleted": 0, "errors": 0}
    time.sleep(5)  # let the start-up settle before the baseline
    start = soak.rss()
    ttl = f", --event-ttl {args.event_ttl}" if args.event_ttl else ""
    print(f"RSS in MiB (change since start), {args.minutes:g} min of churn{ttl}")
    print_row("start", start, start)
    print_etcd(soak)
    began = time.monotonic()
    end = began + args.minutes * 60
    next_sample = began + args.interval
    i = 0
    with Client(load(str(soak.kubeconfig))) as api:
        while time.monotonic() < end:
            round_began = time.monotonic()
            churn_once(api, i, counts)
            i += 1
            if time.monotonic() >= next_sample:
                print_row(f"{time.monotonic() - began:.0f}s", soak.rss(), start)
                print_etcd(soak)
                next_sample += args.interval
            time.sleep(max(0.0, 1 / args.rate - (time.monotonic() - round_began)))
    final = soak.rss()
    print_row("end", final, start)
    print_etcd(soak)
    restarts = {n: r.get("restarts", 0) for n, r in soak.records().items() if n != "supervisor"}
    print(
        f"{i} rounds: {counts['created']} created, {counts['deleted']} deleted, "
        f"{counts['errors']} errors; supervisor restarts {sum(restarts.values())} {restarts}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
