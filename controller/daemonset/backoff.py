"""The back-off between deleting a DaemonSet's failed pods on one node (Kubernetes'
failedPodsBackoff, a client-go flowcontrol.Backoff of 1 s doubling to 15 min): a
daemon pod that keeps failing is not deleted and recreated in a hot loop.

Entries are keyed by DaemonSet uid, observed generation and node, so a new template
starts afresh; an entry idle for twice the maximum is forgotten."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

INITIAL = 1.0
MAXIMUM = 15 * 60.0


def backoff_key(ds: dict[str, Any], node: str) -> str:
    """failedPodsBackoffKey: uid/observedGeneration/node."""
    uid = (ds.get("metadata") or {}).get("uid") or ""
    generation = int((ds.get("status") or {}).get("observedGeneration") or 0)
    return f"{uid}/{generation}/{node}"


@dataclass
class _Entry:
    backoff: float
    last_update: float


class FailedPodsBackoff:
    """flowcontrol.Backoff: `next` records a deletion and doubles the wait; while
    `in_backoff` the failed pod stays (and the DaemonSet is looked at again after
    `get`)."""

    def __init__(self, initial: float = INITIAL, maximum: float = MAXIMUM) -> None:
        self.initial = initial
        self.maximum = maximum
        self._entries: dict[str, _Entry] = {}

    def _expired(self, entry: _Entry, now: float) -> bool:
        return now - entry.last_update > 2 * self.maximum

    def get(self, key: str) -> float:
        entry = self._entries.get(key)
        return entry.backoff if entry is not None else 0.0

    def next(self, key: str, now: float) -> None:
        entry = self._entries.get(key)
        if entry is None or self._expired(entry, now):
            self._entries[key] = _Entry(self.initial, now)
            return
        entry.backoff = min(entry.backoff * 2, self.maximum)
        entry.last_update = now

    def in_backoff(self, key: str, now: float) -> bool:
        """IsInBackOffSinceUpdate."""
        entry = self._entries.get(key)
        if entry is None or self._expired(entry, now):
            return False
        return now - entry.last_update < entry.backoff

    def gc(self, now: float) -> None:
        for key in [k for k, e in self._entries.items() if self._expired(e, now)]:
            del self._entries[key]
