"""`-v N` as klog's integer verbosity, and its mapping to logging levels."""

from __future__ import annotations

import argparse
import logging

import pytest

from componentbase.logs import add_verbosity_flag, http_level_for, level_for, log_format


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    add_verbosity_flag(p)
    return p


@pytest.mark.parametrize(
    ("argv", "verbosity"),
    [([], 0), (["-v", "2"], 2), (["-v4"], 4), (["--v", "6"], 6), (["--v=8"], 8)],
)
def test_every_spelling_of_v(argv, verbosity):
    assert parser().parse_args(argv).verbosity == verbosity


@pytest.mark.parametrize("argv", [["-v", "debug"], ["--v=-1"], ["-v"]])
def test_v_is_a_non_negative_integer(argv, capsys):
    with pytest.raises(SystemExit):
        parser().parse_args(argv)
    assert "error" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("verbosity", "level", "http_level"),
    [
        (0, logging.INFO, logging.WARNING),
        (3, logging.INFO, logging.WARNING),
        (4, logging.DEBUG, logging.WARNING),
        (5, logging.DEBUG, logging.WARNING),
        (6, logging.DEBUG, logging.INFO),
        (8, logging.DEBUG, logging.DEBUG),
    ],
)
def test_verbosity_maps_to_levels(verbosity, level, http_level):
    assert level_for(verbosity) == level
    assert http_level_for(verbosity) == http_level


def test_one_format_names_the_component():
    record = logging.LogRecord("scheduler.queue", logging.INFO, __file__, 1, "hi", None, None)
    line = logging.Formatter(log_format("scheduler")).format(record)
    assert line.endswith(" scheduler INFO scheduler.queue: hi")
