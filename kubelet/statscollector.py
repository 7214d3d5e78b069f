"""Samples this node's running containers on demand (each scrape), keeping the
previous sample of each to give rates. Reads cgroup files (kubelet/cgroupstats.py);
where a container's cgroup cannot be found (a kubelet inside a container, say) it
asks Docker once for that container's stats (`one-shot`, no stream).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from api.quantity import parse_quantity
from kubelet.cgroupstats import CgroupStats, Usage
from kubelet.pleg import RuntimeCache
from kubelet.resourcestats import ContainerStats, PodStats, Snapshot, nano_cores

log = logging.getLogger(__name__)

DockerStats = Callable[[str], Awaitable[dict[str, Any] | None]]


def usage_from_docker(stats: dict[str, Any], now: float) -> Usage | None:
    """Docker's stats document → a Usage (as cAdvisor: usage minus inactive file)."""
    cpu = (stats.get("cpu_stats") or {}).get("cpu_usage") or {}
    mem = stats.get("memory_stats") or {}
    if "total_usage" not in cpu:
        return None
    detail = mem.get("stats") or {}
    usage = int(mem.get("usage") or 0)
    inactive = int(detail.get("total_inactive_file", detail.get("inactive_file", 0)) or 0)
    rss = int(detail.get("total_rss", detail.get("anon", 0)) or 0)
    return Usage(int(cpu["total_usage"]) / 1e9, max(0, usage - inactive), now, rss, usage)


class StatsCollector:
    def __init__(
        self,
        node_name: str,
        cache: RuntimeCache,
        memory_capacity: str | None,
        docker_stats: DockerStats | None = None,
        cgroups: CgroupStats | None = None,
    ) -> None:
        self.node_name = node_name
        self.cache = cache
        self.cgroups = cgroups or CgroupStats()
        self.docker_stats = docker_stats
        self.memory_capacity = int(parse_quantity(memory_capacity)) if memory_capacity else 0
        self.started = time.time()
        self._previous: dict[str, Usage] = {}
        self._lock = asyncio.Lock()

    async def snapshot(self) -> Snapshot:
        async with self._lock:  # rates need samples in order
            return await self._snapshot()

    async def _snapshot(self) -> Snapshot:
        records = [r for r in self.cache.records.values() if r.running and not r.sandbox]
        ids = [r.id for r in records]
        samples, node = await asyncio.to_thread(self._read, ids)
        error = False
        for cid in ids:
            if samples.get(cid) is None and self.docker_stats is not None:
                try:
                    raw = await self.docker_stats(cid)
                except Exception as err:  # a container that just went away
                    log.debug("docker stats of %s: %s", cid[:12], err)
                    raw = None
                samples[cid] = usage_from_docker(raw, time.time()) if raw else None
            if samples.get(cid) is None:
                error = True
        pods: dict[str, PodStats] = {}
        for r in records:
            usage = samples.get(r.id)
            if usage is None:
                continue
            pod = pods.get(r.pod_uid)
            if pod is None:
                sandbox = self.cache.pod(r.pod_uid).latest_sandbox()
                start = sandbox.started_at if sandbox is not None else None
                pod = pods[r.pod_uid] = PodStats(r.pod_namespace, r.pod_name, r.pod_uid, start)
            rate = nano_cores(self._previous.get(r.id), usage)
            pod.containers.append(
                ContainerStats(
                    r.pod_namespace, r.pod_name, r.pod_uid, r.name, r.started_at, usage, rate
                )
            )
        node_rate = nano_cores(self._previous.get(""), node) if node is not None else None
        self._previous = {cid: u for cid, u in samples.items() if u is not None}
        if node is not None:
            self._previous[""] = node
        self.cgroups.forget(set(ids))
        return Snapshot(
            self.node_name,
            self.started,
            node,
            node_rate,
            self.memory_capacity,
            sorted(pods.values(), key=lambda p: (p.namespace, p.name)),
            error,
        )

    def _read(self, ids: list[str]) -> tuple[dict[str, Usage | None], Usage | None]:
        return {cid: self.cgroups.container(cid) for cid in ids}, self.cgroups.node()
