"""What one request's metrics cost the apiserver, per family kind, same run:
componentbase/loopmetrics.py's lock-free families (what the apiserver's request path
records into) against prometheus_client's own classes (locked, for any thread), for
the observations a request makes: a duration histogram with kube-apiserver's 23
buckets, a request counter, an in-flight gauge up and down, and an etcd duration.

The whole request path is measured from outside by `bench/apiserver.py
--throughput-only` (request rates beside raw etcd's); run it on two builds back to
back to see what the instrumentation costs end to end.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import prometheus_client

from componentbase import loopmetrics

BUCKETS = (
    0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20,
    30, 45, 60,
)  # fmt: skip
LABELS = ("GET", "", "", "v1", "pods", "", "resource", "apiserver")


def families(lib: object, registry: prometheus_client.CollectorRegistry) -> tuple:
    names = [f"l{i}" for i in range(len(LABELS))]
    extra = {"registry": registry} if lib is prometheus_client else {}
    duration = lib.Histogram("d_seconds", "d", names, buckets=BUCKETS, **extra)  # type: ignore[attr-defined]
    requests = lib.Counter("r_total", "r", [*names, "code"], **extra)  # type: ignore[attr-defined]
    inflight = lib.Gauge("i", "i", ["kind"], **extra)  # type: ignore[attr-defined]
    etcd = lib.Histogram("e_seconds", "e", ["op", "type"], buckets=BUCKETS, **extra)  # type: ignore[attr-defined]
    return (
        duration.labels(*LABELS),
        requests.labels(*LABELS, "200"),
        inflight.labels("readOnly"),
        etcd.labels("get", "pods"),
    )


def per_request_us(children: tuple, n: int) -> float:
    duration, requests, inflight, etcd = children
    began = time.perf_counter()
    for i in range(n):
        inflight.inc()
        etcd.observe(0.0004 + (i % 7) * 0.0001)
        inflight.dec()
        duration.observe(0.001 + (i % 13) * 0.002)
        requests.inc()
    return (time.perf_counter() - began) / n * 1e6


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=200000)
    p.add_argument("--rounds", type=int, default=5)
    args = p.parse_args()
    locked = families(prometheus_client, prometheus_client.CollectorRegistry())
    lockfree = families(loopmetrics, prometheus_client.CollectorRegistry())
    a, b = [], []
    for _ in range(args.rounds):  # interleaved, so the machine's drift hits both alike
        a.append(per_request_us(lockfree, args.n))
        b.append(per_request_us(locked, args.n))
    fast, slow = statistics.median(a), statistics.median(b)
    print(f"\nmetrics per apiserver request ({args.n} x {args.rounds} rounds, medians)")
    print(f"{'measure':<46}{'loopmetrics':>12}{'prometheus_client':>19}{'ratio':>7}")
    print(f"{'5 observations of one request, us':<46}{fast:>12.2f}{slow:>19.2f}{fast / slow:>7.2f}")


if __name__ == "__main__":
    main()
