"""When the pod GC treats a node as down."""

from __future__ import annotations

from controller.podgc.controller import node_is_down


def node(ready: str | None, taints: list[dict] | None = None) -> dict:
    conditions = (
        [] if ready is None else [{"type": "Ready", "status": ready, "reason": "KubeletReady"}]
    )
    conditions.append({"type": "MemoryPressure", "status": "False"})
    return {
        "metadata": {"name": "n1", "creationTimestamp": "2030-01-01T00:00:00Z"},
        "spec": {"taints": taints or []},
        "status": {"conditions": conditions},
    }


def test_pod_gc_sees_a_node_as_down():
    assert not node_is_down(node("True"))
    assert node_is_down(node("Unknown"))
    assert node_is_down(node(None))
    assert node_is_down(
        node("True", [{"key": "node.kubernetes.io/out-of-service", "effect": "NoExecute"}])
    )
    assert not node_is_down(node("True", [{"key": "dedicated", "effect": "NoExecute"}]))
