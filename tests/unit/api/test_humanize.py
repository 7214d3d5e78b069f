"""api.humanize: ages as Kubernetes' HumanDuration and translateTimestampSince print them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from api import humanize

NOW = 1_700_000_000.0


def ts(ago: float) -> str:
    return datetime.fromtimestamp(NOW - ago, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-5, "<invalid>"),
        (-1.5, "0s"),
        (0, "0s"),
        (59, "59s"),
        (119, "119s"),
        (120, "2m"),
        (123, "2m3s"),
        (599, "9m59s"),
        (600, "10m"),
        (179 * 60 + 59, "179m"),
        (3 * 3600, "3h"),
        (3 * 3600 + 4 * 60 + 5, "3h4m"),
        (8 * 3600, "8h"),
        (47 * 3600, "47h"),
        (48 * 3600, "2d"),
        (5 * 86400 + 3 * 3600, "5d3h"),
        (8 * 86400, "8d"),
        (400 * 86400, "400d"),
        (2 * 365 * 86400 + 30 * 86400, "2y30d"),
        (3 * 365 * 86400, "3y"),
        (9 * 365 * 86400, "9y"),
    ],
)
def test_human_duration_matches_kubernetes(seconds, text):
    assert humanize.human_duration(seconds) == text


def test_age_handles_missing_and_fractional_timestamps():
    assert humanize.age(None, NOW) == "<unknown>"
    assert humanize.age(ts(125), NOW) == "2m5s"
    assert humanize.age(ts(30)[:-1] + ".123456Z", NOW) == "29s"
