"""api.timefmt's Go durations: the one parser every flag uses, and Go's printing."""

from __future__ import annotations

import pytest

from api.timefmt import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("40s", 40),
        ("1m30s", 90),
        ("500ms", 0.5),
        ("2h", 7200),
        ("1.5h", 5400),
        (".5s", 0.5),
        ("1.s", 1),
        ("-2m", -120),
        ("+3s", 3),
        ("4", 4),  # a bare number: seconds
        (" 10s ", 10),
    ],
)
def test_parse_duration_reads_go_durations(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["5 minutes", "", "-", "s", "1d", "1m30", "--5s"])
def test_parse_duration_refuses_the_rest_with_value_error(text):
    with pytest.raises(ValueError, match="invalid duration"):
        parse_duration(text)


def test_format_duration_prints_as_go():
    assert [format_duration(s) for s in (0, 0.5, 1, 20, 60, 90, 3723)] == [
        "0s",
        "500ms",
        "1s",
        "20s",
        "1m0s",
        "1m30s",
        "1h2m3s",
    ]
