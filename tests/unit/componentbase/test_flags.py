"""The flag types every component shares: Go durations and Go booleans."""

from __future__ import annotations

import argparse

import pytest

from componentbase.flags import add_bool_flag, add_kubeconfig_flag, boolean, duration


def test_durations_are_go_style_or_seconds():
    assert duration("15s") == 15
    assert duration("1m30s") == 90
    assert duration("500ms") == 0.5
    assert duration("2.5") == 2.5
    for bad in ("15x", "s", "1m 2s"):
        with pytest.raises(argparse.ArgumentTypeError):
            duration(bad)


@pytest.mark.parametrize("text", ["true", "True", "TRUE", "t", "1", "yes"])
def test_true_spellings(text):
    assert boolean(text) is True


@pytest.mark.parametrize("text", ["false", "False", "f", "0", "no"])
def test_false_spellings(text):
    assert boolean(text) is False


def test_anything_else_is_not_a_boolean():
    with pytest.raises(argparse.ArgumentTypeError, match="invalid boolean"):
        boolean("maybe")


@pytest.mark.parametrize(
    ("argv", "value"),
    [([], False), (["--flag"], True), (["--flag=false"], False), (["--flag", "true"], True)],
)
def test_a_bool_flag_alone_means_true(argv, value):
    p = argparse.ArgumentParser()
    add_bool_flag(p, "--flag")
    assert p.parse_args(argv).flag is value


def test_kubeconfig_flag():
    p = argparse.ArgumentParser()
    add_kubeconfig_flag(p)
    assert p.parse_args([]).kubeconfig is None
    assert p.parse_args(["--kubeconfig", "k"]).kubeconfig == "k"
