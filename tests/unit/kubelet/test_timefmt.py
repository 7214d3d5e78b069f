"""Docker's timestamps as the kubelet reads them, beside Kubernetes' own formats."""

from __future__ import annotations

import pytest

from api.timefmt import micro_time, rfc3339
from kubelet.timefmt import parse_docker_time


def test_times() -> None:
    assert rfc3339(0) == "1970-01-01T00:00:00Z"
    assert micro_time(1.25) == "1970-01-01T00:00:01.250000Z"
    assert parse_docker_time("0001-01-01T00:00:00Z") is None
    assert parse_docker_time("1970-01-01T01:00:00+01:00") == 0
    assert parse_docker_time("1970-01-01T00:00:01.123456789Z") == pytest.approx(1.123456789)
