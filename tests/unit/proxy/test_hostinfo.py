"""Host defaults: the system resolver, never the cluster DNS itself."""

from __future__ import annotations

from proxy.hostinfo import system_nameserver


def test_the_system_nameserver_skips_the_cluster_dns(tmp_path):
    conf = tmp_path / "resolv.conf"
    conf.write_text("search x\nnameserver 10.96.0.10\nnameserver 192.0.2.53\n")
    assert system_nameserver(str(conf), skip=("10.96.0.10",)) == "192.0.2.53"
    assert system_nameserver(str(tmp_path / "missing")) is None
