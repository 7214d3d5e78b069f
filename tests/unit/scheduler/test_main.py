"""`python -m scheduler` flags, Kubernetes-style."""

from __future__ import annotations

import pytest

from scheduler.__main__ import main, parse_args


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


def test_leader_election_durations_are_go_style():
    args = parse_args(["--leader-elect-retry-period=500ms", "--leader-elect-lease-duration", "1m"])
    assert (args.leader_elect_retry_period, args.leader_elect_lease_duration) == (0.5, 60)


def test_impossible_leader_election_timings_are_refused_before_starting(capsys):
    assert main(["--leader-elect", "--leader-elect-renew-deadline", "20s"]) == 2
    assert "--leader-elect-renew-deadline" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "verbosity"), [([], 0), (["-v", "4"], 4), (["--v=2"], 2)])
def test_verbosity_is_klogs_integer(argv, verbosity):
    assert parse_args(argv).verbosity == verbosity


def test_metrics_listener_flags():
    args = parse_args(["--kubeconfig", "k"])
    assert (args.bind_address, args.secure_port, args.port) == ("127.0.0.1", 10259, 0)
    assert args.authorization_always_allow_paths == "/healthz,/readyz,/livez"
    args = parse_args(["--kubeconfig", "k", "--bind-address", "0.0.0.0", "--port", "10251"])
    assert (args.bind_address, args.port) == ("0.0.0.0", 10251)


def test_a_serving_certificate_needs_its_key(capsys):
    with pytest.raises(SystemExit):
        parse_args(["--kubeconfig", "k", "--tls-cert-file", "c.pem"])
    assert "--tls-cert-file and --tls-private-key-file go together" in capsys.readouterr().err
