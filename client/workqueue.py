"""Rate-limited work queue of keys, with client-go's guarantees, for asyncio.

- A key is pending at most once: adding a pending key again is a no-op.
- A key is never handed to two workers at once: adding a key while it is being
  processed marks it dirty, and it is queued again when `done(key)` is called.
- `add_after` delays an add; `add_rate_limited` delays it by the key's back-off
  (exponential per key, plus an overall token bucket); `forget` resets the back-off.
- `shutdown()` stops accepting keys; `get()` still drains what was queued, then
  raises `ShutDown`.

`process` is the worker loop every user runs: key = await q.get(); try reconcile(key)
→ q.forget(key) except → q.add_rate_limited(key); finally q.done(key).

Metrics, as client-go's: a process that wants them (the controller manager) sets a
`MetricsProvider` once, before its queues are made (`set_metrics_provider`), and
every queue then reports its adds, depth, waits and work by its `name`
(componentbase/workqueuemetrics.py is the Prometheus one). Without a provider the
queue reports to a no-op.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from typing import Protocol

from api.errors import ApiError, Conflict

log = logging.getLogger(__name__)

Key = Hashable


class ShutDown(Exception):
    """The queue was shut down and is empty."""


class Requeue(Exception):
    """A reconcile that cannot finish yet for a reason it knows (a range exhausted, a
    dependency not there yet): retried with the key's back-off like any failure, but
    logged as one line without a traceback."""


class QueueMetrics(Protocol):
    """What one queue reports (client-go's queueMetrics)."""

    def add(self, key: Key) -> None: ...
    def get(self, key: Key) -> None: ...
    def done(self, key: Key) -> None: ...
    def retry(self) -> None: ...


class MetricsProvider(Protocol):
    def new_queue_metrics(self, name: str) -> QueueMetrics: ...


class _NoMetrics:
    def add(self, key: Key) -> None:
        return None

    def get(self, key: Key) -> None:
        return None

    def done(self, key: Key) -> None:
        return None

    def retry(self) -> None:
        return None


_NO_METRICS = _NoMetrics()
_provider: MetricsProvider | None = None


def set_metrics_provider(provider: MetricsProvider | None) -> None:
    """Every queue made from now on reports to `provider` (None: to nothing)."""
    global _provider
    _provider = provider


class RateLimiter(Protocol):
    def when(self, key: Key) -> float: ...
    def forget(self, key: Key) -> None: ...
    def num_requeues(self, key: Key) -> int: ...


class ItemExponentialRateLimiter:
    """Per-key back-off: base · 2^failures, capped (client-go: 5 ms doubling to 1000 s)."""

    def __init__(self, base: float = 0.005, cap: float = 1000.0) -> None:
        self.base, self.cap = base, cap
        self._failures: dict[Key, int] = {}

    def when(self, key: Key) -> float:
        n = self._failures.get(key, 0)
        self._failures[key] = n + 1
        return min(self.base * (2 ** min(n, 64)), self.cap)

    def forget(self, key: Key) -> None:
        self._failures.pop(key, None)

    def num_requeues(self, key: Key) -> int:
        return self._failures.get(key, 0)


class BucketRateLimiter:
    """Overall token bucket (client-go: 10 qps, burst 100): bounds retry storms."""

    def __init__(
        self, qps: float = 10.0, burst: int = 100, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.qps, self.burst, self.clock = qps, burst, clock
        self._tokens = float(burst)
        self._last = clock()

    def when(self, key: Key) -> float:
        now = self.clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.qps)
        self._last = now
        self._tokens -= 1  # reserve a token, possibly in the future
        return 0.0 if self._tokens >= 0 else -self._tokens / self.qps

    def forget(self, key: Key) -> None:
        return None

    def num_requeues(self, key: Key) -> int:
        return 0


class MaxOfRateLimiter:
    """The longest delay any of its limiters asks for."""

    def __init__(self, *limiters: RateLimiter) -> None:
        self.limiters = limiters

    def when(self, key: Key) -> float:
        return max(limiter.when(key) for limiter in self.limiters)

    def forget(self, key: Key) -> None:
        for limiter in self.limiters:
            limiter.forget(key)

    def num_requeues(self, key: Key) -> int:
        return max(limiter.num_requeues(key) for limiter in self.limiters)


def default_rate_limiter() -> RateLimiter:
    """client-go's DefaultControllerRateLimiter."""
    return MaxOfRateLimiter(ItemExponentialRateLimiter(0.005, 1000.0), BucketRateLimiter())


class WorkQueue:
    """Deduplicating FIFO of keys with per-key exclusion and delayed/rate-limited adds."""

    def __init__(self, rate_limiter: RateLimiter | None = None, name: str = "") -> None:
        self.name = name
        self.rate_limiter = rate_limiter or default_rate_limiter()
        self._queue: deque[Key] = deque()
        self._dirty: set[Key] = set()  # wants processing (queued, or re-add while processing)
        self._processing: set[Key] = set()
        self._waiting: dict[Key, tuple[float, asyncio.TimerHandle]] = {}  # add_after timers
        self._getters: deque[asyncio.Future[None]] = deque()  # idle workers in get()
        self._shutting_down = False
        self.metrics: QueueMetrics = (
            _provider.new_queue_metrics(name) if _provider is not None else _NO_METRICS
        )

    def __len__(self) -> int:
        return len(self._queue)

    @property
    def shutting_down(self) -> bool:
        return self._shutting_down

    def add(self, key: Key) -> None:
        if self._shutting_down or key in self._dirty:
            return
        self.metrics.add(key)
        self._dirty.add(key)
        if key in self._processing:
            return  # queued again by done()
        self._queue.append(key)
        self._wake()

    def add_after(self, key: Key, delay: float) -> None:
        """Add once `delay` seconds have passed; an earlier pending add_after wins."""
        if self._shutting_down:
            return
        if delay <= 0:
            self.add(key)
            return
        loop = asyncio.get_running_loop()
        ready_at = loop.time() + delay
        pending = self._waiting.get(key)
        if pending is not None:
            if pending[0] <= ready_at:
                return
            pending[1].cancel()
        handle = loop.call_at(ready_at, self._fire, key)
        self._waiting[key] = (ready_at, handle)

    def add_rate_limited(self, key: Key) -> None:
        self.metrics.retry()
        self.add_after(key, self.rate_limiter.when(key))

    def forget(self, key: Key) -> None:
        """Reset the key's back-off (call after it was processed successfully)."""
        self.rate_limiter.forget(key)

    def num_requeues(self, key: Key) -> int:
        return self.rate_limiter.num_requeues(key)

    async def get(self) -> Key:
        """The next key, marked as processing until `done(key)`. Raises ShutDown."""
        while not self._queue:
            if self._shutting_down:
                raise ShutDown(self.name)
            getter = asyncio.get_running_loop().create_future()
            self._getters.append(getter)
            try:
                await getter
            except asyncio.CancelledError:
                if getter.done() and not getter.cancelled():
                    self._wake()  # pass the wake-up on to another worker
                raise
        key = self._queue.popleft()
        self.metrics.get(key)
        self._processing.add(key)
        self._dirty.discard(key)
        return key

    def done(self, key: Key) -> None:
        self.metrics.done(key)
        self._processing.discard(key)
        if key in self._dirty:
            self._queue.append(key)
            self._wake()

    def shutdown(self) -> None:
        """Stop accepting keys and wake idle workers (they get ShutDown once drained)."""
        self._shutting_down = True
        for _, handle in self._waiting.values():
            handle.cancel()
        self._waiting.clear()
        self._wake(everyone=True)

    def _fire(self, key: Key) -> None:
        self._waiting.pop(key, None)
        self.add(key)

    def _wake(self, everyone: bool = False) -> None:
        while self._getters:
            getter = self._getters.popleft()
            if not getter.done():
                getter.set_result(None)
                if not everyone:
                    return


async def process(
    queue: WorkQueue, reconcile: Callable[[Key], Awaitable[object]], max_retries: int | None = None
) -> None:
    """One worker: reconcile keys until shutdown, the one worker loop of every
    controller. A failed key is retried with its back-off: a Conflict (a stale cache;
    the retry sees the newer object) is logged at debug, another API error at warning
    without a traceback, anything else with its traceback. With `max_retries`, a key
    that failed that many times in a row is dropped (and its back-off forgotten)."""
    while True:
        try:
            key = await queue.get()
        except ShutDown:
            return
        try:
            await reconcile(key)
            queue.forget(key)
        except asyncio.CancelledError:
            queue.done(key)
            raise
        except Exception as err:
            _retry_or_drop(queue, key, err, max_retries)
        queue.done(key)


def _retry_or_drop(queue: WorkQueue, key: Key, err: Exception, max_retries: int | None) -> None:
    traceback = not isinstance(err, (ApiError, Requeue))
    if max_retries is not None and queue.num_requeues(key) >= max_retries:
        log.error(
            "%s: dropping %s after %d retries: %s",
            queue.name,
            key,
            max_retries,
            err,
            exc_info=err if traceback else None,
        )
        queue.forget(key)
        return
    if isinstance(err, Conflict):
        log.debug("%s: %s: %s; retrying", queue.name, key, err)
    elif isinstance(err, (ApiError, Requeue)):
        log.warning("%s: %s: %s; retrying", queue.name, key, err)
    else:
        log.error("%s: reconcile %s failed; retrying", queue.name, key, exc_info=err)
    queue.add_rate_limited(key)
