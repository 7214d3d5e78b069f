"""OwnerSpread: spreading a controller's pods (pure logic)."""

from __future__ import annotations

from scheduler.framework import score_applies
from scheduler.plugins.owner_spread import OwnerSpread
from tests.unit.scheduler.plugins.builders import node, pod


def test_owner_spread_prefers_nodes_with_fewer_pods_of_the_same_controller():
    plugin = OwnerSpread()
    a, b, c = node("a"), node("b"), node("c")
    for i in range(2):
        a.add_pod(pod(f"rs-{i}", owner="rs-uid"))
    b.add_pod(pod("rs-2", owner="rs-uid"))
    c.add_pod(pod("other", owner="other-uid"))
    p = pod("new", owner="rs-uid")
    scores = [plugin.score(p, n) for n in (a, b, c)]
    assert scores == [2, 1, 0]
    plugin.normalize(p, scores)
    assert scores == [0, 50, 100]


def test_without_a_controller_pods_with_the_same_labels_spread_together():
    plugin = OwnerSpread()
    a = node("a")
    a.add_pod(pod("x", labels={"app": "web"}))
    assert plugin.score(pod("y", labels={"app": "web"}), a) == 1
    assert plugin.score(pod("z", labels={"app": "db"}), a) == 0
    assert not score_applies(plugin, pod("bare"))
