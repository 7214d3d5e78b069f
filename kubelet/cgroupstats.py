"""CPU and memory of the containers this kubelet runs, read from their cgroups.

Reading two or three small files per container is far cheaper than Docker's stats
API (which samples for a second per call, or holds a stream open per container).
Docker places a container's cgroup by its full id:

- cgroup v1, cgroupfs driver: `<root>/cpuacct/docker/<id>/cpuacct.usage` (ns) and
  `<root>/memory/docker/<id>/memory.usage_in_bytes` + `memory.stat`;
- cgroup v1, systemd driver: the same controllers under `system.slice/docker-<id>.scope`;
- cgroup v2: `<root>/system.slice/docker-<id>.scope/` (systemd) or `<root>/docker/<id>/`
  (cgroupfs), with `cpu.stat` (`usage_usec`), `memory.current` and `memory.stat`.

The working set is what cAdvisor (and so Kubernetes) reports: usage minus the
inactive file cache, never below zero. The node's figures come from the root cgroup.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class Usage:
    """One sample: cumulative CPU seconds and the memory working set, at `timestamp`."""

    cpu_seconds: float
    working_set_bytes: int
    timestamp: float  # epoch seconds
    rss_bytes: int = 0
    usage_bytes: int = 0


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


def _stat_value(text: str | None, key: str) -> int | None:
    for line in (text or "").splitlines():
        name, _, value = line.partition(" ")
        if name == key and value.strip().isdigit():
            return int(value)
    return None


class CgroupStats:
    """Finds a container's cgroup directories once, then reads them on each call."""

    def __init__(self, root: Path = CGROUP_ROOT, clock: object = time.time) -> None:
        self.root = root
        self.v2 = (root / "cgroup.controllers").exists()
        self.clock = clock
        self._dirs: dict[str, tuple[Path, Path] | None] = {}

    def available(self) -> bool:
        return self.root.is_dir() and (self.v2 or (self.root / "cpuacct").is_dir())

    def _candidates(self, container_id: str) -> list[tuple[Path, Path]]:
        if self.v2:
            rels = [f"system.slice/docker-{container_id}.scope", f"docker/{container_id}"]
            return [(self.root / r, self.root / r) for r in rels]
        rels = [f"docker/{container_id}", f"system.slice/docker-{container_id}.scope"]
        pairs = []
        for rel in rels:
            for cpu in ("cpuacct", "cpu,cpuacct"):
                pairs.append((self.root / cpu / rel, self.root / "memory" / rel))
        return pairs

    def _find(self, container_id: str) -> tuple[Path, Path] | None:
        if container_id in self._dirs and self._dirs[container_id] is not None:
            return self._dirs[container_id]
        found = next((p for p in self._candidates(container_id) if p[0].is_dir()), None)
        self._dirs[container_id] = found
        return found

    def forget(self, keep: set[str]) -> None:
        """Drop the remembered directories of containers that are gone."""
        for cid in [c for c in self._dirs if c not in keep]:
            del self._dirs[cid]

    def container(self, container_id: str) -> Usage | None:
        """The container's usage now, or None when its cgroup is not (or no longer) there."""
        dirs = self._find(container_id)
        if dirs is None:
            return None
        usage = self._usage(*dirs)
        if usage is None:
            self._dirs.pop(container_id, None)
        return usage

    def node(self) -> Usage | None:
        """The whole machine: the root cgroup."""
        if self.v2:
            return self._usage(self.root, self.root, root=True)
        return self._usage(self.root / "cpuacct", self.root / "memory", root=True)

    def _usage(self, cpu_dir: Path, mem_dir: Path, root: bool = False) -> Usage | None:
        now = self.clock()  # type: ignore[operator]
        if self.v2:
            usec = _stat_value(_read(cpu_dir / "cpu.stat"), "usage_usec")
            if usec is None:
                return None
            cpu = usec / 1e6
            stat = _read(mem_dir / "memory.stat")
            current = _read(mem_dir / "memory.current")
            if current is not None and current.strip().isdigit():
                usage = int(current)
            elif root:
                usage = _meminfo_used()
            else:
                return None
            inactive = _stat_value(stat, "inactive_file") or 0
            rss = _stat_value(stat, "anon") or 0
        else:
            text = _read(cpu_dir / "cpuacct.usage")
            if text is None or not text.strip().isdigit():
                return None
            cpu = int(text) / 1e9
            raw = _read(mem_dir / "memory.usage_in_bytes")
            if raw is None or not raw.strip().isdigit():
                return None
            usage = int(raw)
            stat = _read(mem_dir / "memory.stat")
            key = "total_inactive_file" if _stat_value(stat, "total_inactive_file") else ""
            inactive = _stat_value(stat, key or "inactive_file") or 0
            rss = _stat_value(stat, "total_rss" if root else "rss") or 0
        return Usage(cpu, max(0, usage - inactive), now, rss, usage)


def _meminfo_used() -> int:
    """MemTotal - MemAvailable, for a cgroup v2 root (which has no memory.current)."""
    fields: dict[str, int] = {}
    for line in (_read(Path("/proc/meminfo")) or "").splitlines():
        name, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            fields[name] = int(parts[0]) * 1024
    return max(0, fields.get("MemTotal", 0) - fields.get("MemAvailable", 0))


def cpu_count() -> int:
    return os.cpu_count() or 1
