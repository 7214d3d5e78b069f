"""The ingress controller vs a direct connection to its backend, same run, same
client, same backend.

Starts etcd, the apiserver and the ingress controller (`python -m ingress`), a
keep-alive HTTP/1.1 backend process on loopback (a small GET answered with a 1 KB
body; busybox httpd, the pods' web server elsewhere, closes every connection, so it
cannot show keep-alive), and a Service with Endpoints pointing at it plus an Ingress
routing `bench.local` `/` to it. Then, directly to the backend and through the
ingress, alternating (ABBA...) so drifting machine load hits both:

- keep-alive GETs at 16 connections (and at 1): requests/s, p50 and p99 latency;
- the p50 latency the ingress adds (through minus direct) at 1 and 16 connections.

Target (issue 15): >= 0.5x direct requests/s at 16 connections. The client, the
backend and the ingress are three processes on the same (2-core, shared) machine.
All traffic stays on loopback; every loop is bounded in time."""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import pct
from componentbase.run import run
from deploy import processes
from deploy.controlplane import make_workdir, remove_workdir, start_apiserver, start_etcd

HOST = "bench.local"
BODY = b"x" * 1024
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s" % (
    len(BODY),
    BODY,
)


# ---- the backend (a separate process) -------------------------------------------------


class _Backend(asyncio.Protocol):
    """Answers every complete GET head with RESPONSE; keeps the connection."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            self.buffer = self.buffer[end + 4 :]
            self.transport.write(RESPONSE)  # type: ignore[attr-defined]


async def serve_backend(port: int) -> None:
    loop = asyncio.get_running_loop()
    await loop.create_server(_Backend, "127.0.0.1", port, backlog=1024)
    print("backend ready", flush=True)
    await asyncio.sleep(3600)


# ---- the client ------------------------------------------------------------------------


async def request_loop(port: int, connections: int, seconds: float) -> tuple[float, list[float]]:
    """Each connection GETs over and over (one request in flight), for `seconds`."""
    request = f"GET /bench HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode()
    latencies: list[float] = []
    streams = [await asyncio.open_connection("127.0.0.1", port) for _ in range(connections)]
    deadline = time.perf_counter() + seconds

    async def one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        clock = time.perf_counter
        while clock() < deadline:
            start = clock()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"unexpected answer {head[:80]!r}")
            length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
            await reader.readexactly(length)
            latencies.append(clock() - start)

    started = time.perf_counter()
    await asyncio.gather(*(one(r, w) for r, w in streams))
    elapsed = time.perf_counter() - started
    for _, w in streams:
        w.close()
    return len(latencies) / elapsed, latencies


def measure(targets: dict[str, int], conns: int, seconds: float, rounds: int) -> dict:
    rps: dict[str, list[float]] = {k: [] for k in targets}
    p50: dict[str, list[float]] = {k: [] for k in targets}
    p99: dict[str, list[float]] = {k: [] for k in targets}
    order = list(targets.items())
    for i in range(rounds):
        for label, port in order if i % 2 == 0 else order[::-1]:
            throughput, lat = run(request_loop(port, conns, seconds), fast_loop=True)
            rps[label].append(throughput)
            p50[label].append(statistics.median(lat) * 1e3)
            p99[label].append(pct(lat, 99) * 1e3)
    row: dict = {
        label: {
            "rps": round(statistics.median(rps[label])),
            "p50_ms": round(statistics.median(p50[label]), 3),
            "p99_ms": round(statistics.median(p99[label]), 3),
        }
        for label in targets
    }
    row["ratio"] = round(
        statistics.median(i / d for d, i in zip(rps["direct"], rps["ingress"], strict=True)), 3
    )
    row["added_p50_ms"] = round(row["ingress"]["p50_ms"] - row["direct"]["p50_ms"], 3)
    return row


# ---- orchestration ---------------------------------------------------------------------


def create_objects(http: object, backend_port: int) -> None:
    objects = [
        (
            "/api/v1/namespaces/default/services",
            {
                "metadata": {"name": "bench"},
                "spec": {"ports": [{"name": "http", "port": 80, "targetPort": backend_port}]},
            },
        ),
        (
            "/api/v1/namespaces/default/endpoints",
            {
                "metadata": {"name": "bench"},
                "subsets": [
                    {
                        "addresses": [{"ip": "127.0.0.1"}],
                        "ports": [{"name": "http", "port": backend_port}],
                    }
                ],
            },
        ),
        (
            "/apis/networking.k8s.io/v1/namespaces/default/ingresses",
            {
                "metadata": {"name": "bench"},
                "spec": {
                    "rules": [
                        {
                            "host": HOST,
                            "http": {
                                "paths": [
                                    {
                                        "path": "/",
                                        "pathType": "Prefix",
                                        "backend": {
                                            "service": {"name": "bench", "port": {"number": 80}}
                                        },
                                    }
                                ]
                            },
                        }
                    ]
                },
            },
        ),
    ]
    for path, body in objects:
        r = http.post(path, json=body)  # type: ignore[attr-defined]
        r.raise_for_status()


def wait_routed(port: int, ingress: processes.Process, seconds: float = 30.0) -> None:
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not ingress.alive():
            raise RuntimeError(f"the ingress exited:\n{ingress.log_tail()}")
        try:
            r = httpx.get(f"http://127.0.0.1:{port}/bench", headers={"Host": HOST}, timeout=2)
            if r.status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the ingress did not route the bench host in time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per figure")
    parser.add_argument("--serve-backend", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_backend:
        run(serve_backend(args.serve_backend), fast_loop=True)
        return

    workdir = make_workdir("minik-bench-ingress-")
    backend_port, http_port = processes.free_port(), processes.free_port()
    backend = subprocess.Popen(
        [sys.executable, __file__, "--serve-backend", str(backend_port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    etcd = api = ingress = None
    try:
        assert backend.stdout is not None
        backend.stdout.readline()
        etcd = start_etcd(workdir)
        api = start_apiserver(etcd, workdir / "apiserver")
        with api.http() as http:
            create_objects(http, backend_port)
        ingress = processes.spawn(
            "ingress",
            [
                sys.executable,
                "-m",
                "ingress",
                "--kubeconfig",
                str(api.kubeconfig),
                "--bind-address",
                "127.0.0.1",
                "--http-port",
                str(http_port),
                "--https-port",
                str(processes.free_port()),
            ],
            workdir / "ingress.log",
        )
        wait_routed(http_port, ingress)
        targets = {"direct": backend_port, "ingress": http_port}
        result = {
            f"{conns}_connections": measure(targets, conns, args.seconds, args.rounds)
            for conns in (16, 1)
        }
        print(json.dumps(result, indent=2))
        ratio = result["16_connections"]["ratio"]
        print(f"ingress/direct requests/s at 16 connections: {ratio:.2f} (target >= 0.5)")
    finally:
        if ingress is not None:
            ingress.stop()
        if api is not None:
            api.stop()
        if etcd is not None:
            etcd.stop()
        processes.stop_pid(backend.pid, 5, backend)
        remove_workdir(workdir)


if __name__ == "__main__":
    main()
