"""A Scheduler made by a test reports its pending pods to the process-wide Prometheus
registry (scheduler.metrics.report_pending); once its test is over, that reader would
call a fake store on every later collection, in whatever module the worker runs next."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from scheduler import metrics


@pytest.fixture(autouse=True)
def _pending_reader_reset() -> Iterator[None]:
    yield
    metrics.report_pending(lambda: {})
