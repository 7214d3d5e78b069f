"""etcd leases for objects that expire (Events, --event-ttl), shared between writes as
kube-apiserver's etcd3 leaseManager shares them: one lease per ~minute of writes rather
than one per object, which would be a lease grant (a raft proposal) per Event.

A lease granted at t for ttl + reuse seconds serves every write until t + reuse: an
object written then still lives at least `ttl` seconds. `reuse` is 5% of the TTL, at
most 60 s (1h Events: a new lease every minute, each lives 61 min); a lease carries at
most 1000 objects, so that its expiry deletes a bounded batch."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

REUSE_PERCENT = 0.05
REUSE_SECONDS_MAX = 60
OBJECTS_PER_LEASE = 1000


def reuse_seconds(ttl: int) -> int:
    return min(int(ttl * REUSE_PERCENT), REUSE_SECONDS_MAX)


class LeaseManager:
    """`lease(ttl)`: the id of an etcd lease under which an object written now lives at
    least `ttl` seconds. `grant(seconds)` asks etcd for a new lease and returns its id."""

    def __init__(
        self,
        grant: Callable[[int], Awaitable[int]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._grant = grant
        self._clock = clock
        self._lock = asyncio.Lock()
        self._id = 0
        self._expires = 0.0  # when the current lease ends (clock time)
        self._attached = 0

    async def lease(self, ttl: int) -> int:
        async with self._lock:
            now = self._clock()
            reuse = reuse_seconds(ttl)
            lives_long_enough = now + ttl <= self._expires
            not_too_long = now + ttl + reuse >= self._expires
            if lives_long_enough and not_too_long and self._attached < OBJECTS_PER_LEASE:
                self._attached += 1
                return self._id
            self._id = await self._grant(ttl + reuse)
            self._expires = now + ttl + reuse
            self._attached = 1
            return self._id
