"""The --leader-elect* flags kube-scheduler and kube-controller-manager share."""

from __future__ import annotations

import argparse

from componentbase.leaderelection import add_leader_election_flags, leader_election_error


def parse(*argv: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    add_leader_election_flags(p, resource_name="kube-thing")
    return p.parse_args(argv)


def test_defaults_are_kubernetes():
    args = parse()
    assert args.leader_elect is False
    assert (args.leader_elect_resource_namespace, args.leader_elect_resource_name) == (
        "kube-system",
        "kube-thing",
    )
    assert (
        args.leader_elect_lease_duration,
        args.leader_elect_renew_deadline,
        args.leader_elect_retry_period,
    ) == (15.0, 10.0, 2.0)


def test_timings_must_nest():
    assert leader_election_error(parse("--leader-elect")) is None
    assert leader_election_error(parse("--leader-elect-renew-deadline=20s")) is None  # unused
    error = leader_election_error(parse("--leader-elect", "--leader-elect-renew-deadline=20s"))
    assert error is not None and "--leader-elect-renew-deadline" in error
    too_fast = parse("--leader-elect", "--leader-elect-retry-period=9s")
    assert leader_election_error(too_fast) is not None
