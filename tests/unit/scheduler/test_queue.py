"""The scheduling queue: active/backoff/unschedulable, with a fake clock for the
pure rules and an event loop on virtual time (tests/support/virtual_time.py) for
waiting without polling."""

from __future__ import annotations

import asyncio

import pytest

from scheduler.queue import ACTIVE, BACKOFF, IN_FLIGHT, UNSCHEDULABLE, QueueClosed, SchedulingQueue
from tests.support.virtual_time import run


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def queue() -> tuple[SchedulingQueue, Clock]:
    clock = Clock()
    return SchedulingQueue(clock=clock), clock


def drain(q: SchedulingQueue) -> list[str]:
    out = []
    while (key := q.pop_ready()) is not None:
        out.append(key)
    return out


def test_active_pods_pop_by_priority_then_arrival_and_are_deduplicated():
    q, _ = queue()
    for key, prio in [("a", 0), ("b", 10), ("c", 0), ("a", 0), ("d", 10)]:
        q.add(key, prio)
    assert len(q) == 4
    assert drain(q) == ["b", "d", "a", "c"]
    assert q.state("a") == IN_FLIGHT and len(q) == 0


def test_backoff_doubles_from_one_second_to_ten():
    q, _ = queue()
    assert [q.backoff_duration(n) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


def test_an_error_backs_the_pod_off_then_it_is_active_again():
    q, clock = queue()
    q.add("a")
    q.pop_ready()
    q.requeue_backoff("a")
    assert q.state("a") == BACKOFF and q.pop_ready() is None
    clock.now += 0.99
    assert q.pop_ready() is None
    clock.now += 0.02
    assert q.pop_ready() == "a"
    q.requeue_backoff("a")  # second failure: 2 s
    clock.now += 1.5
    assert q.pop_ready() is None
    clock.now += 0.6
    assert q.pop_ready() == "a"


def test_an_unschedulable_pod_waits_for_a_move_and_respects_its_backoff():
    q, clock = queue()
    q.add("a")
    q.pop_ready()
    q.requeue_unschedulable("a")
    assert q.state("a") == UNSCHEDULABLE
    clock.now += 60
    assert q.pop_ready() is None  # time alone does not bring it back
    assert q.move_all() == 1
    assert q.pop_ready() == "a"  # its 1 s back-off is long over
    q.requeue_unschedulable("a")
    clock.now += 0.5
    q.move_all()
    assert q.state("a") == BACKOFF  # moved, but still inside its 2 s back-off
    clock.now += 1.6
    assert q.pop_ready() == "a"


def test_a_move_while_the_pod_is_in_flight_is_not_lost():
    q, clock = queue()
    q.add("a")
    q.pop_ready()
    q.move_all()  # e.g. a node was added while "a" was being scheduled
    q.requeue_unschedulable("a")
    assert q.state("a") == BACKOFF
    clock.now += 1
    assert q.pop_ready() == "a"
    q.update("a", relevant=True)  # the pod itself changed during its cycle
    q.requeue_unschedulable("a")
    assert q.state("a") == BACKOFF


def test_only_relevant_pod_updates_retry_an_unschedulable_pod():
    q, clock = queue()
    q.add("a")
    q.pop_ready()
    q.requeue_unschedulable("a")
    clock.now += 5
    q.update("a", relevant=False)  # e.g. our own PodScheduled=False status write
    assert q.state("a") == UNSCHEDULABLE
    q.update("a", relevant=True)
    assert q.state("a") == ACTIVE


def test_flush_retries_pods_unschedulable_for_long_enough():
    q, clock = queue()
    for key in ("old", "new"):
        q.add(key)
    drain(q)
    q.requeue_unschedulable("old")
    clock.now += 30
    q.requeue_unschedulable("new")
    clock.now += 31
    assert q.flush_unschedulable(60) == 1
    assert drain(q) == ["old"]
    assert q.state("new") == UNSCHEDULABLE


def test_done_forgets_the_back_off_and_delete_forgets_the_pod():
    q, clock = queue()
    q.add("a")
    q.pop_ready()
    q.requeue_backoff("a")
    clock.now += 1
    q.pop_ready()
    assert q.attempts("a") == 1
    q.done("a")
    assert q.state("a") is None
    q.add("a")
    assert q.attempts("a") == 0
    q.delete("a")
    assert q.pop_ready() is None
    q.requeue_backoff("a")  # a bind failing for a pod deleted meanwhile: ignored
    assert q.state("a") is None


def test_pop_waits_for_an_add_and_for_a_back_off_to_expire():
    async def go() -> list[float]:
        loop = asyncio.get_running_loop()
        q = SchedulingQueue(initial_backoff=0.2, clock=loop.time)
        waited = []
        start = loop.time()
        loop.call_later(0.1, q.add, "a")
        assert await q.pop() == "a"
        waited.append(loop.time() - start)
        q.requeue_backoff("a")
        start = loop.time()
        assert await q.pop() == "a"
        waited.append(loop.time() - start)
        q.close()
        try:
            await q.pop()
        except QueueClosed:
            waited.append(-1)
        return waited

    woke_on_add, woke_after_backoff, closed = run(go(), timeout=5)
    assert woke_on_add == pytest.approx(0.1)
    assert woke_after_backoff == pytest.approx(0.2)
    assert closed == -1


def test_counts_by_place():
    q, _ = queue()
    for key in ("a", "b", "c", "d"):
        q.add(key)
    assert q.pop_ready() == "a"
    q.requeue_unschedulable("a")
    assert q.pop_ready() == "b"
    q.requeue_backoff("b")
    assert q.pop_ready() == "c"
    assert q.counts() == {ACTIVE: 1, BACKOFF: 1, UNSCHEDULABLE: 1, IN_FLIGHT: 1}
