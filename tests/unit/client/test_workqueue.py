"""WorkQueue: client-go's guarantees (dedupe, one worker per key, re-queue after done,
delays, per-key exponential back-off, drain on shutdown) under asyncio, and the one
worker loop, `process`. The tests run on virtual time (tests/support/virtual_time.py):
waits take no wall-clock time and measured delays are exact."""

from __future__ import annotations

import asyncio
import random
from collections import Counter

import pytest

from api.errors import ApiError, Conflict
from client.workqueue import (
    BucketRateLimiter,
    ItemExponentialRateLimiter,
    MaxOfRateLimiter,
    ShutDown,
    WorkQueue,
    default_rate_limiter,
    process,
)
from tests.support.virtual_time import run


def test_pending_keys_are_deduplicated_in_fifo_order():
    async def go():
        q = WorkQueue()
        for key in ["a", "b", "a", "c", "b"]:
            q.add(key)
        assert len(q) == 3
        return [await q.get() for _ in range(3)]

    assert run(go()) == ["a", "b", "c"]


def test_key_added_while_processing_is_requeued_after_done():
    async def go():
        q = WorkQueue()
        q.add("a")
        key = await q.get()
        q.add("a")  # changed again while being reconciled
        q.add("a")
        assert len(q) == 0  # not handed out twice at once
        q.done(key)
        assert len(q) == 1
        assert await q.get() == "a"
        q.done("a")
        assert len(q) == 0

    run(go())


def test_a_key_is_never_processed_by_two_workers_at_once():
    active: set[str] = set()
    processed: Counter[str] = Counter()
    overlaps: list[str] = []

    async def go():
        q = WorkQueue()

        async def reconcile(key):
            if key in active:
                overlaps.append(key)
            active.add(key)
            await asyncio.sleep(random.uniform(0, 0.002))
            active.discard(key)
            processed[key] += 1

        workers = [asyncio.create_task(process(q, reconcile)) for _ in range(8)]
        for _ in range(300):
            q.add(f"k{random.randrange(10)}")
            await asyncio.sleep(0)
        await asyncio.sleep(0.05)
        q.shutdown()
        await asyncio.gather(*workers)

    run(go())
    assert overlaps == []
    assert set(processed) <= {f"k{i}" for i in range(10)}
    assert sum(processed.values()) >= 10


def test_add_after_delays_and_earliest_wins():
    async def go():
        q = WorkQueue()
        loop = asyncio.get_running_loop()
        start = loop.time()
        q.add_after("late", 0.2)
        q.add_after("late", 0.05)  # an earlier ready time replaces the later one
        q.add_after("x", 0.03)
        q.add_after("x", 0.5)  # a later one is ignored
        first = await q.get()
        second = await q.get()
        return first, second, loop.time() - start

    first, second, elapsed = run(go())
    assert (first, second) == ("x", "late")
    assert elapsed == pytest.approx(0.05)  # "late" at its earlier time, "x" before it


def test_rate_limited_retries_back_off_exponentially_until_forgotten():
    limiter = ItemExponentialRateLimiter(base=0.005, cap=1000)
    assert [limiter.when("k") for _ in range(5)] == [0.005, 0.01, 0.02, 0.04, 0.08]
    assert limiter.num_requeues("k") == 5
    assert limiter.when("other") == 0.005  # per key
    limiter.forget("k")
    assert limiter.when("k") == 0.005
    for _ in range(40):
        delay = limiter.when("k")
    assert delay == 1000  # capped


def test_queue_uses_its_rate_limiter():
    async def go():
        q = WorkQueue(ItemExponentialRateLimiter(base=0.02, cap=1))
        loop = asyncio.get_running_loop()
        times = []
        start = loop.time()
        for _ in range(3):
            q.add_rate_limited("k")
            await q.get()
            times.append(loop.time() - start)
            q.done("k")
        assert q.num_requeues("k") == 3
        q.forget("k")
        assert q.num_requeues("k") == 0
        return times

    t1, t2, t3 = run(go())
    assert (t1, t2 - t1, t3 - t2) == pytest.approx((0.02, 0.04, 0.08))


def test_bucket_and_max_of():
    now = [0.0]
    bucket = BucketRateLimiter(qps=10, burst=2, clock=lambda: now[0])
    assert [bucket.when("a"), bucket.when("b")] == [0, 0]
    assert bucket.when("c") == pytest.approx(0.1)
    assert bucket.when("d") == pytest.approx(0.2)
    now[0] = 10.0
    assert bucket.when("e") == 0
    combined = MaxOfRateLimiter(ItemExponentialRateLimiter(1, 100), BucketRateLimiter(1, 100))
    assert combined.when("k") == 1 and combined.when("k") == 2
    combined.forget("k")
    assert combined.num_requeues("k") == 0
    assert default_rate_limiter().when("k") == 0.005


def test_shutdown_drains_then_raises_and_wakes_idle_workers():
    async def go():
        q = WorkQueue()
        idle = asyncio.create_task(q.get())
        await asyncio.sleep(0)
        q.add("a")
        assert await idle == "a"
        q.add("b")
        q.add_after("never", 10)
        q.shutdown()
        q.add("c")  # ignored after shutdown
        assert await q.get() == "b"  # still drained
        with pytest.raises(ShutDown):
            await q.get()
        waiter = asyncio.create_task(WorkQueue().get())
        await asyncio.sleep(0)
        waiter.cancel()

    run(go())


def test_idle_workers_are_woken_on_shutdown():
    async def go():
        q = WorkQueue()
        waiters = [asyncio.create_task(q.get()) for _ in range(3)]
        await asyncio.sleep(0.01)
        q.shutdown()
        results = await asyncio.gather(*waiters, return_exceptions=True)
        assert all(isinstance(r, ShutDown) for r in results)

    run(go())


def test_process_retries_failures_with_backoff_and_forgets_successes():
    attempts: Counter[str] = Counter()

    async def go():
        q = WorkQueue(ItemExponentialRateLimiter(base=0.001, cap=0.01))

        async def reconcile(key):
            attempts[key] += 1
            if attempts[key] < 3:
                raise RuntimeError("not yet")

        worker = asyncio.create_task(process(q, reconcile))
        q.add("flaky")
        while attempts["flaky"] < 3:
            await asyncio.sleep(0.005)
        await asyncio.sleep(0.01)
        assert q.num_requeues("flaky") == 0  # forgotten after success
        q.shutdown()
        await worker

    run(go())
    assert attempts["flaky"] == 3


def test_process_gives_up_after_max_retries():
    attempts: Counter[str] = Counter()

    async def go():
        q = WorkQueue(ItemExponentialRateLimiter(base=0.001, cap=0.002))

        async def reconcile(key):
            attempts[key] += 1
            raise RuntimeError("always")

        worker = asyncio.create_task(process(q, reconcile, max_retries=2))
        q.add("bad")
        await asyncio.sleep(0.1)
        q.shutdown()
        await worker

    run(go())
    assert attempts["bad"] == 3


def test_process_logs_conflicts_at_debug_api_errors_without_traceback_others_with_one(caplog):
    errors = {"stale": Conflict(409, "the object has been modified"), "down": ApiError(503, "no")}

    async def go():
        q = WorkQueue(ItemExponentialRateLimiter(base=1, cap=1))

        async def reconcile(key):
            raise errors.get(key) or RuntimeError("bug")

        worker = asyncio.create_task(process(q, reconcile))
        for key in ("stale", "down", "bug"):
            q.add(key)
        await asyncio.sleep(0.5)  # all three failed once; retries wait 1 s
        assert {key: q.num_requeues(key) for key in ("stale", "down", "bug")} == dict.fromkeys(
            ("stale", "down", "bug"), 1
        )
        q.shutdown()
        await worker

    caplog.set_level("DEBUG", logger="client.workqueue")
    run(go())
    records = {r.getMessage().split(":")[1].strip(): r for r in caplog.records}
    assert records["stale"].levelname == "DEBUG" and records["stale"].exc_info is None
    assert records["down"].levelname == "WARNING" and records["down"].exc_info is None
    assert records["reconcile bug failed; retrying"].levelname == "ERROR"
    assert records["reconcile bug failed; retrying"].exc_info is not None
