"""Host-local IPAM: the pod IPs this kubelet hands out on its pod network.

Docker gives a container an address when it starts and takes it back when it
stops, so a pod whose one container is its own sandbox (solo.py) would get a new IP
at every container restart. Kubernetes promises one IP for the pod's whole life, so
the kubelet allocates it itself, as CNI's host-local plugin does, and starts the
container with that fixed address (Docker's `--ip`): a restart, which is a new
container, keeps it. Sandboxes get theirs the same way, so that Docker's own
allocator, which knows nothing of an address whose solo container is stopped
between two restarts, never hands out one of ours.

State is host-local's: one file per allocated address, `<dir>/<ip>`, holding the
pod uid, and `last_reserved_ip`, where the next search starts (round robin: an
address just released is not the next one given, so nothing meant for a pod just
gone reaches the next). The kubelet keeps the directory under its root dir, one per
pod network (`<root-dir>/ipam/<network>`); a kubelet restart reads it back, so a
pod keeps its address and none is given twice. Each allocation holds an flock on
the directory. Addresses other allocators use (other kubelets sharing the Docker
network, containers someone ran there by hand) come in as `taken`, read from Docker.

Pure file-system logic: no Docker here (kubelet/podsync.py asks Docker).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import ipaddress
import os
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

LAST_RESERVED = "last_reserved_ip"
LOCK = "lock"


class Exhausted(Exception):
    """Every address of the pool is allocated."""


@dataclass(frozen=True)
class Pool:
    """The addresses a pod may get: the network's subnet without its network and
    broadcast addresses and its gateway. Docker's own dynamic range (`IPRange`), when
    the network has one, is used last: Docker hands those out to containers that ask
    for no address.

    The pool is a few spans of consecutive addresses, in search order, and is indexed
    by arithmetic: a Docker network is a /16 by default, and listing its 65,534
    addresses for every allocation cost the kubelet ~35 ms of CPU per pod (py-spy, 30
    pods at once: 41% of its samples)."""

    subnet: ipaddress.IPv4Network
    gateway: ipaddress.IPv4Address | None = None
    docker_range: ipaddress.IPv4Network | None = None

    @cached_property
    def _spans(self) -> tuple[tuple[int, int], ...]:
        """(first, last) of each run of addresses, inclusive, in search order."""
        low = int(self.subnet.network_address) + 1
        high = int(self.subnet.broadcast_address) - 1
        spans = [(low, high)]
        if self.docker_range is not None:
            first = max(low, int(self.docker_range.network_address))
            last = min(high, int(self.docker_range.broadcast_address))
            if first <= last:  # outside Docker's range first, then inside it
                spans = [(low, first - 1), (last + 1, high), (first, last)]
        if self.gateway is not None:
            gw = int(self.gateway)
            spans = [
                part
                for start, end in spans
                for part in (
                    ((start, gw - 1), (gw + 1, end)) if start <= gw <= end else ((start, end),)
                )
            ]
        return tuple((start, end) for start, end in spans if start <= end)

    @property
    def size(self) -> int:
        return sum(end - start + 1 for start, end in self._spans)

    def address_at(self, index: int) -> ipaddress.IPv4Address:
        """The address at `index` (0 <= index < size) of the search order."""
        for start, end in self._spans:
            if index <= end - start:
                return ipaddress.IPv4Address(start + index)
            index -= end - start + 1
        raise IndexError(index)

    def index_of(self, address: ipaddress.IPv4Address) -> int | None:
        """Where `address` is in the search order; None when the pool lacks it."""
        value, before = int(address), 0
        for start, end in self._spans:
            if start <= value <= end:
                return before + value - start
            before += end - start + 1
        return None


DEFAULT_BRIDGE_OPTION = "com.docker.network.bridge.default_bridge"


def pool_from_network(network: dict[str, Any]) -> Pool | None:
    """The IPv4 pool of a Docker network, from `docker network inspect`; None when
    Docker refuses fixed addresses on it: no IPv4 subnet of its own, or Docker's default
    `bridge` (`--pod-network bridge`), whose subnet is Docker's ("user specified IP
    address is supported on user defined networks only")."""
    if (network.get("Options") or {}).get(DEFAULT_BRIDGE_OPTION) == "true":
        return None
    for config in ((network.get("IPAM") or {}).get("Config")) or []:
        try:
            subnet = ipaddress.ip_network(config.get("Subnet") or "", strict=False)
        except ValueError:
            continue
        if not isinstance(subnet, ipaddress.IPv4Network) or subnet.num_addresses < 4:
            continue
        gateway = None
        if config.get("Gateway"):
            gateway = ipaddress.IPv4Address(config["Gateway"].split("/")[0])
        else:  # Docker's default gateway: the subnet's first address
            gateway = subnet.network_address + 1
        docker_range = None
        if config.get("IPRange"):
            with contextlib.suppress(ValueError):
                parsed = ipaddress.ip_network(config["IPRange"], strict=False)
                if isinstance(parsed, ipaddress.IPv4Network):
                    docker_range = parsed
        return Pool(subnet, gateway, docker_range)
    return None


def first_offset(seed: str, size: int) -> int:
    """Where a fresh store starts searching: kubelets sharing a network (several
    nodes on one host) then start far apart, not all at the subnet's first address."""
    if size <= 0:
        return 0
    return int.from_bytes(hashlib.sha256(seed.encode()).digest()[:4], "big") % size


class HostLocalStore:
    """Allocated addresses as files in one directory (host-local's disk store)."""

    def __init__(self, directory: Path, seed: str = "") -> None:
        self.directory = directory
        self.seed = seed

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.directory.mkdir(parents=True, exist_ok=True)
        with open(self.directory / LOCK, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _entries(self) -> dict[str, str]:
        """address → owner, as on disk (no lock)."""
        found: dict[str, str] = {}
        if not self.directory.is_dir():
            return found
        for path in self.directory.iterdir():
            try:
                ipaddress.IPv4Address(path.name)
            except ValueError:
                continue  # the lock, last_reserved_ip, a temporary file
            with contextlib.suppress(OSError):
                found[path.name] = path.read_text().strip()
        return found

    def allocations(self) -> dict[str, str]:
        """address → pod uid, every address allocated."""
        with self._locked():
            return self._entries()

    def owned(self, owner: str) -> str | None:
        """The address `owner` holds, if any."""
        with self._locked():
            return _address_of(self._entries(), owner)

    def allocate(self, owner: str, pool: Pool, taken: Collection[str] = ()) -> str:
        """The address of `owner` (a pod uid): the one it holds already, in `pool`,
        else the next free one after the last given. `taken`: addresses others use.
        Exhausted when none is free."""
        with self._locked():
            entries = self._entries()
            held = _address_of(entries, owner, pool)
            if held is not None:
                return held
            size = pool.size
            if not size:
                raise Exhausted(f"no addresses in {pool.subnet}")
            start = self._start(pool)
            busy = set(entries) | set(taken)
            for step in range(size):
                ip = str(pool.address_at((start + step) % size))
                if ip in busy:
                    continue
                try:
                    fd = os.open(self.directory / ip, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
                except FileExistsError:
                    continue
                with os.fdopen(fd, "w") as out:
                    out.write(owner + "\n")
                (self.directory / LAST_RESERVED).write_text(ip + "\n")
                return ip
            raise Exhausted(f"all {size} addresses of {pool.subnet} are allocated")

    def _start(self, pool: Pool) -> int:
        """The index after the last address given (round robin), or a fresh store's
        seeded start."""
        with contextlib.suppress(OSError, ValueError):
            last = ipaddress.IPv4Address((self.directory / LAST_RESERVED).read_text().strip())
            index = pool.index_of(last)
            if index is not None:
                return index + 1
        return first_offset(self.seed, pool.size)

    def release(self, owner: str) -> list[str]:
        """Free every address `owner` holds; returns them."""
        with self._locked():
            freed = [ip for ip, who in self._entries().items() if who == owner]
            for ip in freed:
                with contextlib.suppress(FileNotFoundError):
                    (self.directory / ip).unlink()
            return freed

    def release_address(self, address: str, owner: str) -> bool:
        """Free one address if `owner` still holds it (an address Docker says someone
        else uses)."""
        with self._locked():
            if self._entries().get(address) != owner:
                return False
            with contextlib.suppress(FileNotFoundError):
                (self.directory / address).unlink()
            return True

    def release_unknown(self, known: Collection[str], before: float) -> list[str]:
        """Free the addresses of owners not in `known` (pods gone while the kubelet
        was down, or whose containers were never made) that were allocated before
        `before` (epoch seconds: when `known` was read, so an allocation made since,
        for a pod `known` missed, stays); returns the owners."""
        with self._locked():
            gone = set()
            for ip, who in self._entries().items():
                if who in known:
                    continue
                with contextlib.suppress(OSError):
                    if (self.directory / ip).stat().st_mtime < before:
                        gone.add(who)
        for owner in gone:
            self.release(owner)
        return sorted(gone)


def _address_of(entries: dict[str, str], owner: str, pool: Pool | None = None) -> str | None:
    for ip, who in sorted(entries.items()):
        if who == owner and (pool is None or ipaddress.IPv4Address(ip) in pool.subnet):
            return ip
    return None
