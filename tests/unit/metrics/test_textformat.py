"""The Prometheus text reader."""

from __future__ import annotations

import math

import pytest

from metrics.textformat import ParseError, parse


def test_samples_labels_values_and_timestamps() -> None:
    text = (
        "# HELP x help\n# TYPE x counter\n"
        'x{a="1",b="q\\"uote\\\\",c="line\\nbreak"} 2.5 1000\n'
        "y 3\n"
        "z{} +Inf\n"
    )
    x, y, z = parse(text)
    assert x.labels == {"a": "1", "b": 'q"uote\\', "c": "line\nbreak"}
    assert (x.value, x.timestamp) == (2.5, 1.0)
    assert (y.name, y.value, y.timestamp, y.labels) == ("y", 3.0, None, {})
    assert math.isinf(z.value)


@pytest.mark.parametrize("line", ["x{a=1} 2", "x 1 2 3", 'x{a="1"} notanumber'])
def test_bad_lines_raise(line: str) -> None:
    with pytest.raises(ParseError):
        parse(line)
