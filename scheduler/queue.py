"""The scheduling queue, after kube-scheduler's: three places a pending pod can be.

- **active**: ready to be tried in the QueueSort plugin's order (PrioritySort:
  highest priority first, then first queued);
- **backoff**: failed recently; waits 1 s, doubling per attempt up to 10 s;
- **unschedulable**: no node fitted; it stays until something that may change that
  happens (a node added or changed, an assigned pod gone: `move_all`) or it has
  waited `max_unschedulable_age` (`flush_unschedulable`, run periodically). A moved
  pod still inside its back-off goes to backoff first.

A popped pod is *in flight* until `done`/`requeue_*`. A move that happens while it
is in flight sends it to backoff rather than unschedulable, so the event that could
have made it fit is not lost. Waiting is on an asyncio.Event with a timeout set to
the next back-off expiry: no polling.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from scheduler.plugins.priority_sort import PrioritySort

ACTIVE, BACKOFF, UNSCHEDULABLE, IN_FLIGHT = "active", "backoff", "unschedulable", "in-flight"


class QueueSort(Protocol):
    def key(self, priority: int, timestamp: float) -> tuple: ...


class QueueClosed(Exception):
    """The queue was closed; the scheduling loop ends."""


@dataclass
class _Entry:
    key: str
    priority: int
    state: str = ACTIVE
    attempts: int = 0
    seq: int = 0  # identifies the entry's current heap item (older items are stale)
    timestamp: float = 0.0  # queued at: added, or its last attempt failed
    backoff_until: float = 0.0
    unschedulable_since: float = 0.0
    popped_at_move: int = 0
    moved_in_flight: bool = False


class SchedulingQueue:
    def __init__(
        self,
        initial_backoff: float = 1.0,
        max_backoff: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
        sort: QueueSort | None = None,
    ) -> None:
        self.sort: QueueSort = sort or PrioritySort()
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.clock = clock
        self._entries: dict[str, _Entry] = {}
        self._active: list[tuple[tuple, int, str]] = []  # (sort key, seq, key)
        self._backoff: list[tuple[float, int, str]] = []  # (until, seq, key)
        self._seq = itertools.count()
        self._moves = 0
        self._changed: asyncio.Event | None = None
        self._closed = False

    # ---- what is where ----------------------------------------------------------
    def state(self, key: str) -> str | None:
        entry = self._entries.get(key)
        return entry.state if entry else None

    def attempts(self, key: str) -> int:
        entry = self._entries.get(key)
        return entry.attempts if entry else 0

    def __len__(self) -> int:
        return sum(1 for e in self._entries.values() if e.state != IN_FLIGHT)

    def counts(self) -> dict[str, int]:
        """Pods per place (active, backoff, unschedulable, in-flight)."""
        found = dict.fromkeys((ACTIVE, BACKOFF, UNSCHEDULABLE, IN_FLIGHT), 0)
        for entry in self._entries.values():
            found[entry.state] += 1
        return found

    def backoff_duration(self, attempts: int) -> float:
        if attempts <= 0:
            return 0.0
        return min(self.initial_backoff * 2 ** min(attempts - 1, 30), self.max_backoff)

    # ---- informer events ----------------------------------------------------------
    def add(self, key: str, priority: int = 0) -> None:
        """A new pending pod (already known: nothing changes)."""
        if key in self._entries or self._closed:
            return
        entry = self._entries[key] = _Entry(key, priority, timestamp=self.clock())
        self._to_active(entry)

    def update(self, key: str, priority: int = 0, relevant: bool = True) -> None:
        """The pending pod changed; a relevant change (spec, labels) may make an
        unschedulable pod fit, so it is tried again."""
        entry = self._entries.get(key)
        if entry is None:
            self.add(key, priority)
            return
        entry.priority = priority
        if not relevant:
            return
        if entry.state == UNSCHEDULABLE:
            self._requeue(entry)
        elif entry.state == IN_FLIGHT:
            entry.moved_in_flight = True

    def delete(self, key: str) -> None:
        """The pod is gone or no longer pending (bound, deleted, not ours)."""
        self._entries.pop(key, None)

    def move_all(self) -> int:
        """Something changed that may let unschedulable pods fit; returns how many moved."""
        self._moves += 1
        moved = [e for e in self._entries.values() if e.state == UNSCHEDULABLE]
        for entry in moved:
            self._requeue(entry)
        return len(moved)

    def flush_unschedulable(self, max_age: float) -> int:
        """Retry pods that have been unschedulable for max_age seconds or more."""
        now = self.clock()
        old = [
            e
            for e in self._entries.values()
            if e.state == UNSCHEDULABLE and now - e.unschedulable_since >= max_age
        ]
        for entry in old:
            self._requeue(entry)
        return len(old)

    # ---- the scheduling loop ------------------------------------------------------
    def pop_ready(self) -> str | None:
        """The next active pod, now in flight; None when none is ready."""
        self._promote_backoff(self.clock())
        while self._active:
            _, seq, key = heapq.heappop(self._active)
            entry = self._entries.get(key)
            if entry is not None and entry.state == ACTIVE and entry.seq == seq:
                entry.state = IN_FLIGHT
                entry.popped_at_move = self._moves
                entry.moved_in_flight = False
                return key
        return None

    async def pop(self) -> str:
        """Wait for the next active pod. Raises QueueClosed after close()."""
        if self._changed is None:
            self._changed = asyncio.Event()
        while True:
            if self._closed:
                raise QueueClosed
            key = self.pop_ready()
            if key is not None:
                return key
            self._changed.clear()
            delay = self._next_backoff_delay()
            try:
                await asyncio.wait_for(self._changed.wait(), delay)
            except TimeoutError:
                pass

    def done(self, key: str) -> None:
        """Scheduled: forget the pod (and its back-off)."""
        entry = self._entries.get(key)
        if entry is not None and entry.state == IN_FLIGHT:
            del self._entries[key]

    def requeue_unschedulable(self, key: str) -> None:
        """No node fitted: park the pod until a move or flush (or back off at once if a
        move happened while it was being scheduled)."""
        entry = self._entries.get(key)
        if entry is None or entry.state != IN_FLIGHT:
            return
        now = self.clock()
        entry.attempts += 1
        entry.timestamp = now
        entry.backoff_until = now + self.backoff_duration(entry.attempts)
        if entry.moved_in_flight or self._moves != entry.popped_at_move:
            self._requeue(entry)
        else:
            entry.state = UNSCHEDULABLE
            entry.unschedulable_since = now

    def requeue_backoff(self, key: str) -> None:
        """An error (a failed bind, an API error): retry after the pod's back-off."""
        entry = self._entries.get(key)
        if entry is None or entry.state != IN_FLIGHT:
            return
        entry.attempts += 1
        entry.timestamp = self.clock()
        entry.backoff_until = entry.timestamp + self.backoff_duration(entry.attempts)
        self._requeue(entry)

    def close(self) -> None:
        self._closed = True
        self._signal()

    # ---- internals ----------------------------------------------------------------
    def _requeue(self, entry: _Entry) -> None:
        if self.clock() < entry.backoff_until:
            entry.state = BACKOFF
            entry.seq = next(self._seq)
            heapq.heappush(self._backoff, (entry.backoff_until, entry.seq, entry.key))
            self._signal()
        else:
            self._to_active(entry)

    def _to_active(self, entry: _Entry) -> None:
        entry.state = ACTIVE
        entry.seq = next(self._seq)
        sort_key = self.sort.key(entry.priority, entry.timestamp)
        heapq.heappush(self._active, (sort_key, entry.seq, entry.key))
        self._signal()

    def _promote_backoff(self, now: float) -> None:
        while self._backoff and self._backoff[0][0] <= now:
            _, seq, key = heapq.heappop(self._backoff)
            entry = self._entries.get(key)
            if entry is not None and entry.state == BACKOFF and entry.seq == seq:
                self._to_active(entry)

    def _next_backoff_delay(self) -> float | None:
        while self._backoff:
            until, seq, key = self._backoff[0]
            entry = self._entries.get(key)
            if entry is not None and entry.state == BACKOFF and entry.seq == seq:
                return max(until - self.clock(), 0.0)
            heapq.heappop(self._backoff)  # stale
        return None

    def _signal(self) -> None:
        if self._changed is not None:
            self._changed.set()
