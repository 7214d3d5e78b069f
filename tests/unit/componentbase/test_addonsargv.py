"""`python -m addons`' command line: each add-on's own flags between `--`s."""

from __future__ import annotations

import pytest

from componentbase import addonsargv
from componentbase.addonsargv import AddOnsArgvError, command_line, split, split_command


def test_a_command_line_splits_back_into_each_add_ons_flags() -> None:
    parts = {"ingress": ["--http-port", "8080"], "metrics": [], "dashboard": ["--port", "0"]}
    argv = command_line(parts)
    expected = ["ingress", "--http-port", "8080", "--", "metrics", "--", "dashboard"]
    assert argv == [*expected, "--port", "0"]
    assert split(argv) == parts
    assert list(split(argv)) == ["ingress", "metrics", "dashboard"]  # the order kept


def test_a_whole_command_splits_at_the_module_name() -> None:
    head, parts = split_command(["/usr/bin/python3", "-m", "addons", "dashboard", "--port", "1"])
    assert head == ["/usr/bin/python3", "-m", addonsargv.MODULE]
    assert parts == {"dashboard": ["--port", "1"]}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "an empty add-on"),
        (["ingress", "--", "--", "metrics"], "an empty add-on"),
        (["scheduler", "--kubeconfig", "k"], "unknown add-on 'scheduler'"),
        (["metrics", "--", "metrics"], "add-on 'metrics' named twice"),
    ],
)
def test_what_cannot_run_is_refused_by_name(argv: list[str], message: str) -> None:
    with pytest.raises(AddOnsArgvError, match=message):
        split(argv)


def test_a_flag_that_is_the_separator_is_refused() -> None:
    with pytest.raises(AddOnsArgvError, match="may not be '--'"):
        command_line({"ingress": ["--"]})
    with pytest.raises(AddOnsArgvError, match="unknown add-on"):
        command_line({"proxy": []})
