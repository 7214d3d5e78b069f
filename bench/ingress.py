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
from collections.abc import Callable
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
            throughput, lat = run(request_loop(port, conns, seconds))
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
    for label in targets:
        if label == "direct":
            continue
        suffix = "" if label == "ingress" else f"_{label}"
        row[f"ratio{suffix}"] = round(
            statistics.median(i / d for d, i in zip(rps["direct"], rps[label], strict=True)), 3
        )
        row[f"added_p50_ms{suffix}"] = round(row[label]["p50_ms"] - row["direct"]["p50_ms"], 3)
    return row


# ---- the reference proxy (nginx, one worker, as an ingress-nginx pod would) ------------

NGINX_CONF = """daemon off;
master_process off;
worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/nginx-error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    keepalive_requests 10000000;
    client_body_temp_path {workdir}/nginx-body;
    proxy_temp_path {workdir}/nginx-proxy;
    fastcgi_temp_path {workdir}/nginx-fastcgi;
    uwsgi_temp_path {workdir}/nginx-uwsgi;
    scgi_temp_path {workdir}/nginx-scgi;
    upstream backend {{
        server 127.0.0.1:{backend_port};
        keepalive 32;
        keepalive_requests 10000000;
    }}
    server {{
        listen 127.0.0.1:{port};
        server_name {host};
        location / {{
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
        }}
    }}
}}
"""


def start_nginx(workdir: Path, backend_port: int, port: int) -> subprocess.Popen:
    """nginx (Debian's) in front of the same backend: the same-run reference for what a
    C proxy on this machine makes of the same load, with one worker as our one process."""
    conf = workdir / "nginx.conf"
    conf.write_text(
        NGINX_CONF.format(workdir=workdir, backend_port=backend_port, port=port, host=HOST)
    )
    return subprocess.Popen(
        ["nginx", "-c", str(conf), "-e", str(workdir / "nginx-error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


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


def wait_routed(
    port: int, alive: Callable[[], bool], what: str = "the ingress", seconds: float = 30.0
) -> None:
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not alive():
            raise RuntimeError(f"{what} exited")
        try:
            r = httpx.get(f"http://127.0.0.1:{port}/bench", headers={"Host": HOST}, timeout=2)
            if r.status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what} did not route the bench host in time")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="per measurement")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per figure")
    parser.add_argument(
        "--reference",
        choices=["nginx"],
        help="also measure Debian's nginx (one worker) in front of the same backend",
    )
    parser.add_argument("--serve-backend", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_backend:
        run(serve_backend(args.serve_backend))
        return

    workdir = make_workdir("minik-bench-ingress-")
    backend_port, http_port = processes.free_port(), processes.free_port()
    backend = subprocess.Popen(
        [sys.executable, __file__, "--serve-backend", str(backend_port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    etcd = api = ingress = None
    nginx: subprocess.Popen | None = None
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
        try:
            wait_routed(http_port, ingress.alive)
        except RuntimeError as err:
            raise RuntimeError(f"{err}:\n{ingress.log_tail()}") from None
        targets = {"direct": backend_port, "ingress": http_port}
        if args.reference == "nginx":
            nginx_port = processes.free_port()
            nginx = start_nginx(workdir, backend_port, nginx_port)
            wait_routed(nginx_port, lambda: nginx.poll() is None, "nginx")
            targets["nginx"] = nginx_port
        result = {
            f"{conns}_connections": measure(targets, conns, args.seconds, args.rounds)
            for conns in (16, 1)
        }
        print(json.dumps(result, indent=2))
        ratio = result["16_connections"]["ratio"]
        print(f"ingress/direct requests/s at 16 connections: {ratio:.2f} (target >= 0.5)")
        if nginx is not None:
            reference = result["16_connections"]["ratio_nginx"]
            print(f"nginx/direct requests/s at 16 connections, same run: {reference:.2f}")
    finally:
        if nginx is not None:
            processes.stop_pid(nginx.pid, 5, nginx)
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
