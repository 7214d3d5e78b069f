"""`python -m netagent`'s flags."""

from __future__ import annotations

import pytest

from netagent.__main__ import config_from, parse_args


def test_defaults_are_flannels() -> None:
    config = config_from(parse_args(["--node-name", "h1"]))
    assert (config.node_name, config.backend, config.device) == ("h1", "host-gw", "minik.1")
    assert (config.vni, config.port, config.public_ip, config.ip_forward) == (1, 8472, "", True)
    assert config.resync_seconds == 30.0


def test_flags() -> None:
    args = parse_args(
        [
            "--backend",
            "vxlan",
            "--public-ip",
            "192.168.1.5",
            "--vni",
            "7",
            "--vxlan-port",
            "4789",
            "--no-ip-forward",
            "--resync-period",
            "1m",
        ]
    )
    config = config_from(args)
    assert (config.backend, config.public_ip, config.vni, config.port) == (
        "vxlan",
        "192.168.1.5",
        7,
        4789,
    )
    assert not config.ip_forward and config.resync_seconds == 60.0


@pytest.mark.parametrize(
    "argv",
    [
        ["--backend", "udp"],
        ["--public-ip", "nope"],
        ["--vni", "0"],
        ["--vxlan-port", "70000"],
        ["--vxlan-device", "a-name-far-too-long"],
    ],
)
def test_bad_flags_are_refused(argv: list[str]) -> None:
    with pytest.raises(SystemExit):
        parse_args(argv)
