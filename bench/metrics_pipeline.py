"""What the resource metrics pipeline costs, beside the same node without it, same run.

A kubelet on the local Docker runs `--pods` (30) sleeping pods. Then, `--rounds`
times, two windows of `--window` seconds each, back to back:

- baseline: nobody scrapes; the kubelet's CPU (% of one core, /proc/<pid>/stat);
- with metrics: `python -m metrics` scrapes the kubelet every `--metric-resolution`
  and serves metrics.k8s.io through the apiserver's aggregation layer, while a
  reader asks for NodeMetrics and PodMetrics (as `kubectl top`) every
  `--metric-resolution` too. Measured: the kubelet's CPU and the metrics server's.

Printed: the medians of each, and the kubelet's added CPU (percentage points of one
core, and as a ratio to the baseline). Everything runs on this machine: a real etcd,
the apiserver, the kubelet and the metrics server started here; the containers and the
pod network are labelled with this run's node and removed at the end.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import docker
import docker.errors
import httpx

from api.clusterdefaults import NODE_CONTAINER_LABEL
from bench.pod_startup import (
    CLK_TCK,
    RunningWatcher,
    cpu_ticks,
    pod,
    remove_labelled,
    remove_pod_network,
)
from deploy import processes
from deploy.controlplane import (
    ApiServer,
    make_workdir,
    remove_workdir,
    start_apiserver,
    start_etcd,
)
from deploy.images import ensure_busybox_image

NAMESPACE = "bench"
METRICS = "/apis/metrics.k8s.io/v1beta1"


def cpu_percent(pids: list[int], window: float) -> list[float]:
    """Each process's CPU over `window` seconds, in % of one core."""
    before, began = [cpu_ticks(p) for p in pids], time.monotonic()
    time.sleep(window)
    elapsed = time.monotonic() - began
    return [
        100.0 * (cpu_ticks(p) - b) / CLK_TCK / elapsed for p, b in zip(pids, before, strict=True)
    ]


def start_kubelet(
    apiserver: ApiServer, node: str, network: str, workdir: Path
) -> processes.Process:
    port = processes.free_port()
    kubelet = processes.spawn(
        "kubelet",
        [
            sys.executable, "-m", "kubelet", "--kubeconfig", str(apiserver.kubeconfig),
            "--node-name", node, "--root-dir", str(workdir / "kubelet"),
            "--node-ip", "127.0.0.1", "--port", str(port), "--pod-network", network,
            *processes.kubelet_serving_flags(
                apiserver.workdir / "pki", node, "127.0.0.1", workdir / "kubelet" / "pki"
            ),
        ],
        workdir / "kubelet.log",
    )  # fmt: skip
    processes.wait_for(
        lambda: processes.kubelet_healthy(port, apiserver.token, apiserver.ca_file),
        60,
        kubelet,
        "kubelet",
    )
    return kubelet


def start_metrics_server(
    apiserver: ApiServer, resolution: float, workdir: Path, http: httpx.Client
) -> processes.Process:
    """The metrics server, once its first scrape is served through the apiserver."""
    server = processes.spawn(
        "metrics",
        [
            sys.executable, "-m", "metrics", "--kubeconfig", str(apiserver.kubeconfig),
            "--port", "0", "--metric-resolution", f"{resolution}s",
        ],
        workdir / "metrics.log",
    )  # fmt: skip

    def serving() -> bool:
        r = http.get(f"{METRICS}/namespaces/{NAMESPACE}/pods")
        return r.status_code == 200 and bool(r.json().get("items"))

    processes.wait_for(serving, 90, server, "the metrics server's first scrape")
    return server


def read_metrics(http: httpx.Client, until: float, every: float) -> int:
    """`kubectl top node` and `top pod` every `every` seconds until `until`; reads."""
    reads = 0
    while time.monotonic() < until:
        for path in (f"{METRICS}/nodes", f"{METRICS}/namespaces/{NAMESPACE}/pods"):
            http.get(path).raise_for_status()
            reads += 1
        time.sleep(min(every, max(0.0, until - time.monotonic())))
    return reads


def run_pods(http: httpx.Client, count: int, node: str, image: str) -> None:
    r = http.post("/api/v1/namespaces", json={"metadata": {"name": NAMESPACE}})
    assert r.status_code == 201, r.text
    listed = http.get(f"/api/v1/namespaces/{NAMESPACE}/pods").json()
    watcher = RunningWatcher(http, NAMESPACE, listed["metadata"]["resourceVersion"])
    watcher.expected = count
    watcher.start()

    def create(i: int) -> None:
        resp = http.post(f"/api/v1/namespaces/{NAMESPACE}/pods", json=pod(f"p{i:02d}", node, image))
        assert resp.status_code == 201, resp.text

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(create, range(count)))
    if not watcher.done.wait(180):
        raise RuntimeError(f"only {len(watcher.running_at)}/{count} pods Running")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pods", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--window", type=float, default=30.0, help="seconds per window")
    parser.add_argument("--metric-resolution", type=float, default=15.0, help="seconds")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds before measuring")
    args = parser.parse_args()
    image = ensure_busybox_image()
    workdir = make_workdir("minik-bench-metrics-")
    node = f"metricsbench-{secrets.token_hex(3)}"
    network = f"minik-metricsbench-{secrets.token_hex(3)}"
    etcd = start_etcd(workdir / "etcd-run")
    apiserver = start_apiserver(etcd, workdir / "apiserver")
    kubelet: processes.Process | None = None
    baseline: list[float] = []
    kubelet_with: list[float] = []
    server_cpu: list[float] = []
    try:
        kubelet = start_kubelet(apiserver, node, network, workdir)
        with apiserver.http() as http:
            run_pods(http, args.pods, node, image)
            time.sleep(args.settle)
            for i in range(args.rounds):
                [idle] = cpu_percent([kubelet.pid], args.window)
                baseline.append(idle)
                server = start_metrics_server(apiserver, args.metric_resolution, workdir, http)
                try:
                    with ThreadPoolExecutor(1) as reader:
                        until = time.monotonic() + args.window
                        reads = reader.submit(read_metrics, http, until, args.metric_resolution)
                        busy, served = cpu_percent([kubelet.pid, server.pid], args.window)
                        reads.result()
                finally:
                    server.stop(timeout=10)
                kubelet_with.append(busy)
                server_cpu.append(served)
                print(
                    f"round {i + 1}: kubelet {idle:.2f}% without, {busy:.2f}% with; "
                    f"metrics server {served:.2f}%",
                    flush=True,
                )
    finally:
        if kubelet is not None:
            kubelet.stop(timeout=20)
        remove_labelled(NODE_CONTAINER_LABEL, node)
        remove_pod_network(docker.from_env(), network)
        apiserver.stop()
        etcd.stop()
        remove_workdir(workdir)
    without, with_ = statistics.median(baseline), statistics.median(kubelet_with)
    print(
        f"{args.pods} running pods, {args.rounds} rounds of {args.window:.0f} s windows, "
        f"scrapes and reads every {args.metric_resolution:.0f} s (medians, % of one core):"
    )
    print(f"  kubelet without metrics (baseline)   {without:6.2f}%")
    print(f"  kubelet while scraped                {with_:6.2f}%")
    print(f"  metrics server                       {statistics.median(server_cpu):6.2f}%")
    ratio = with_ / without if without > 0 else float("inf")
    print(f"  kubelet overhead: {with_ - without:+.2f} points of one core ({ratio:.2f}x baseline)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
