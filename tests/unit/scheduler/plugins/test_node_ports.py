"""NodePorts: host port conflicts (pure logic)."""

from __future__ import annotations

from scheduler.framework import filter_applies
from scheduler.plugins.node_ports import NodePorts
from tests.unit.scheduler.plugins.builders import node, pod, reasons


def test_host_port_conflicts_follow_protocol_and_ip():
    plugin = NodePorts()
    n = node()
    n.add_pod(pod("web", host_port=8080))
    reason = ("node(s) didn't have free ports for the requested pod ports",)
    assert reasons(plugin.filter(pod(host_port=8080), n)) == reason
    assert plugin.filter(pod(host_port=8081), n) is None
    assert plugin.filter(pod(host_port=8080, protocol="UDP"), n) is None
    # 0.0.0.0 (the default) overlaps any specific IP, and the other way round
    assert reasons(plugin.filter(pod(host_port=8080, host_ip="10.0.0.1"), n)) == reason
    other = node("other")
    other.add_pod(pod("a", host_port=9000, host_ip="10.0.0.1"))
    assert plugin.filter(pod(host_port=9000, host_ip="10.0.0.2"), other) is None
    assert reasons(plugin.filter(pod(host_port=9000), other)) == reason


def test_ports_are_released_when_the_pod_goes_and_the_filter_skips_portless_pods():
    plugin = NodePorts()
    n = node()
    n.add_pod(pod("web", host_port=8080))
    n.remove_pod("ns/web")
    assert plugin.filter(pod(host_port=8080), n) is None
    assert not filter_applies(plugin, pod())
