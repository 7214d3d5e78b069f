"""What one container start costs Docker, by network setting (no minik at all).

Each variant creates and starts `--count` containers of the same image and command,
`--in-flight` at a time, through the Docker SDK (create + start, as the kubelet
calls them), and prints the median wall time of the whole batch and of one
create+start. Variants:

- bridge:        Docker's default bridge (what `docker run -d` uses)
- net:           a user-defined bridge network of our own (Docker's embedded DNS
                 resolver is set up in every container's namespace there)
- net-ip:        the same with a fixed `--ip` and a hostname (a solo pod's container)
- net-ip-dns:    the same with `--dns`/`--dns-search`/`--dns-opt` (cluster DNS)
- net-ip-resolv: the same with a bind-mounted resolv.conf instead (kubelet-written)

Rounds alternate the variants so that the machine's load falls on all of them alike.
Everything is labelled with this run's id and removed at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import docker
import docker.errors
import docker.types

from deploy.images import ensure_busybox_image

LABEL = "io.minik.bench-dockerstart"
COMMAND = ["sleep", "3600"]
VARIANTS = ["bridge", "net", "net-ip", "net-ip-dns", "net-ip-resolv"]


def run_batch(
    client: docker.APIClient, count: int, in_flight: int, make: Callable[[int], dict[str, Any]]
) -> tuple[float, list[float]]:
    def one(i: int) -> float:
        began = time.monotonic()
        kwargs = make(i)
        networking = kwargs.pop("networking_config", None)
        created = client.create_container(**kwargs, networking_config=networking)
        client.start(created["Id"])
        return time.monotonic() - began

    began = time.monotonic()
    with ThreadPoolExecutor(in_flight) as pool:
        each = list(pool.map(one, range(count)))
    return time.monotonic() - began, each


def remove(client: docker.APIClient, run_id: str) -> None:
    entries = client.containers(all=True, filters={"label": [f"{LABEL}={run_id}"]})
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda e: client.remove_container(e["Id"], force=True), entries))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--in-flight", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args()
    image = ensure_busybox_image()
    run_id = secrets.token_hex(4)
    client = docker.from_env(timeout=120, max_pool_size=args.in_flight + 4).api
    second, third = 200 + secrets.randbelow(50), secrets.randbelow(250)
    subnet = ipaddress.IPv4Network(f"10.{second}.{third}.0/24")
    net_name = f"minik-bench-ds-{run_id}"
    net = client.create_network(
        net_name,
        driver="bridge",
        labels={LABEL: run_id},
        ipam=docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet=str(subnet))]),
    )
    resolv = Path(tempfile.mkdtemp(prefix="minik-bench-ds-")) / "resolv.conf"
    resolv.write_text("search default.svc.cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n")
    hosts = list(subnet.hosts())[10:]
    variants = args.variants.split(",")
    totals: dict[str, list[float]] = {v: [] for v in variants}
    each: dict[str, list[float]] = {v: [] for v in variants}

    def maker(variant: str) -> Callable[[int], dict[str, Any]]:
        def make(i: int) -> dict[str, Any]:
            host: dict[str, Any] = {"log_config": {"type": "json-file"}}
            kwargs: dict[str, Any] = {
                "image": image,
                "command": COMMAND,
                "labels": {LABEL: run_id},
                "detach": True,
            }
            if variant != "bridge":
                host["network_mode"] = net_name
            if variant.startswith("net-ip"):
                kwargs["hostname"] = f"pod-{i}"
                endpoint = client.create_endpoint_config(ipv4_address=str(hosts[i]))
                kwargs["networking_config"] = {"EndpointsConfig": {net_name: endpoint}}
            if variant == "net-ip-dns":
                host.update(
                    dns=["10.96.0.10"],
                    dns_search=["default.svc.cluster.local", "svc.cluster.local"],
                    dns_opt=["ndots:5"],
                )
            if variant == "net-ip-resolv":
                host["binds"] = [f"{resolv}:/etc/resolv.conf:rw"]
            kwargs["host_config"] = client.create_host_config(**host)
            return kwargs

        return make

    try:
        for _ in range(args.rounds):
            for variant in variants:
                total, times = run_batch(client, args.count, args.in_flight, maker(variant))
                totals[variant].append(total)
                each[variant].extend(times)
                remove(client, run_id)
        print(f"{args.count} containers, {args.in_flight} in flight, {args.rounds} rounds:")
        base = statistics.median(totals[variants[0]])
        for variant in variants:
            med = statistics.median(totals[variant])
            print(
                f"  {variant:14s} batch median {med:6.2f}s ({med / base:4.2f}x)  "
                f"one create+start median {statistics.median(each[variant]) * 1000:6.0f} ms"
            )
    finally:
        remove(client, run_id)
        with contextlib.suppress(docker.errors.APIError):
            client.remove_network(net["Id"])
        resolv.unlink(missing_ok=True)
        resolv.parent.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
