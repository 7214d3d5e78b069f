"""What the apiserver's Prometheus instrumentation costs per request, in-process and
same run: the RequestMetrics ASGI layer around a trivial app (a 200 with a small
body), against the same app called bare; and one etcd_request_duration_seconds
observation against an empty `with`. No network, no etcd: only the instrumentation's
own CPU, which is what it adds to every request of a real run (bench/apiserver.py
--throughput-only shows the whole request rate beside raw etcd's).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from starlette.types import Receive, Scope, Send

from apiserver.metrics import RequestMetrics, etcd_request

PATHS = [
    ("GET", "/api/v1/namespaces/default/pods", b""),
    ("GET", "/api/v1/namespaces/default/pods/web-1", b""),
    ("POST", "/api/v1/namespaces/default/pods", b""),
    ("PATCH", "/apis/apps/v1/namespaces/default/deployments/web/status", b""),
]


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


async def receive() -> dict:
    return {"type": "http.request", "body": b""}


async def send(_message: dict) -> None:
    return None


async def per_request_us(handler: object, n: int) -> float:
    scopes = [
        {"type": "http", "method": m, "path": p, "query_string": q, "headers": []}
        for m, p, q in PATHS
    ]
    began = time.perf_counter()
    for i in range(n):
        await handler(scopes[i % len(scopes)], receive, send)  # type: ignore[operator]
    return (time.perf_counter() - began) / n * 1e6


def etcd_us(n: int, instrumented: bool) -> float:
    began = time.perf_counter()
    for _ in range(n):
        with etcd_request("get", "/registry/pods/default/web") if instrumented else _nothing():
            pass
    return (time.perf_counter() - began) / n * 1e6


@contextlib.contextmanager
def _nothing() -> Iterator[None]:
    yield


async def run(args: argparse.Namespace) -> None:
    bare, measured = [], []
    wrapped = RequestMetrics(app)
    for _ in range(args.rounds):  # interleaved, so drift hits both alike
        bare.append(await per_request_us(app, args.n))
        measured.append(await per_request_us(wrapped, args.n))
    etcd_bare = statistics.median(etcd_us(args.n, False) for _ in range(args.rounds))
    etcd_timed = statistics.median(etcd_us(args.n, True) for _ in range(args.rounds))
    b, m = statistics.median(bare), statistics.median(measured)
    print(f"\napiserver instrumentation cost ({args.n} calls x {args.rounds} rounds, medians)")
    print(f"{'measure':<44}{'with':>10}{'without':>10}{'added':>10}")
    print(f"{'ASGI request, us':<44}{m:>10.2f}{b:>10.2f}{m - b:>10.2f}")
    added = etcd_timed - etcd_bare
    print(f"{'etcd request timing, us':<44}{etcd_timed:>10.2f}{etcd_bare:>10.2f}{added:>10.2f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=50000)
    p.add_argument("--rounds", type=int, default=5)
    asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    main()
