"""Events from the kubelet, written in the background.

`client.events.EventRecorder` does the writing (and aggregates repeats); this sink
only queues, so a pod sync never waits on the apiserver for an Event and a burst
of pods does not slow their own start-up. As in client-go, a spam filter allows
each object a burst of 25 events per reason, then one per 5 minutes (a failing
probe every second does not write an Event every second), and when the queue is
full events are dropped and logged. The recorder logs and drops an Event the
apiserver refuses; anything else it raises (an Event that cannot even be encoded)
is a bug in the kubelet, logged with its traceback, never silently swallowed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from client.events import NORMAL, WARNING, EventRecorder

log = logging.getLogger(__name__)
__all__ = ["NORMAL", "WARNING", "EventSink", "container_field_path"]


SPAM_BURST = 25
SPAM_REFILL_SECONDS = 300.0
SPAM_CACHE_SIZE = 4096  # client-go's maxLruCacheEntries


class SpamFilter:
    """A token bucket per (object uid, reason); the least recently used buckets go
    beyond `size` (client-go's LRU), and a pod's go with the pod (`forget`)."""

    def __init__(
        self,
        burst: int = SPAM_BURST,
        refill_seconds: float = SPAM_REFILL_SECONDS,
        size: int = SPAM_CACHE_SIZE,
    ):
        self.burst = burst
        self.refill_seconds = refill_seconds
        self.size = size
        # (uid, reason) -> (tokens, at), least recently used first
        self._buckets: OrderedDict[tuple[str, str], tuple[float, float]] = OrderedDict()

    def allow(self, uid: str, reason: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        key = (uid, reason)
        tokens, at = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) / self.refill_seconds)
        allowed = tokens >= 1.0
        self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
        self._buckets.move_to_end(key)
        while len(self._buckets) > self.size:
            self._buckets.popitem(last=False)
        return allowed

    def forget(self, uid: str) -> None:
        for key in [k for k in self._buckets if k[0] == uid]:
            del self._buckets[key]

    def __len__(self) -> int:
        return len(self._buckets)


def container_field_path(name: str, init: bool = False) -> str:
    return f"spec.{'initContainers' if init else 'containers'}{{{name}}}"


class EventSink:
    def __init__(
        self,
        recorder: EventRecorder,
        max_pending: int = 1000,
        writers: int = 2,
        busy: Callable[[], bool] | None = None,
    ) -> None:
        self.recorder = recorder
        self.busy = busy or (lambda: False)
        self.writers = writers
        self.spam = SpamFilter()
        self._queue: asyncio.Queue[tuple[dict[str, Any], str, str, str, str | None]] = (
            asyncio.Queue(max_pending)
        )

    def emit(
        self,
        pod: dict[str, Any],
        event_type: str,
        reason: str,
        message: str,
        field_path: str | None = None,
    ) -> None:
        metadata = pod.get("metadata") or {}
        if not self.spam.allow(metadata.get("uid", ""), reason):
            return
        ref = {"kind": "Pod", "apiVersion": "v1", "metadata": metadata}
        try:
            self._queue.put_nowait((ref, event_type, reason, message, field_path))
        except asyncio.QueueFull:
            log.warning("event queue full; dropping %s %s", reason, message)

    def forget(self, uid: str) -> None:
        """The pod is gone: its spam buckets and aggregation entries go too, so what
        the sink remembers follows the pods on the node rather than all pods ever."""
        self.spam.forget(uid)
        self.recorder.forget(uid)

    def emit_object(self, obj: dict[str, Any], event_type: str, reason: str, message: str) -> None:
        try:
            self._queue.put_nowait((obj, event_type, reason, message, None))
        except asyncio.QueueFull:
            log.warning("event queue full; dropping %s %s", reason, message)

    async def run(self) -> None:
        async def writer() -> None:
            while True:
                obj, event_type, reason, message, field_path = await self._queue.get()
                for _ in range(40):  # pod status first, but never more than 2 s
                    if not self.busy():
                        break
                    await asyncio.sleep(0.05)
                try:
                    await self.recorder.record(obj, event_type, reason, message, field_path)
                except Exception:  # the recorder logs API errors itself: this is a bug
                    log.exception(
                        "event %s (%r, fieldPath %r) could not be written",
                        reason,
                        message,
                        field_path,
                    )

        await asyncio.gather(*(writer() for _ in range(self.writers)))
