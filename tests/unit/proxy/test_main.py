"""`python -m proxy` flags → the proxy's configuration."""

from __future__ import annotations

import pytest

from componentbase.metrics import HostPort
from proxy import __main__ as cli
from proxy import hostinfo


def test_defaults_come_from_the_host(monkeypatch):
    monkeypatch.setattr(hostinfo, "system_nameserver", lambda skip=(): "192.0.2.53")
    monkeypatch.setattr(hostinfo, "primary_ipv4", lambda: "192.0.2.10")
    config = cli.config_from(cli.parse_args(["--node-name", "n1"]))
    assert config.node_name == "n1"
    assert config.bind_address == "0.0.0.0"
    assert config.cluster_dns == "10.96.0.10"
    assert config.upstream_dns == ("192.0.2.53", 53)
    assert config.node_ips == ["192.0.2.10"]


def test_explicit_flags_win(monkeypatch):
    monkeypatch.setattr(hostinfo, "system_nameserver", lambda skip=(): pytest.fail("not asked"))
    args = cli.parse_args(
        [
            "--bind-address",
            "192.0.2.7",
            "--cluster-dns",
            "10.96.0.53",
            "--upstream-dns",
            "127.0.0.1:5353",
            "--node-ip",
            "192.0.2.7",
            "192.0.2.8",
            "--node-ip",
            "192.0.2.7",
        ]
    )
    config = cli.config_from(args)
    assert config.cluster_dns == "10.96.0.53"
    assert config.upstream_dns == ("127.0.0.1", 5353)
    assert config.node_ips == ["192.0.2.7", "192.0.2.8"]


def test_a_specific_bind_address_is_the_default_node_ip(monkeypatch):
    monkeypatch.setattr(hostinfo, "system_nameserver", lambda skip=(): None)
    config = cli.config_from(cli.parse_args(["--bind-address", "192.0.2.7"]))
    assert config.node_ips == ["192.0.2.7"]
    assert config.upstream_dns is None


@pytest.mark.parametrize(
    "argv", [["--cluster-dns", "nope"], ["--upstream-dns", "300.1.1.1"], ["--node-ip", "::1"]]
)
def test_bad_addresses_are_rejected(argv, capsys):
    with pytest.raises(SystemExit):
        cli.parse_args(argv)
    assert "error" in capsys.readouterr().err


def test_only_one_proxy_per_host(tmp_path):
    lock = tmp_path / "proxy.lock"
    held = hostinfo.host_lock(str(lock))
    try:
        with pytest.raises(hostinfo.AlreadyRunning):
            hostinfo.host_lock(str(lock), wait_seconds=0.2)
    finally:
        held.close()
    hostinfo.host_lock(str(lock), wait_seconds=0.2).close()


def test_verbosity_is_klogs_integer():
    assert cli.parse_args([]).verbosity == 0
    assert cli.parse_args(["-v", "4"]).verbosity == 4


def test_metrics_bind_address_is_kube_proxys():
    assert cli.parse_args([]).metrics_bind_address == HostPort("127.0.0.1", 10249)
    assert cli.parse_args(["--metrics-bind-address", "0.0.0.0:9100"]).metrics_bind_address == (
        HostPort("0.0.0.0", 9100)
    )
    assert not cli.parse_args(["--metrics-bind-address", ""]).metrics_bind_address.enabled


def test_a_bad_metrics_bind_address_is_refused(capsys):
    with pytest.raises(SystemExit):
        cli.parse_args(["--metrics-bind-address", "localhost"])
    assert "want IP:PORT" in capsys.readouterr().err
