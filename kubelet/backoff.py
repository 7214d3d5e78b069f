"""Kubernetes' restart and image-pull back-off (client-go `flowcontrol.Backoff`).

A key (pod uid + container name, or pod uid + image) gets 10 s after its first
failure, doubling on each further one up to 5 min. The first restart happens at
once; later ones wait. A failure more than twice the cap (10 min) after the last
recorded one — the container ran that long — starts over from 10 s.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass

INITIAL_SECONDS = 10.0
MAX_SECONDS = 300.0


@dataclass
class _Entry:
    delay: float
    last_update: float  # when the last failure was recorded


class Backoff:
    """Per-key exponential back-off measured from each failure's own time."""

    def __init__(
        self,
        initial: float = INITIAL_SECONDS,
        maximum: float = MAX_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.initial = initial
        self.maximum = maximum
        self.clock = clock
        self._entries: dict[Hashable, _Entry] = {}

    def _expired(self, entry: _Entry, event_time: float) -> bool:
        return event_time - entry.last_update > 2 * self.maximum

    def in_backoff_since(self, key: Hashable, event_time: float) -> bool:
        """True while less than the key's current delay has passed since `event_time`."""
        entry = self._entries.get(key)
        if entry is None or self._expired(entry, event_time):
            return False
        return self.clock() - event_time < entry.delay

    def in_backoff_since_update(self, key: Hashable) -> bool:
        """True while less than the key's delay has passed since its last failure
        (image pulls: the failure itself is the event)."""
        entry = self._entries.get(key)
        if entry is None:
            return False
        return self.clock() - entry.last_update < entry.delay

    def remaining_since_update(self, key: Hashable) -> float:
        entry = self._entries.get(key)
        if entry is None:
            return 0.0
        return max(0.0, entry.last_update + entry.delay - self.clock())

    def remaining(self, key: Hashable, event_time: float) -> float:
        """Seconds until the back-off started at `event_time` is over (0 if it is)."""
        entry = self._entries.get(key)
        if entry is None or self._expired(entry, event_time):
            return 0.0
        return max(0.0, event_time + entry.delay - self.clock())

    def delay(self, key: Hashable) -> float:
        entry = self._entries.get(key)
        return entry.delay if entry else 0.0

    def next(self, key: Hashable, event_time: float) -> float:
        """Record a failure at `event_time`; returns the delay the next one will get."""
        entry = self._entries.get(key)
        now = self.clock()
        if entry is None or self._expired(entry, event_time):
            entry = _Entry(self.initial, now)
        else:
            entry = _Entry(min(entry.delay * 2, self.maximum), now)
        self._entries[key] = entry
        return entry.delay

    def reset(self, key: Hashable) -> None:
        self._entries.pop(key, None)

    def clear(self) -> None:
        """Forget every failure (the runtime came back: earlier failures say nothing)."""
        self._entries.clear()

    def forget_prefix(self, prefix: str) -> None:
        """Drop every key that is a tuple starting with `prefix` (a pod's uid)."""
        for key in [k for k in self._entries if isinstance(k, tuple) and k and k[0] == prefix]:
            del self._entries[key]

    def gc(self) -> None:
        """Drop entries untouched for longer than twice the cap."""
        now = self.clock()
        for key in [k for k, e in self._entries.items() if now - e.last_update > 2 * self.maximum]:
            del self._entries[key]
