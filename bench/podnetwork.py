"""Pod-to-pod TCP across hosts (host-gw and vxlan) beside pod-to-pod on one host, in
the same run.

Builds the network-namespace lab of deploy/netlab.py (hosts h1 and h2 on one LAN
segment, h3 on another behind a router; two pods on h1, one on each other host), a
real etcd and apiserver, the Nodes, and one `python -m netagent` per host inside its
namespace. Then, for each backend in turn (agents restarted, `--cleanup` between):

- throughput: one TCP connection, 1 MiB writes for `--seconds`, bytes the receiver
  counted over the time to its last byte;
- latency: `--round-trips` 1-byte request/response round trips on one connection
  (TCP_NODELAY): p50 and p99;

between two pods on h1 (the baseline: the host's bridge only), from h1's pod to h2's
(one segment) and, with vxlan, to h3's (routed); vxlan once more with the pods at the
VXLAN device's MTU (1450, as flannel sets it) instead of 1500. It prints each pair beside the
baseline measured in the same phase: throughput ratio and added p50 latency. The
sender and receiver are small Python programs (the same on every path), so absolute
figures are Python's; the ratios are what the path costs. All traffic stays inside
the lab's namespaces, which are removed at the end.

    sudo .venv/bin/python bench/podnetwork.py [--seconds 3] [--round-trips 2000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from deploy import netlab, processes
from deploy.controlplane import ApiServer, make_workdir, remove_workdir, start_apiserver, start_etcd

PORT = 5201

SERVER = r"""
import socket, sys
srv = socket.create_server(("0.0.0.0", int(sys.argv[1])))
print("ready", flush=True)
buf = bytearray(1 << 20)
while True:
    conn, _ = srv.accept()
    mode = conn.recv(1)
    if mode == b"T":  # count bytes until EOF, answer the count
        total = 0
        while n := conn.recv_into(buf):
            total += n
        conn.sendall(str(total).encode())
    elif mode == b"L":  # echo single bytes until EOF
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        while b := conn.recv(1):
            conn.sendall(b)
    elif mode == b"Q":
        conn.close()
        break
    conn.close()
"""

CLIENT = r"""
import json, socket, sys, time
host, port, mode, arg = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
s = socket.create_connection((host, port), timeout=30)
if mode == "T":
    chunk = b"\0" * (1 << 20)
    s.sendall(b"T")
    start = time.perf_counter()
    while time.perf_counter() - start < arg:
        s.sendall(chunk)
    s.shutdown(socket.SHUT_WR)
    total = int(s.recv(64))
    print(json.dumps({"bytes": total, "seconds": time.perf_counter() - start}))
else:
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(b"L")
    times = []
    for _ in range(int(arg)):
        t = time.perf_counter()
        s.sendall(b"x")
        s.recv(1)
        times.append(time.perf_counter() - t)
    s.shutdown(socket.SHUT_WR)
    times.sort()
    print(json.dumps({"p50": times[len(times) // 2], "p99": times[int(len(times) * 0.99)]}))
"""


def start_servers(lab: netlab.Lab, workdir: Path) -> list[processes.Process]:
    out = []
    for host in lab.hosts:
        for pod in host.pods:
            argv = netlab.nsenter(pod.ns, sys.executable, "-c", SERVER, str(PORT))
            out.append(processes.spawn(f"server-{pod.ns}", argv, workdir / f"{pod.ns}.log"))
    deadline = time.monotonic() + 20
    for proc in out:
        while "ready" not in proc.log_tail(5):
            if time.monotonic() > deadline or not proc.alive():
                raise RuntimeError(f"{proc.name} did not start: {proc.log_tail()}")
            time.sleep(0.1)
    return out


def client(src: netlab.Pod, dst: netlab.Pod, mode: str, arg: float) -> dict:
    done = netlab.in_ns(src.ns, sys.executable, "-c", CLIENT, dst.ip, str(PORT), mode, str(arg))
    return json.loads(done.stdout)


def measure(src: netlab.Pod, dst: netlab.Pod, seconds: float, trips: int) -> dict:
    t = client(src, dst, "T", seconds)
    lat = client(src, dst, "L", trips)
    return {"gbit": t["bytes"] * 8 / t["seconds"] / 1e9, "p50": lat["p50"], "p99": lat["p99"]}


def start_agents(
    api: ApiServer, lab: netlab.Lab, backend: str, workdir: Path
) -> list[processes.Process]:
    procs = []
    for host in lab.hosts:
        kubeconfig = str(api.kubeconfig_as(f"kubelet-{host.name}"))
        argv = netlab.netagent_argv(sys.executable, host.ns, kubeconfig, host.name, backend)
        procs.append(processes.spawn(f"netagent-{host.name}", argv, workdir / f"{backend}.log"))
    return procs


def wait_reachable(src: netlab.Pod, dst: netlab.Pod) -> None:
    deadline = time.monotonic() + 30
    while not netlab.ping(src, dst.ip):
        if time.monotonic() > deadline:
            raise RuntimeError(f"{src.ns} cannot reach {dst.ip}")


MTUS: dict[str, int] = {}


def mtu(ns: str, device: str) -> int:
    return int(json.loads(netlab.in_ns(ns, "ip", "-j", "link", "show", device).stdout)[0]["mtu"])


Pair = tuple[str, netlab.Pod, netlab.Pod]


def phase(
    lab: netlab.Lab,
    api: ApiServer,
    backend: str,
    pairs: list[Pair],
    args: argparse.Namespace,
    workdir: Path,
) -> dict[str, dict]:
    """The pairs' medians with `backend`'s agents running (removed afterwards)."""
    agents = start_agents(api, lab, backend, workdir)
    try:
        start = time.monotonic()
        for _, src, dst in pairs:
            wait_reachable(src, dst)
        print(f"{backend}: pods reach each other {time.monotonic() - start:.1f} s after the "
              "agents started", flush=True)  # fmt: skip
        host = lab.hosts[0]
        MTUS.update({"host eth0": mtu(host.ns, "eth0")})
        if backend == "vxlan":
            MTUS["minik.1"] = mtu(host.ns, "minik.1")
        results: dict[str, list[dict]] = {name: [] for name, _, _ in pairs}
        for _ in range(args.rounds):  # interleaved rounds: noise hits every path alike
            for name, src, dst in pairs:
                results[name].append(measure(src, dst, args.seconds, args.round_trips))
        return {
            name: {k: statistics.median(r[k] for r in rs) for k in ("gbit", "p50", "p99")}
            for name, rs in results.items()
        }
    finally:
        for proc in agents:
            proc.stop()
        for host in lab.hosts:
            netlab.in_ns(host.ns, sys.executable, "-m", "netagent", "--cleanup", check=False)


def set_pod_mtu(lab: netlab.Lab, value: int) -> None:
    """Every pod's eth0 and its host-side veth at `value` (flannel gives pods the VXLAN
    device's MTU; the pod bridge follows its ports)."""
    for host in lab.hosts:
        for k, pod in enumerate(host.pods):
            netlab.ip("link", "set", "eth0", "mtu", str(value), ns=pod.ns)
            netlab.ip("link", "set", f"veth{k}", "mtu", str(value), ns=host.ns)


def report(backend: str, figures: dict[str, dict]) -> None:
    base = figures["same host"]
    print(f"\n{backend}:")
    print(f"  {'path':<28} {'Gbit/s':>7} {'ratio':>6} {'p50 µs':>7} {'p99 µs':>7} {'+p50 µs':>8}")
    for name, f in figures.items():
        print(
            f"  {name:<28} {f['gbit']:7.2f} {f['gbit'] / base['gbit']:6.2f} "
            f"{f['p50'] * 1e6:7.0f} {f['p99'] * 1e6:7.0f} {(f['p50'] - base['p50']) * 1e6:8.0f}"
        )


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--round-trips", type=int, default=2000)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    if os.geteuid() != 0:
        print("needs root (network namespaces)", file=sys.stderr)
        return 1
    workdir = make_workdir("minik-bench-podnet-")
    etcd = start_etcd(workdir)
    api = start_apiserver(etcd, workdir / "apiserver")
    lab = netlab.build(f"nb{os.getpid()}", [["h1", "h2"], ["h3"]], pods_per_host=2)
    relay = netlab.LoopbackRelay(api.port)
    servers: list[processes.Process] = []
    try:
        for host in lab.hosts:
            relay.add(host.ns)
        with api.http() as http:
            for host in lab.hosts:
                http.post("/api/v1/nodes", json=netlab.node_object(host)).raise_for_status()
        servers = start_servers(lab, workdir)
        h1, h2, h3 = lab.hosts
        same: Pair = ("same host", h1.pods[0], h1.pods[1])
        vxlan_pairs = [
            same,
            ("across hosts (one segment)", h1.pods[0], h2.pods[0]),
            ("across hosts (routed)", h1.pods[0], h3.pods[0]),
        ]
        out = {
            "host-gw": phase(lab, api, "host-gw",
                             [same, ("across hosts (one segment)", h1.pods[0], h2.pods[0])],
                             args, workdir),
            "vxlan": phase(lab, api, "vxlan", vxlan_pairs, args, workdir),
        }  # fmt: skip
        set_pod_mtu(lab, MTUS["minik.1"])
        out[f"vxlan, pods at MTU {MTUS['minik.1']}"] = phase(
            lab, api, "vxlan", vxlan_pairs, args, workdir
        )
        print(f"pod-to-pod TCP, one connection, medians of {args.rounds} interleaved rounds "
              f"({args.seconds:.0f} s bulk, {args.round_trips} round trips each)")  # fmt: skip
        for backend, figures in out.items():
            report(backend, figures)
        print(f"\nMTU: {MTUS}; pods 1500 unless said")
    finally:
        for proc in servers:
            proc.stop()
        relay.close()
        lab.remove()
        api.stop()
        etcd.stop()
        remove_workdir(workdir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
