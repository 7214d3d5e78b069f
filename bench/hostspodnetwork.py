"""Pod-to-pod TCP on `minik up --hosts 2` (node IPAM), host-gw and vxlan, each beside
pod-to-pod on one host in the same cluster and run.

bench/podnetwork.py measures the agents on bare namespaces; this measures the pods
minik really runs: for each backend a cluster (`minik up --hosts 2
--allocate-node-cidrs --pod-network-backend B`, its own data dir and HOME), three
pods of minik/busybox pinned by nodeName (two on host 1, one on host 2), and the same
sender and receiver as bench/podnetwork.py (this machine's Python, run inside each
pod's network namespace with nsenter: busybox has no Python). Per pair, `--rounds`
interleaved rounds of one-connection throughput and 1-byte round trips; the medians,
each path beside the same-host pair of its own cluster. Pods keep Docker's MTU (1500)
as minik's kubelet makes them; the VXLAN device has 1450 (path MTU discovery fits
the segments). The clusters are removed (`minik down`) at the end.

    sudo .venv/bin/python bench/hostspodnetwork.py [--seconds 3] [--round-trips 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.podnetwork import CLIENT, PORT, SERVER, report
from deploy import processes
from deploy.hostplan import Plan

PREFIX = "h25b-"
# outside Docker's default address pools (172.17-31.0.0/16, 192.168.0.0/16): Docker hands
# them out in turn, and a network made meanwhile could take the /16 over this subnet
HOSTS_CIDR = "10.216.121.0/24"
CLUSTER_CIDR = "10.121.0.0/16"
PODS = {"same-a": 1, "same-b": 1, "other": 2}  # pod -> host index


def pod_manifest(name: str, node: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "podnet-bench"}},
        "spec": {
            "nodeName": node,
            "terminationGracePeriodSeconds": 0,
            "containers": [
                {
                    "name": "c",
                    "image": "minik/busybox:latest",
                    "imagePullPolicy": "Never",
                    "command": ["sleep", "3600"],
                }
            ],
        },
    }


class Cluster:
    def __init__(self, backend: str, workdir: Path) -> None:
        self.backend = backend
        self.data_dir = workdir / backend
        self.env = {**os.environ, "HOME": str(self.data_dir / "home")}
        self.plan: Plan | None = None

    def minik(self, *args: str) -> subprocess.CompletedProcess:
        argv = [sys.executable, "-m", "deploy.cli", *args, "--data-dir", str(self.data_dir)]
        return subprocess.run(argv, capture_output=True, text=True, timeout=300, env=self.env)

    def kubectl(self, *args: str, stdin: str | None = None) -> str:
        argv = ["kubectl", "--kubeconfig", str(self.data_dir / "kubeconfig"), *args]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=120, input=stdin)
        if out.returncode != 0:
            raise RuntimeError(f"kubectl {' '.join(args)}: {out.stderr}")
        return out.stdout

    def up(self) -> None:
        start = time.monotonic()
        up = self.minik(
            "up",
            "--hosts",
            "2",
            "--allocate-node-cidrs",
            "--cluster-cidr",
            CLUSTER_CIDR,
            "--pod-network-backend",
            self.backend,
            "--node-prefix",
            PREFIX,
            "--hosts-cidr",
            HOSTS_CIDR,
            "--api-port",
            str(processes.free_port()),
            "--ingress-http-port",
            str(processes.free_port()),
            "--ingress-https-port",
            str(processes.free_port()),
            "--dashboard-port",
            str(processes.free_port()),
        )
        if up.returncode != 0:
            raise RuntimeError(f"minik up ({self.backend}): {up.stdout}{up.stderr}")
        record = json.loads((self.data_dir / "hosts.json").read_text())
        self.plan = Plan.from_dict(record["plan"])
        print(
            f"{self.backend}: minik up --hosts 2 took {time.monotonic() - start:.0f} s", flush=True
        )

    def pods(self) -> dict[str, tuple[str, str]]:
        """pod -> (its IP, its network namespace's path), once all are Ready."""
        assert self.plan is not None
        hosts = {h.index: h for h in self.plan.hosts}
        items = [pod_manifest(name, hosts[i].node) for name, i in PODS.items()]
        self.kubectl(
            "apply",
            "-f",
            "-",
            stdin=json.dumps({"kind": "List", "apiVersion": "v1", "items": items}),
        )
        self.kubectl(
            "wait", "--for=condition=Ready", "pod", "-l", "app=podnet-bench", "--timeout=120s"
        )
        out = {}
        for name, i in PODS.items():
            ip = self.kubectl("get", "pod", name, "-o", "jsonpath={.status.podIP}")
            engine = docker.DockerClient(base_url=hosts[i].docker_host)
            found = engine.containers.list(filters={"label": f"io.minik.pod.name={name}"})
            pid = found[0].attrs["State"]["Pid"]
            out[name] = (ip, f"/proc/{pid}/ns/net")
        return out

    def down(self) -> None:
        self.minik("down")


def in_pod(netns: str, *argv: str) -> list[str]:
    return ["nsenter", f"--net={netns}", "--", *argv]


def client(src: str, dst_ip: str, mode: str, arg: float) -> dict:
    argv = in_pod(src, sys.executable, "-c", CLIENT, dst_ip, str(PORT), mode, str(arg))
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=True)
    return json.loads(done.stdout)


def measure(src: str, dst_ip: str, seconds: float, trips: int) -> dict:
    t = client(src, dst_ip, "T", seconds)
    lat = client(src, dst_ip, "L", trips)
    return {"gbit": t["bytes"] * 8 / t["seconds"] / 1e9, "p50": lat["p50"], "p99": lat["p99"]}


def phase(cluster: Cluster, args: argparse.Namespace, workdir: Path) -> dict[str, dict]:
    pods = cluster.pods()
    servers = [
        processes.spawn(
            f"server-{name}",
            in_pod(netns, sys.executable, "-c", SERVER, str(PORT)),
            workdir / f"{cluster.backend}-{name}.log",
        )
        for name, (_, netns) in pods.items()
        if name != "same-a"
    ]
    try:
        deadline = time.monotonic() + 20
        for proc in servers:
            while "ready" not in proc.log_tail(5):
                if time.monotonic() > deadline or not proc.alive():
                    raise RuntimeError(f"{proc.name} did not start: {proc.log_tail()}")
                time.sleep(0.1)
        src = pods["same-a"][1]
        pairs = {"same host": pods["same-b"][0], "across hosts": pods["other"][0]}
        results: dict[str, list[dict]] = {name: [] for name in pairs}
        for _ in range(args.rounds):  # interleaved: noise hits both paths alike
            for name, ip in pairs.items():
                results[name].append(measure(src, ip, args.seconds, args.round_trips))
        return {
            name: {k: statistics.median(r[k] for r in rs) for k in ("gbit", "p50", "p99")}
            for name, rs in results.items()
        }
    finally:
        for proc in servers:
            proc.stop()


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--round-trips", type=int, default=2000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--backends", default="host-gw,vxlan")
    args = p.parse_args()
    if os.geteuid() != 0:
        print("needs root (minik up --hosts)", file=sys.stderr)
        return 1
    out: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="minik-bench-hostspodnet-") as tmp:
        workdir = Path(tmp)
        for backend in args.backends.split(","):
            cluster = Cluster(backend, workdir)
            try:
                cluster.up()
                out[backend] = phase(cluster, args, workdir)
            finally:
                cluster.down()
    print(
        f"\npod-to-pod TCP on minik up --hosts 2 (node IPAM), one connection, medians of "
        f"{args.rounds} interleaved rounds ({args.seconds:.0f} s bulk, {args.round_trips} "
        "round trips each)"
    )
    for backend, figures in out.items():
        report(backend, figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
