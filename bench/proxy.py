"""The service proxy vs a direct connection, same run, same client, same backend.

Starts etcd, the apiserver and the proxy (`python -m proxy`, as root: it puts the
ClusterIP on `lo`), a backend process on loopback (1 KB request → 1 KB response
server, and a bulk source writing 64 KB chunks), and a Service + Endpoints pointing
at it. Then, directly to the backend and through the ClusterIP:

- request/response of 1 KB at 1, 16 and 64 concurrent connections: requests/s, p50, p99;
- bulk transfer in 64 KB chunks over one connection: MB/s;
- the proxy's RSS while it holds 1,000 idle connections.

Targets (issue: the proxy): >= 0.6x direct request throughput at 16 connections,
>= 0.5x direct bulk throughput, <= 0.3 ms added p50 latency, RSS <= 100 MB at 1,000
idle connections. All traffic stays on this machine; every loop is bounded in time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Protocol, runtime_checkable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import pct
from componentbase.run import run
from deploy import processes
from deploy.controlplane import (
    ApiServer,
    Etcd,
    make_workdir,
    remove_workdir,
    start_apiserver,
    start_etcd,
)

REQUEST_SIZE = 1024
CHUNK = 64 * 1024
CLUSTER_IP = "10.96.222.22"  # requested explicitly; the proxy adds it to lo
ECHO_PORT, BULK_PORT = 7001, 7002
TARGETS = (("direct", "127.0.0.1"), ("proxy", CLUSTER_IP))


# ---- the backend (a separate process) -------------------------------------------------


@runtime_checkable
class _StreamTransport(Protocol):
    """What the backend uses of a TCP transport (asyncio's and uvloop's alike; uvloop's
    are not asyncio.Transport subclasses, so the check is by shape)."""

    def write(self, data: bytes) -> None: ...

    def is_closing(self) -> bool: ...


def _stream(transport: asyncio.BaseTransport) -> _StreamTransport:
    if not isinstance(transport, _StreamTransport):
        raise TypeError(f"not a stream transport: {transport!r}")
    return transport


class _Echo(asyncio.Protocol):
    """Answers every 1 KB received with 1 KB."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = _stream(transport)
        self.pending = 0
        self.reply = b"r" * REQUEST_SIZE

    def data_received(self, data: bytes) -> None:
        self.pending += len(data)
        while self.pending >= REQUEST_SIZE:
            self.pending -= REQUEST_SIZE
            self.transport.write(self.reply)


class _Source(asyncio.Protocol):
    """Writes 64 KB chunks for as long as the client reads."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = _stream(transport)
        self.chunk = b"b" * CHUNK
        self.paused = False
        self._fill()

    def pause_writing(self) -> None:
        self.paused = True

    def resume_writing(self) -> None:
        self.paused = False
        self._fill()

    def _fill(self) -> None:
        while not self.paused and not self.transport.is_closing():
            self.transport.write(self.chunk)

    def connection_lost(self, exc: Exception | None) -> None:
        self.paused = True


async def serve_backend(host: str) -> None:
    loop = asyncio.get_running_loop()
    await loop.create_server(_Echo, host, ECHO_PORT, backlog=4096)
    await loop.create_server(_Source, host, BULK_PORT, backlog=4096)
    print("backend ready", flush=True)
    await asyncio.sleep(3600)


# ---- the client ------------------------------------------------------------------------


async def request_loop(
    host: str, port: int, connections: int, seconds: float
) -> tuple[float, list[float]]:
    """Each connection sends 1 KB and waits for 1 KB, over and over, for `seconds`."""
    payload = b"q" * REQUEST_SIZE
    latencies: list[float] = []
    streams = [await asyncio.open_connection(host, port) for _ in range(connections)]
    for _, w in streams:
        w.transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    deadline = time.perf_counter() + seconds

    async def one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        clock = time.perf_counter
        while clock() < deadline:
            start = clock()
            writer.write(payload)
            await reader.readexactly(REQUEST_SIZE)
            latencies.append(clock() - start)

    started = time.perf_counter()
    await asyncio.gather(*(one(r, w) for r, w in streams))
    elapsed = time.perf_counter() - started
    for _, w in streams:
        w.close()
    return len(latencies) / elapsed, latencies


def bulk(host: str, port: int, seconds: float) -> float:
    """MB/s read from the bulk source over one connection (blocking recv_into)."""
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    with socket.create_connection((host, port)) as sock:
        received = 0
        started = time.perf_counter()
        deadline = started + seconds
        while time.perf_counter() < deadline:
            n = sock.recv_into(view)
            if not n:
                break
            received += n
        elapsed = time.perf_counter() - started
    return received / elapsed / 1e6


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def rss_with_idle_connections(
    host: str, port: int, count: int, proxy_pid: int
) -> tuple[float, float]:
    before = rss_mb(proxy_pid)
    socks = []
    try:
        for _ in range(count):
            socks.append(socket.create_connection((host, port), timeout=5))
        # one round trip on the last one: every connection before it was dialled through
        socks[-1].sendall(b"q" * REQUEST_SIZE)
        got = 0
        while got < REQUEST_SIZE:
            got += len(socks[-1].recv(REQUEST_SIZE))
        time.sleep(1.0)
        return before, rss_mb(proxy_pid)
    finally:
        for s in socks:
            s.close()


def _paired(samples: dict[str, list[float]]) -> float:
    return statistics.median(
        p / d for d, p in zip(samples["direct"], samples["proxy"], strict=True)
    )


def measure_requests(conns: int, seconds: float, rounds: int) -> dict:
    """Direct and proxied runs alternate (ABBA...), so drifting machine load hits both."""
    rps: dict[str, list[float]] = {"direct": [], "proxy": []}
    p50: dict[str, list[float]] = {"direct": [], "proxy": []}
    p99: dict[str, list[float]] = {"direct": [], "proxy": []}
    for i in range(rounds):
        for label, host in TARGETS if i % 2 == 0 else TARGETS[::-1]:
            throughput, lat = run(request_loop(host, ECHO_PORT, conns, seconds))
            rps[label].append(throughput)
            p50[label].append(statistics.median(lat) * 1e3)
            p99[label].append(pct(lat, 99) * 1e3)
    row: dict = {
        label: {
            "rps": statistics.median(rps[label]),
            "p50_ms": statistics.median(p50[label]),
            "p99_ms": statistics.median(p99[label]),
        }
        for label in rps
    }
    row["ratio"] = _paired(rps)
    return row


def measure_bulk(seconds: float, rounds: int) -> dict:
    rates: dict[str, list[float]] = {"direct": [], "proxy": []}
    for i in range(rounds):
        for label, host in TARGETS if i % 2 == 0 else TARGETS[::-1]:
            rates[label].append(bulk(host, BULK_PORT, seconds))
    return {
        "direct": statistics.median(rates["direct"]),
        "proxy": statistics.median(rates["proxy"]),
        "ratio": _paired(rates),
    }


# ---- orchestration ---------------------------------------------------------------------


def start_cluster_and_proxy(workdir: Path) -> tuple[Etcd, ApiServer, processes.Process]:
    etcd = start_etcd(workdir)
    api = start_apiserver(etcd, workdir)
    proxy = processes.spawn(
        "proxy",
        [
            sys.executable,
            "-m",
            "proxy",
            "--kubeconfig",
            str(api.kubeconfig),
            "--node-name",
            "bench-node",
            "--node-ip",
            "127.0.0.1",
            "--upstream-dns",
            "127.0.0.1:1",  # nothing outside the cluster is resolved here
        ],
        workdir / "proxy.log",
    )
    return etcd, api, proxy


def create_service(api: ApiServer) -> None:
    with api.http() as http:
        svc = {
            "metadata": {"name": "bench"},
            "spec": {
                "clusterIP": CLUSTER_IP,
                "ports": [
                    {"name": "echo", "port": ECHO_PORT, "targetPort": ECHO_PORT},
                    {"name": "bulk", "port": BULK_PORT, "targetPort": BULK_PORT},
                ],
            },
        }
        eps = {
            "metadata": {"name": "bench"},
            "subsets": [
                {
                    "addresses": [{"ip": "127.0.0.1"}],
                    "ports": [
                        {"name": "echo", "port": ECHO_PORT},
                        {"name": "bulk", "port": BULK_PORT},
                    ],
                }
            ],
        }
        for path, body in (("services", svc), ("endpoints", eps)):
            r = http.post(f"/api/v1/namespaces/default/{path}", json=body)
            r.raise_for_status()


def on_lo(ip: str) -> bool:
    out = subprocess.run(["ip", "-o", "-4", "addr", "show", "dev", "lo"], capture_output=True)
    return f" {ip}/32 ".encode() in out.stdout


def wait_reachable(host: str, port: int, proxy: processes.Process, seconds: float = 30.0) -> None:
    """Nothing is sent to the ClusterIP before it is on lo: it would leave the host."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not proxy.alive():
            raise RuntimeError(f"the proxy exited:\n{proxy.log_tail()}")
        if not on_lo(host):
            time.sleep(0.1)
            continue
        try:
            with socket.create_connection((host, port), timeout=1) as s:
                s.sendall(b"q" * REQUEST_SIZE)
                s.settimeout(2)
                if s.recv(1):
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{host}:{port} not reachable through the proxy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per figure")
    parser.add_argument("--idle", type=int, default=1000, help="idle connections for RSS")
    parser.add_argument("--serve-backend", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_backend:
        run(serve_backend("127.0.0.1"))
        return
    if os.geteuid() != 0:
        sys.exit("run as root: the proxy adds the ClusterIP to lo")
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    workdir = make_workdir("minik-bench-proxy-")
    backend = subprocess.Popen(
        [sys.executable, __file__, "--serve-backend"], stdout=subprocess.PIPE, text=True
    )
    etcd: Etcd | None = None
    api: ApiServer | None = None
    proxy: processes.Process | None = None
    results: dict = {}
    try:
        assert backend.stdout is not None and "ready" in backend.stdout.readline()
        etcd, api, proxy = start_cluster_and_proxy(workdir)
        create_service(api)
        wait_reachable(CLUSTER_IP, ECHO_PORT, proxy)
        print(f"load average {os.getloadavg()[0]:.2f}; {args.rounds} rounds of {args.seconds}s,")
        print("direct and proxy alternating; medians of the rounds, ratio = median of pairs\n")
        print(f"{'':<28}{'direct':>12}{'proxy':>12}{'ratio':>8}")
        for conns in (1, 16, 64):
            row = measure_requests(conns, args.seconds, args.rounds)
            d, p = row["direct"], row["proxy"]
            print(
                f"req/s   @{conns:<3} conns{'':<12}{d['rps']:>12.0f}{p['rps']:>12.0f}"
                f"{row['ratio']:>8.2f}"
            )
            print(
                f"p50 ms  @{conns:<3} conns{'':<12}{d['p50_ms']:>12.3f}{p['p50_ms']:>12.3f}"
                f"{'+%.3f' % (p['p50_ms'] - d['p50_ms']):>8}"
            )
            print(f"p99 ms  @{conns:<3} conns{'':<12}{d['p99_ms']:>12.3f}{p['p99_ms']:>12.3f}")
            results[f"requests_{conns}"] = row
        bulk_row = measure_bulk(args.seconds, args.rounds)
        print(
            f"bulk MB/s (64 KB chunks){'':<4}{bulk_row['direct']:>12.0f}"
            f"{bulk_row['proxy']:>12.0f}{bulk_row['ratio']:>8.2f}"
        )
        results["bulk_mb_s"] = bulk_row
        before, held = rss_with_idle_connections(CLUSTER_IP, ECHO_PORT, args.idle, proxy.pid)
        print(f"proxy RSS MB: {before:.1f} idle, {held:.1f} holding {args.idle} connections")
        results["rss_mb"] = {"before": before, "holding": held, "connections": args.idle}
        verdict = {
            "requests_16_ratio>=0.6": results["requests_16"]["ratio"] >= 0.6,
            "bulk_ratio>=0.5": bulk_row["ratio"] >= 0.5,
            "added_p50<=0.3ms": results["requests_1"]["proxy"]["p50_ms"]
            - results["requests_1"]["direct"]["p50_ms"]
            <= 0.3,
            "rss<=100MB": held <= 100,
        }
        print(json.dumps(verdict))
    finally:
        if proxy is not None:
            proxy.stop()
        if api is not None:
            api.stop()
        if etcd is not None:
            etcd.stop()
        processes.stop_pid(backend.pid, 5, backend)
        remove_workdir(workdir)


if __name__ == "__main__":
    main()
