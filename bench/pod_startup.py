"""Pod start-up latency and kubelet footprint, beside plain Docker, same run.

- 20, then 30 pods (`--pods`) created at once (one thread each) on one node:
  latency from each create request to its pod observed `Running` through a watch.
- Baseline: `docker run -d` of the same image and command, as many at once:
  latency until each command returned (container started). Measured both with the
  docker CLI (literally `docker run -d`) and with the Docker SDK (no CLI process).
- Footprint with the pods running: the kubelet's CPU (% of one core, over 30 s
  at steady state, from /proc/<pid>/stat) and RSS.
- Where each pod's time went, from Docker's own timestamps of its container: create
  request → container created (the kubelet's reaction and its wait for a start slot),
  → process started (Docker's create and start), → Running seen (the status path);
  and the CPU seconds Docker (dockerd + containerd), the kubelet, the apiserver and
  etcd used from the first create to the last Running (Docker's also for each baseline).
- `--kubelet-tree LABEL=DIR` (with `--kubelet-env LABEL:NAME=VALUE`) runs the pods
  again with another source tree's kubelet, or this one's with other settings, after
  this tree's and against the same baseline. They run one after another, so a machine
  whose load drifts favours one of them: compare a tree with itself (`again=.`) too.

Targets (issue 18): median ratio (pods / docker run) <= 1.15 at 20 and 30 pods,
p99 <= 3 s for 30 pods;
kubelet CPU <= 5 %, RSS <= 150 MB.

Everything runs on this machine: a real etcd, the apiserver and a kubelet process
started here, Docker containers labelled with this run's id and removed at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import docker
import docker.errors
import httpx

from api.clusterdefaults import (
    NODE_CONTAINER_LABEL,
    POD_NAME_CONTAINER_LABEL,
    POD_NETWORK_LABEL,
)
from deploy import processes
from deploy.controlplane import make_workdir, remove_workdir, start_apiserver, start_etcd
from deploy.images import ensure_busybox_image

BENCH_LABEL = "io.minik.bench"
COMMAND = ["sleep", "3600"]
CLK_TCK = os.sysconf("SC_CLK_TCK")
CPU_GROUPS = ("docker", "kubelet", "apiserver", "etcd")
NODE_PREFIX = os.environ.get("MINIK_BENCH_NODE_PREFIX", "bench-")


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (with 30 samples, p99 is the slowest)."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[index]


def summary(values: list[float]) -> str:
    return (
        f"p50 {statistics.median(values):6.2f}s  p99 {percentile(values, 99):6.2f}s  "
        f"max {max(values):6.2f}s"
    )


# ---- baseline: plain Docker ---------------------------------------------------------


def docker_run_cli(image: str, run_id: str, count: int) -> list[float]:
    """(the CLI's own processes' CPU is not counted: they are gone when measured)"""

    def one(_: int) -> float:
        began = time.monotonic()
        subprocess.run(
            ["docker", "run", "-d", "--label", f"{BENCH_LABEL}={run_id}", image, *COMMAND],
            check=True,
            capture_output=True,
        )
        return time.monotonic() - began

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def docker_run_sdk(image: str, run_id: str, count: int) -> list[float]:
    client = docker.from_env(max_pool_size=count)

    def one(_: int) -> float:
        began = time.monotonic()
        client.containers.run(image, COMMAND, detach=True, labels={BENCH_LABEL: run_id})
        return time.monotonic() - began

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(one, range(count)))


def remove_labelled(label: str, value: str) -> None:
    client = docker.from_env()
    entries = client.api.containers(all=True, filters={"label": [f"{label}={value}"]})
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda e: _remove(client, e["Id"]), entries))


def remove_pod_network(client: docker.DockerClient, network: str) -> None:
    """The Docker network a bench's kubelet made for `network` (by its label)."""
    for net in client.api.networks(filters={"label": [f"{POD_NETWORK_LABEL}={network}"]}):
        with contextlib.suppress(docker.errors.APIError):
            client.api.remove_network(net["Id"])


def _remove(client: docker.DockerClient, container_id: str) -> None:
    with contextlib.suppress(docker.errors.APIError):
        client.api.remove_container(container_id, force=True, v=True)


# ---- minik pods ---------------------------------------------------------------------


class RunningWatcher(threading.Thread):
    """Watches the namespace's pods; records when each is first seen Running."""

    def __init__(self, http: httpx.Client, namespace: str, resource_version: str) -> None:
        super().__init__(daemon=True)
        self.http = http
        self.namespace = namespace
        self.resource_version = resource_version
        self.running_at: dict[str, float] = {}
        self.expected = 0
        self.done = threading.Event()

    def run(self) -> None:
        params = {"watch": "true", "resourceVersion": self.resource_version}
        path = f"/api/v1/namespaces/{self.namespace}/pods"
        with self.http.stream("GET", path, params=params, timeout=None) as resp:
            for line in resp.iter_lines():
                if not line.strip():
                    continue
                event = json.loads(line)
                obj = event.get("object") or {}
                name = (obj.get("metadata") or {}).get("name", "")
                phase = (obj.get("status") or {}).get("phase")
                if phase == "Running" and name not in self.running_at:
                    self.running_at[name] = time.monotonic()
                    if self.expected and len(self.running_at) >= self.expected:
                        self.done.set()
                        return


def pod(name: str, node: str, image: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "bench"}},
        "spec": {
            "nodeName": node,
            "terminationGracePeriodSeconds": 1,
            "containers": [
                {
                    "name": "app",
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": COMMAND,
                }
            ],
        },
    }


def _docker_time(text: str) -> float:
    """Docker's RFC 3339 timestamp (nanoseconds) as epoch seconds."""
    day, _, rest = text.partition("T")
    clock = rest.rstrip("Z").split("+")[0]
    whole, _, fraction = clock.partition(".")
    stamp = time.mktime(time.strptime(f"{day}T{whole}", "%Y-%m-%dT%H:%M:%S")) - time.timezone
    return stamp + float(f"0.{fraction or 0}")


def breakdown(
    node: str, created_wall: dict[str, float], running_wall: dict[str, float]
) -> dict[str, list[float]]:
    """Where each pod's time went, from Docker's own timestamps of its containers:
    create request → first container created (the kubelet's reaction: watch,
    worker, image, address, start slot), → its process started (Docker's create and
    start), → Running seen in the watch (the status path)."""
    client = docker.from_env()
    phases: dict[str, list[float]] = {"to docker create": [], "docker": [], "to Running": []}
    entries = client.api.containers(all=True, filters={"label": [f"{NODE_CONTAINER_LABEL}={node}"]})
    first: dict[str, tuple[float, float]] = {}
    for entry in entries:
        name = (entry.get("Labels") or {}).get(POD_NAME_CONTAINER_LABEL, "")
        if name not in created_wall:
            continue
        inspected = client.api.inspect_container(entry["Id"])
        created = _docker_time(inspected["Created"])
        started = _docker_time(inspected["State"]["StartedAt"])
        if name not in first or created < first[name][0]:
            first[name] = (created, started)
    for name, (created, started) in first.items():
        phases["to docker create"].append(created - created_wall[name])
        phases["docker"].append(started - created)
        phases["to Running"].append(running_wall[name] - started)
    return phases


def cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime (fields 14, 15)


def docker_pids() -> list[int]:
    """The machine's dockerd and its containerd (read-only, from /proc): the Docker
    side's CPU. Other dockerds on this machine (`minik up --hosts` runs one per
    host, with a --data-root of its own) are not ours."""
    procs: dict[int, tuple[str, int, str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError):
                comm = (entry / "comm").read_text().strip()
                if comm in ("dockerd", "containerd"):
                    ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                    procs[int(entry.name)] = (comm, ppid, (entry / "cmdline").read_text())
    daemons = [pid for pid, (comm, _, cmd) in procs.items() if comm == "dockerd"]
    daemons = [pid for pid in daemons if "--data-root" not in procs[pid][2]]
    return daemons + [pid for pid, (comm, ppid, _) in procs.items() if ppid in daemons]


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            total += cpu_ticks(pid)
    return total / CLK_TCK


class CpuMeter:
    """CPU seconds each named process set used between `start` and `stop`."""

    def __init__(self, groups: dict[str, list[int]]) -> None:
        self.groups = groups
        self.used: dict[str, float] = {}

    def start(self) -> None:
        self.used = {name: -cpu_seconds(pids) for name, pids in self.groups.items()}

    def stop(self) -> None:
        for name, pids in self.groups.items():
            self.used[name] += cpu_seconds(pids)

    def __str__(self) -> str:
        return ", ".join(f"{name} {used:.2f}" for name, used in self.used.items())


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def measure_pods(
    count: int,
    image: str,
    settle: float,
    window: float,
    workdir: Path,
    tree: Path | None = None,
    env: dict[str, str] | None = None,
) -> tuple[list[float], float, float, dict[str, list[float]]]:
    etcd = start_etcd(workdir / "etcd-run")
    apiserver = start_apiserver(etcd, workdir / "apiserver")
    node = f"{NODE_PREFIX}{secrets.token_hex(3)}"
    network = f"minik-bench-{secrets.token_hex(3)}"
    port = processes.free_port()
    kubelet = processes.spawn(
        "kubelet",
        [
            sys.executable,
            "-m",
            "kubelet",
            "--kubeconfig",
            str(apiserver.kubeconfig),
            "--node-name",
            node,
            "--root-dir",
            str(workdir / "kubelet"),
            "--node-ip",
            "127.0.0.1",
            "--port",
            str(port),
            "--pod-network",
            network,
            *processes.kubelet_serving_flags(
                apiserver.workdir / "pki", node, "127.0.0.1", workdir / "kubelet" / "pki"
            ),
        ],
        workdir / "kubelet.log",
        env=env,
        cwd=tree,
    )
    try:
        processes.wait_for(
            lambda: processes.kubelet_healthy(port, apiserver.token, apiserver.ca_file),
            60,
            kubelet,
            "kubelet",
        )
        meter = CpuMeter(
            {
                "docker": docker_pids(),
                "kubelet": [kubelet.pid],
                "apiserver": [apiserver.running().pid],
                "etcd": [etcd.process.pid],
            }
        )
        phases: dict[str, list[float]] = {}
        with apiserver.http() as http:
            namespace = "bench"
            r = http.post("/api/v1/namespaces", json={"metadata": {"name": namespace}})
            assert r.status_code == 201, r.text
            listed = http.get(f"/api/v1/namespaces/{namespace}/pods").json()
            watcher = RunningWatcher(http, namespace, listed["metadata"]["resourceVersion"])
            watcher.expected = count
            watcher.start()
            time.sleep(0.5)
            created_at: dict[str, float] = {}

            def create(i: int) -> None:
                name = f"p{i:02d}"
                created_at[name] = time.monotonic()
                resp = http.post(
                    f"/api/v1/namespaces/{namespace}/pods", json=pod(name, node, image)
                )
                assert resp.status_code == 201, resp.text

            meter.start()
            with ThreadPoolExecutor(count) as pool:
                list(pool.map(create, range(count)))
            if not watcher.done.wait(120):
                raise RuntimeError(
                    f"only {len(watcher.running_at)}/{count} pods Running:\n{kubelet.log_tail()}"
                )
            meter.stop()
            phases["cpu"] = [meter.used[name] for name in meter.groups]  # see CPU_GROUPS
            latencies = [watcher.running_at[n] - created_at[n] for n in created_at]
            to_wall = time.time() - time.monotonic()
            phases |= breakdown(
                node,
                {n: t + to_wall for n, t in created_at.items()},
                {n: t + to_wall for n, t in watcher.running_at.items()},
            )
            time.sleep(settle)
            before, began = cpu_ticks(kubelet.pid), time.monotonic()
            time.sleep(window)
            used = (cpu_ticks(kubelet.pid) - before) / CLK_TCK
            cpu = 100.0 * used / (time.monotonic() - began)
            rss = rss_mb(kubelet.pid)
    finally:
        kubelet.stop(timeout=20)
        if keep := os.environ.get("MINIK_BENCH_KEEP_LOGS"):  # a directory for the logs
            Path(keep).mkdir(parents=True, exist_ok=True)
            with contextlib.suppress(OSError):
                shutil.copy(workdir / "kubelet.log", Path(keep) / f"kubelet-{node}-{count}.log")
        remove_labelled(NODE_CONTAINER_LABEL, node)
        remove_pod_network(docker.from_env(), network)
        apiserver.stop()
        etcd.stop()
    return latencies, cpu, rss, phases


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def _counts(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--pods", type=_counts, default=[20, 30], help="pods at once, e.g. 20,30 (each a round)"
    )
    parser.add_argument("--settle", type=float, default=5.0, help="seconds before sampling CPU")
    parser.add_argument("--window", type=float, default=30.0, help="CPU sampling window (s)")
    parser.add_argument(
        "--kubelet-tree",
        action="append",
        default=[],
        metavar="LABEL=PATH",
        help="also run the pods with the kubelet of another source tree (e.g. "
        "main=/work/main; `.` is this tree), after this tree's, against the same baseline",
    )
    parser.add_argument(
        "--kubelet-env",
        action="append",
        default=[],
        metavar="LABEL:NAME=VALUE",
        help="an environment variable for the kubelet of one --kubelet-tree "
        "(`this tree` for the default one)",
    )
    args = parser.parse_args()
    image = ensure_busybox_image()
    run_id = secrets.token_hex(4)
    trees: list[tuple[str, Path | None]] = [("this tree", None)]
    for entry in args.kubelet_tree:
        label, _, path = entry.partition("=")
        trees.append((label, None if path == "." else Path(path)))
    envs: dict[str, dict[str, str]] = {}
    for entry in args.kubelet_env:
        label, _, assignment = entry.partition(":")
        name, _, value = assignment.partition("=")
        envs.setdefault(label, {})[name] = value
    for count in args.pods:
        workdir = make_workdir("minik-bench-pods-")
        results = []
        try:
            load_before = load_average()
            dockerd = CpuMeter({"docker": docker_pids()})
            dockerd.start()
            cli = docker_run_cli(image, run_id, count)
            dockerd.stop()
            cli_cpu = dockerd.used["docker"]
            remove_labelled(BENCH_LABEL, run_id)
            dockerd.start()
            sdk = docker_run_sdk(image, run_id, count)
            dockerd.stop()
            sdk_cpu = dockerd.used["docker"]
            remove_labelled(BENCH_LABEL, run_id)
            for label, tree in trees:
                sub = workdir / secrets.token_hex(2)
                sub.mkdir()
                measured = measure_pods(
                    count, image, args.settle, args.window, sub, tree, envs.get(label)
                )
                results.append((label, *measured))
            load_after = load_average()
        finally:
            remove_labelled(BENCH_LABEL, run_id)
            remove_workdir(workdir)
        print(f"{count} at once, same image `{image}`, `{' '.join(COMMAND)}`:")
        print(f"  load average before {load_before}, after {load_after}")
        print(f"  docker run -d (CLI, {count} threads)   {summary(cli)}  docker CPU {cli_cpu:.2f}s")
        print(f"  docker SDK run (API, {count} threads)  {summary(sdk)}  docker CPU {sdk_cpu:.2f}s")
        for label, pods, cpu, rss, phases in results:
            print(f"  minik pods create → Running (watch), kubelet of {label}:")
            print(f"    {summary(pods)}")
            ratio_cli = statistics.median(pods) / statistics.median(cli)
            ratio_sdk = statistics.median(pods) / statistics.median(sdk)
            print(f"    median ratio pods / docker run -d: {ratio_cli:.2f}  (target <= 1.15)")
            print(f"    median ratio pods / docker SDK:    {ratio_sdk:.2f}")
            print(f"    pod p99 {percentile(pods, 99):.2f}s  (target <= 3 s at 30 pods)")
            cpu_used = phases.pop("cpu", [])
            for phase, values in phases.items():
                if values:
                    print(f"      {phase:18s} {summary(values)}")
            if cpu_used:
                used = ", ".join(f"{n} {v:.2f}" for n, v in zip(CPU_GROUPS, cpu_used, strict=True))
                print(f"      CPU seconds, create → all Running: {used}")
            print(f"    kubelet with {count} running pods, {args.window:.0f}s at steady state:")
            print(f"      CPU {cpu:.2f}% of one core  (target <= 5%)")
            print(f"      RSS {rss:.1f} MB  (target <= 150 MB)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
