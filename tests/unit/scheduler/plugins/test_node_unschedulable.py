"""NodeUnschedulable: cordoned nodes (pure logic)."""

from __future__ import annotations

from scheduler.plugins.node_unschedulable import NodeUnschedulable
from tests.unit.scheduler.plugins.builders import node, pod, reasons


def test_cordoned_node_is_rejected_unless_the_pod_tolerates_it():
    plugin = NodeUnschedulable()
    assert plugin.filter(pod(), node()) is None
    assert reasons(plugin.filter(pod(), node(unschedulable=True))) == (
        "node(s) were unschedulable",
    )
    tolerant = pod(
        tolerations=[
            {
                "key": "node.kubernetes.io/unschedulable",
                "operator": "Exists",
                "effect": "NoSchedule",
            }
        ]
    )
    assert plugin.filter(tolerant, node(unschedulable=True)) is None
