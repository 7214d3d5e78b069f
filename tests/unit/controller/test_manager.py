"""The controller manager's command line: which controllers run, and its flags."""

from __future__ import annotations

import pytest

from controller.__main__ import options_from, parse_args
from controller.manager import (
    CONTROLLER_NAMES,
    DISABLED_BY_DEFAULT,
    UnknownController,
    enabled_controllers,
)


def test_star_enables_everything_but_the_disabled_by_default():
    assert enabled_controllers(["*"]) == [
        n for n in CONTROLLER_NAMES if n not in DISABLED_BY_DEFAULT
    ]
    assert "tokencleaner" not in enabled_controllers(["*"])
    assert "bootstrapsigner" not in enabled_controllers(["*"])
    # kubeadm's --controllers=*,bootstrapsigner,tokencleaner
    assert enabled_controllers(["*", "bootstrapsigner", "tokencleaner"]) == list(CONTROLLER_NAMES)
    assert "csrsigning" in enabled_controllers(["*"])


def test_names_aliases_and_exclusions():
    assert enabled_controllers(["deployment", "replicaset-controller"]) == [
        "deployment",
        "replicaset",
    ]
    assert "podgc" not in enabled_controllers(["*", "-podgc"])
    assert "garbagecollector" not in enabled_controllers(["*", "-garbage-collector-controller"])
    assert enabled_controllers(["endpoint"]) == ["endpoints"]
    assert enabled_controllers(["cronjob-controller"]) == ["cronjob"]
    assert enabled_controllers(["disruption-controller", "replicationcontroller"]) == [
        "replicationcontroller",
        "disruption",
    ]
    with pytest.raises(UnknownController):
        enabled_controllers(["no-such-controller"])


def test_flags():
    args = parse_args(
        [
            "--kubeconfig", "k",
            "--node-monitor-grace-period", "4s",
            "--default-not-ready-toleration-seconds", "30",
            "--default-unreachable-toleration-seconds", "30",
            "--leader-elect",
            "--leader-elect-lease-duration", "3s",
        ]
    )  # fmt: skip
    assert args.leader_elect is True and args.leader_elect_lease_duration == 3
    options = options_from(args)
    assert options.node_monitor_grace_period == 4
    assert options.default_unreachable_toleration_seconds == 30
    assert parse_args(["--leader-elect=false"]).leader_elect is False
    assert parse_args([]).leader_elect is False
    with pytest.raises(SystemExit):
        parse_args(["--node-monitor-grace-period", "soon"])


def test_metrics_listener_flags():
    args = parse_args([])
    assert (args.bind_address, args.secure_port, args.port) == ("127.0.0.1", 10257, 0)
    assert parse_args(["--port", "10252"]).port == 10252


def test_nodeipam_needs_allocate_node_cidrs():
    from controller.manager import runnable

    assert "nodeipam" in enabled_controllers(["*"])
    assert enabled_controllers(["node-ipam-controller"]) == ["nodeipam"]
    assert "nodeipam" not in runnable(["nodeipam", "podgc"], options_from(parse_args([])))
    args = parse_args(["--allocate-node-cidrs", "--node-cidr-mask-size-ipv4", "26"])
    from controller.__main__ import node_ipam_options

    node_ipam_options(args)
    options = options_from(args)
    assert options.node_ipam is not None
    assert [str(c) for c in options.node_ipam.cluster_cidrs] == ["10.244.0.0/16"]
    assert options.node_ipam.mask_sizes == (26,)
    assert runnable(["nodeipam", "podgc"], options) == ["nodeipam", "podgc"]


@pytest.mark.parametrize(
    "argv",
    [
        ["--allocate-node-cidrs", "--cluster-cidr", "10.244.0.0/x"],
        [
            "--allocate-node-cidrs=true",
            "--cluster-cidr",
            "10.244.0.0/16",
            "--node-cidr-mask-size",
            "8",
        ],
    ],
)
def test_bad_node_ipam_flags_exit_with_one_line(argv, capsys):
    from controller.__main__ import main

    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("controller-manager: ") and err.count("\n") == 1
    # not allocating: the same values are not looked at
    assert parse_args(["--cluster-cidr", "bogus"]).allocate_node_cidrs is False
