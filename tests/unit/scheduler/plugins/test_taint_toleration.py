"""TaintToleration: NoSchedule/NoExecute taints filter, PreferNoSchedule ones only
lower the score (pure logic)."""

from __future__ import annotations

import pytest

from scheduler.plugins.taint_toleration import TaintToleration
from tests.unit.scheduler.plugins.builders import node, pod, reasons

GPU = {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}


def test_untolerated_no_schedule_and_no_execute_taints_reject_with_kubernetes_wording():
    plugin = TaintToleration()
    assert reasons(plugin.filter(pod(), node(taints=[GPU]))) == (
        "node(s) had untolerated taint {dedicated: gpu}",
    )
    no_execute = {"key": "maintenance", "effect": "NoExecute"}
    assert reasons(plugin.filter(pod(), node(taints=[no_execute]))) == (
        "node(s) had untolerated taint {maintenance: }",
    )
    tolerant = pod(tolerations=[{"key": "dedicated", "operator": "Exists"}])
    assert plugin.filter(tolerant, node(taints=[GPU])) is None


def test_prefer_no_schedule_only_lowers_the_score():
    plugin = TaintToleration()
    soft = node("soft", taints=[{"key": "spot", "value": "yes", "effect": "PreferNoSchedule"}])
    plain = node("plain")
    p = pod()
    assert plugin.filter(p, soft) is None
    scores = [plugin.score(p, soft), plugin.score(p, plain)]
    plugin.normalize(p, scores)
    assert scores == [0, 100]
    spot = {"key": "spot", "operator": "Exists", "effect": "PreferNoSchedule"}
    tolerant = pod(tolerations=[spot])
    scores = [plugin.score(tolerant, soft), plugin.score(tolerant, plain)]
    plugin.normalize(tolerant, scores)
    assert scores == [100, 100]


@pytest.mark.parametrize(
    ("ready", "taint_key"),
    [
        ("False", "node.kubernetes.io/not-ready"),
        (None, "node.kubernetes.io/not-ready"),
        ("Unknown", "node.kubernetes.io/unreachable"),
    ],
)
def test_a_node_that_is_not_ready_counts_as_tainted_like_kubernetes_marks_it(ready, taint_key):
    plugin = TaintToleration()
    status = plugin.filter(pod(), node(ready=ready))
    assert reasons(status) == (f"node(s) had untolerated taint {{{taint_key}: }}",)
    tolerant = pod(tolerations=[{"key": taint_key, "operator": "Exists"}])
    assert plugin.filter(tolerant, node(ready=ready)) is None


def test_one_pod_on_many_nodes_is_judged_once_per_set_of_taints(monkeypatch):
    """A thousand NotReady nodes carry the same taint: the verdict is computed once for
    the pod and reused, and a node with other taints gets its own."""
    plugin = TaintToleration()
    calls = []
    verdict = plugin._verdict
    monkeypatch.setattr(plugin, "_verdict", lambda p, taints: calls.append(1) or verdict(p, taints))
    p = pod()
    down = [node(f"down-{i}", ready="False") for i in range(50)]
    assert all(reasons(plugin.filter(p, n)) for n in down)
    assert reasons(plugin.filter(p, node("gpu", taints=[GPU]))) == (
        "node(s) had untolerated taint {dedicated: gpu}",
    )
    assert plugin.filter(p, node("plain")) is None
    assert len(calls) == 2
    tolerant = pod(tolerations=[{"key": "node.kubernetes.io/not-ready", "operator": "Exists"}])
    assert all(plugin.filter(tolerant, n) is None for n in down)
