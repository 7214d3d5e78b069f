"""`python -m scheduler` flags, Kubernetes-style."""

from __future__ import annotations

import argparse

import pytest

from scheduler.__main__ import _duration, parse_args


def test_defaults():
    args = parse_args(["--kubeconfig", "k"])
    assert args.scheduler_name == "default-scheduler"
    assert args.leader_elect is False
    assert args.leader_elect_resource_name == "kube-scheduler"
    assert args.leader_elect_resource_namespace == "kube-system"
    assert (args.leader_elect_lease_duration, args.leader_elect_renew_deadline) == (15.0, 10.0)


@pytest.mark.parametrize(
    ("argv", "value"),
    [
        (["--leader-elect"], True),
        (["--leader-elect=false"], False),
        (["--leader-elect", "true"], True),
    ],
)
def test_leader_elect_is_a_flag_or_a_boolean(argv, value):
    assert parse_args(argv).leader_elect is value


def test_durations_are_go_style_or_seconds():
    assert _duration("15s") == 15
    assert _duration("1m30s") == 90
    assert _duration("500ms") == 0.5
    assert _duration("2.5") == 2.5
    for bad in ("15x", "s", "1m 2s"):
        with pytest.raises(argparse.ArgumentTypeError):
            _duration(bad)
