"""Hollow nodes: Node objects that look Ready and keep their Lease fresh, with no
kubelet and no Docker behind them — what kubemark's hollow nodes and kwok do, for
exercising the scheduler and controllers at scale on one machine.

    python -m kubelet.hollow --kubeconfig F --count 100 --prefix hollow-

registers hollow-0 … hollow-99 (cpu 32, memory 64Gi, pods 110 unless told
otherwise) and renews each node's Lease in kube-node-lease every 10 s until stopped.
With `--watch-pods` each node also watches its pods as a kubelet does (an informer with
fieldSelector spec.nodeName=<node>: one watch connection per node, the node registered
once it has listed), so the apiserver carries a cluster's watch fan-out, not just its
writes. Pods bound to a hollow node stay Pending: nothing runs them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from api.errors import AlreadyExists, ApiError, NotFound
from api.resources import LEASES, NODES, PODS
from client.informer import Informer
from client.kubeconfig import load as load_kubeconfig
from client.rest import MAX_CONNECTIONS, AsyncClient
from kubelet.node import (
    KUBELET_VERSION,
    LEASE_NAMESPACE,
    NodeFacts,
    lease_object,
    node_object,
)
from kubelet.nodestatus import LEASE_RENEW_SECONDS

log = logging.getLogger(__name__)
DEFAULT_CAPACITY = {"cpu": "32", "memory": "64Gi", "pods": "110"}
HOLLOW_LABEL = "minik.io/hollow"


def hollow_node(name: str, capacity: Mapping[str, str]) -> dict[str, Any]:
    """A Node as a kubelet registers it (kubelet/node.py's builders), Ready, with
    allocatable = capacity, a hostname for its only address and no kubelet port."""
    facts = NodeFacts(
        name=name,
        internal_ip="",
        kubelet_port=0,
        container_runtime_version="hollow://0.1.0",
        kubelet_version=f"{KUBELET_VERSION}-hollow",
        labels={HOLLOW_LABEL: "true"},
    )
    return node_object(facts, capacity)  # Ready


async def register_node(api: AsyncClient, name: str, capacity: Mapping[str, str]) -> None:
    """Create the Node and its Lease; an existing Node is set Ready again."""
    node = hollow_node(name, capacity)
    try:
        created = await api.create(NODES, node)
    except AlreadyExists:
        created = await api.patch(NODES, name, {"status": node["status"]}, subresource="status")
    try:
        lease = lease_object(name, created["metadata"].get("uid"))
        await api.create(LEASES, lease, LEASE_NAMESPACE)
    except AlreadyExists:
        await renew_lease(api, name)


async def renew_lease(api: AsyncClient, name: str) -> None:
    patch = {"spec": lease_object(name, None)["spec"]}  # a new renewTime
    try:
        await api.patch(LEASES, name, patch, "merge", LEASE_NAMESPACE)
    except NotFound:
        await api.create(LEASES, lease_object(name, None), LEASE_NAMESPACE)


def pod_informer(api: AsyncClient, name: str) -> Informer:
    """The watch a kubelet keeps on its node's pods (kubelet/kubelet.py's own)."""
    return Informer(api, PODS, field_selector=f"spec.nodeName={name}")


async def _bounded(
    names: Iterable[str], concurrency: int, fn: Callable[[str], Awaitable[None]]
) -> None:
    gate = asyncio.Semaphore(concurrency)

    async def one(name: str) -> None:
        async with gate:
            try:
                await fn(name)
            except ApiError as err:
                log.warning("hollow node %s: %s", name, err)

    await asyncio.gather(*(one(n) for n in names))


async def run_hollow_nodes(
    api: AsyncClient,
    names: list[str],
    capacity: Mapping[str, str],
    stop_event: asyncio.Event,
    *,
    renew_interval: float = LEASE_RENEW_SECONDS,
    concurrency: int = 16,
    registered: asyncio.Event | None = None,
    watch_api: AsyncClient | None = None,
) -> None:
    """Register the nodes (Ready, with `capacity`), then renew their Leases every
    `renew_interval` seconds until `stop_event` is set. With `watch_api` each node
    first starts a kubelet's pod informer on it, and registers once they have all
    listed: a node is Ready only once it watches its pods. `registered` is set once
    every node and Lease exists. The nodes are left in place when it returns.

    The Leases go through `api` alone, as a kubelet's heartbeats go through a client
    of their own: a thousand informers (re)connecting must not hold a renewal up
    past the node lifecycle controller's grace period."""
    informers = [pod_informer(watch_api, n) for n in names] if watch_api is not None else []
    for informer in informers:
        informer.start()
    try:
        for informer in informers:
            await informer.wait_for_sync()
        await _bounded(names, concurrency, lambda n: register_node(api, n, capacity))
        watching = ", watching their pods" if informers else ""
        log.info("registered %d hollow nodes%s", len(names), watching)
        if registered is not None:
            registered.set()
        while not stop_event.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop_event.wait(), renew_interval)
            if not stop_event.is_set():
                await _bounded(names, concurrency, lambda n: renew_lease(api, n))
    finally:
        await asyncio.gather(*(informer.stop() for informer in informers))
        if informers:
            log.info("pods seen by the hollow nodes' watches: %d", sum(map(len, informers)))


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m kubelet.hollow", description=__doc__.split("\n")[0])
    p.add_argument("--kubeconfig")
    p.add_argument("--count", type=int, default=10)
    p.add_argument("--prefix", default="hollow-")
    p.add_argument("--cpu", default=DEFAULT_CAPACITY["cpu"])
    p.add_argument("--memory", default=DEFAULT_CAPACITY["memory"])
    p.add_argument("--pods", default=DEFAULT_CAPACITY["pods"])
    p.add_argument("--renew-interval", type=float, default=LEASE_RENEW_SECONDS)
    p.add_argument(
        "--watch-pods",
        action="store_true",
        help="each node watches its pods as a kubelet does (one connection per node)",
    )
    return p.parse_args(argv)


async def _main(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    names = [f"{args.prefix}{i}" for i in range(args.count)]
    capacity = {"cpu": args.cpu, "memory": args.memory, "pods": args.pods}
    config = load_kubeconfig(args.kubeconfig)
    async with contextlib.AsyncExitStack() as stack:
        api = await stack.enter_async_context(AsyncClient(config))
        watch_api = None
        if args.watch_pods:  # one connection per node's watch, and room for its lists
            pool = args.count + MAX_CONNECTIONS
            watch_api = await stack.enter_async_context(AsyncClient(config, max_connections=pool))
        await run_hollow_nodes(
            api,
            names,
            capacity,
            stop,
            renew_interval=args.renew_interval,
            watch_api=watch_api,
        )


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s hollow %(levelname)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not a line per lease renewal
    asyncio.run(_main(_parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
