"""A kubelet's pod IPs: its host-local store (kubelet/ipam.py) beside Docker's view.

The store knows what this kubelet gave out; Docker knows what every container on
the pod network holds, running or stopped with a fixed address (other kubelets
sharing the network, containers run there by hand). An allocation skips both. Docker's
view is read at most once in TAKEN_FOR and shared by the allocations meanwhile (30
pods created at once cost one `docker ps`; a Job's pods, arriving a few a second for
as long as it runs, one every TAKEN_FOR: Docker is the bottleneck of a pod's start on
this machine, bench/jobs.py), and an address Docker then refuses as in use is marked
taken until the next read. This kubelet's own pods are in its store, so the view only
has to catch others' addresses, whose owners allocate from other offsets (ipam.py).
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from pathlib import Path

from kubelet.ipam import HostLocalStore, Pool, pool_from_network
from kubelet.runtime import DockerRuntime

log = logging.getLogger(__name__)

TAKEN_FOR = 10.0  # seconds Docker's view of the network is reused


class PodAddresses:
    def __init__(
        self, runtime: DockerRuntime, network_name: str, pool: Pool, store: HostLocalStore
    ) -> None:
        self.runtime = runtime
        self.network_name = network_name
        self.pool = pool
        self.store = store
        self._taken: set[str] = set()
        self._taken_at = float("-inf")
        self._refused: set[str] = set()  # in use by someone Docker's last view missed
        self._reading: asyncio.Future[set[str]] | None = None

    @classmethod
    async def for_network(
        cls, runtime: DockerRuntime, network_name: str, network_id: str, root_dir: Path, seed: str
    ) -> PodAddresses | None:
        """The pod IPs of the network, or None when Docker cannot give it fixed
        addresses (no IPv4 subnet)."""
        inspected = await runtime.network(network_id)
        pool = pool_from_network(inspected or {})
        if pool is None:
            return None
        store = HostLocalStore(root_dir / "ipam" / network_name, seed=seed)
        return cls(runtime, network_name, pool, store)

    async def _docker_view(self) -> set[str]:
        if time.monotonic() - self._taken_at < TAKEN_FOR:
            return self._taken | self._refused
        if self._reading is None:
            self._reading = asyncio.ensure_future(self.runtime.network_addresses(self.network_name))
        reading = self._reading
        try:
            taken = await asyncio.shield(reading)
        finally:
            if self._reading is reading and reading.done():
                self._reading = None
        if self._taken_at < time.monotonic() - TAKEN_FOR:
            self._taken, self._taken_at, self._refused = taken, time.monotonic(), set()
        return self._taken | self._refused

    async def allocate(self, uid: str) -> str:
        """The pod's address (the one it holds, else a new one); ipam.Exhausted."""
        held = await asyncio.to_thread(self.store.owned, uid)
        if held is not None and ipaddress.IPv4Address(held) in self.pool.subnet:
            return held  # no need to ask Docker
        taken = await self._docker_view()
        return await asyncio.to_thread(self.store.allocate, uid, self.pool, taken)

    def held(self, uid: str) -> str | None:
        return self.store.owned(uid)

    async def refused(self, uid: str, address: str) -> None:
        """Docker said another container holds the pod's new address: give it up and
        skip it until Docker's view shows who has it."""
        self._refused.add(address)
        if await asyncio.to_thread(self.store.release_address, address, uid):
            log.info("pod %s: address %s is in use outside this kubelet; another", uid, address)

    async def release(self, uid: str) -> None:
        freed = await asyncio.to_thread(self.store.release, uid)
        if freed:
            log.debug("pod %s: released %s", uid, ", ".join(freed))

    async def release_unknown(self, known: set[str]) -> list[str]:
        """Free the addresses of pods not in `known` (read just now)."""
        return await asyncio.to_thread(self.store.release_unknown, known, time.time())
