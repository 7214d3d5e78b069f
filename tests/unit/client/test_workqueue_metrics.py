"""Work queue metrics, as client-go reports them: an add counts once per pending key,
depth counts keys waiting, and the waits and the work are timed per key."""

from __future__ import annotations

import asyncio
import itertools

from prometheus_client import REGISTRY

from client import workqueue
from componentbase import workqueuemetrics

_names = itertools.count()


def sample(name: str, queue: str) -> float:
    return REGISTRY.get_sample_value(name, {"name": queue}) or 0.0


async def _until(condition) -> None:
    while not condition():
        await asyncio.sleep(0.001)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_adds_depth_and_durations():
    clock = Clock()
    name = f"test-queue-{next(_names)}"
    workqueuemetrics.install()
    try:
        queue = workqueue.WorkQueue(name=name)
    finally:
        workqueue.set_metrics_provider(None)
    assert isinstance(queue.metrics, workqueuemetrics.PrometheusQueueMetrics)
    queue.metrics.clock = clock

    async def go() -> None:
        queue.add("a")
        queue.add("a")  # pending already: not an add
        queue.add("b")
        assert sample("workqueue_adds_total", name) == 2
        assert sample("workqueue_depth", name) == 2
        clock.now += 0.25
        key = await queue.get()
        assert key == "a"
        assert sample("workqueue_depth", name) == 1
        queue.add("a")  # while processing: counted, queued again by done()
        assert sample("workqueue_depth", name) == 2
        clock.now += 2.0
        assert queue.metrics.unfinished() == (2.0, 2.0)
        queue.done("a")
        queue.add_rate_limited("c")  # a retry now; an add once its back-off (5 ms) passes
        assert sample("workqueue_adds_total", name) == 3
        await asyncio.wait_for(_until(lambda: len(queue) == 3), timeout=5)

    asyncio.run(go())
    assert sample("workqueue_adds_total", name) == 4
    assert sample("workqueue_queue_duration_seconds_count", name) == 1
    assert sample("workqueue_queue_duration_seconds_sum", name) == 0.25
    assert sample("workqueue_work_duration_seconds_sum", name) == 2.0
    assert sample("workqueue_retries_total", name) == 1
    assert sample("workqueue_unfinished_work_seconds", name) == 0.0
    assert sample("workqueue_longest_running_processor_seconds", name) == 0.0


def test_without_a_provider_a_queue_reports_nothing():
    queue = workqueue.WorkQueue(name="quiet")
    queue.add("x")
    assert sample("workqueue_adds_total", "quiet") == 0
