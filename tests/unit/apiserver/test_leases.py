"""Event TTLs (--event-ttl): which keys expire, and the sharing of etcd leases between
writes (kube-apiserver's leaseManager), with a fake clock and a fake etcd grant."""

from __future__ import annotations

import asyncio

from apiserver.app import storage_ttls
from apiserver.config import parse_args
from apiserver.leases import OBJECTS_PER_LEASE, LeaseManager, reuse_seconds


class FakeEtcd:
    def __init__(self) -> None:
        self.granted: list[int] = []  # the TTL of each lease granted, in order

    async def grant(self, seconds: int) -> int:
        self.granted.append(seconds)
        return len(self.granted)  # lease ids 1, 2, ...


def leases(times: list[float], ttl: int) -> tuple[list[int], list[int]]:
    """The lease of a write at each time, and the TTLs granted."""
    etcd, now = FakeEtcd(), [0.0]
    manager = LeaseManager(etcd.grant, clock=lambda: now[0])

    async def run() -> list[int]:
        out = []
        for t in times:
            now[0] = t
            out.append(await manager.lease(ttl))
        return out

    return asyncio.run(run()), etcd.granted


def test_an_hour_ttl_shares_one_lease_per_minute_of_writes() -> None:
    assert reuse_seconds(3600) == 60 and reuse_seconds(2) == 0
    ids, granted = leases([0, 1, 59.5, 60, 61, 121, 121.5], 3600)
    # each lease lives 61 min: a write up to 60 s after the grant still gets its hour
    assert ids == [1, 1, 1, 1, 2, 2, 3]
    assert granted == [3660, 3660, 3660]


def test_a_lease_carries_at_most_1000_objects() -> None:
    ids, granted = leases([0.0] * (OBJECTS_PER_LEASE + 1), 3600)
    assert ids.count(1) == OBJECTS_PER_LEASE and ids[-1] == 2 and len(granted) == 2


def test_a_short_ttl_is_never_stretched() -> None:
    ids, granted = leases([0, 0, 0.5, 3], 2)
    assert ids == [1, 1, 2, 3] and granted == [2, 2, 2]


def test_events_expire_an_hour_after_their_last_write_by_default() -> None:
    assert parse_args([]).event_ttl == 3600
    assert storage_ttls(parse_args([])) == {"/registry/events/": 3600}
    assert storage_ttls(parse_args(["--event-ttl=2s"])) == {"/registry/events/": 2}
    assert storage_ttls(parse_args(["--event-ttl=0"])) == {}
