"""PrioritySort: higher priority first, then the earlier queue timestamp; and the
scheduling queue pops in its order."""

from __future__ import annotations

from scheduler.plugins.priority_sort import PrioritySort
from scheduler.queue import SchedulingQueue


def test_less_orders_by_priority_then_timestamp():
    sort = PrioritySort()
    assert sort.less((10, 5.0), (0, 1.0))
    assert sort.less((0, 1.0), (0, 2.0))
    assert not sort.less((0, 2.0), (0, 1.0))
    assert not sort.less((-1, 0.0), (0, 9.0))


def test_a_pod_that_failed_later_queues_behind_an_equal_one_that_waited():
    now = [100.0]
    q = SchedulingQueue(clock=lambda: now[0], initial_backoff=0.0)
    q.add("old", 5)
    now[0] = 101.0
    q.add("new", 5)
    assert q.pop_ready() == "old"
    now[0] = 102.0
    q.requeue_backoff("old")  # failed at 102: its timestamp is now the latest
    q.add("urgent", 50)
    assert [q.pop_ready(), q.pop_ready(), q.pop_ready()] == ["urgent", "new", "old"]
