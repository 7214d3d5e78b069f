"""Eviction deadlines: when a pod must leave a node with NoExecute taints."""

from __future__ import annotations

from api.timefmt import rfc3339
from controller.tainteviction.deadline import eviction_deadline

NOW = 1_800_000_000.0
UNREACHABLE = "node.kubernetes.io/unreachable"


def test_eviction_deadline():
    added = rfc3339(NOW)
    taint = {"key": UNREACHABLE, "effect": "NoExecute", "timeAdded": added}
    two = {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 2}
    forever = {"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute"}
    assert eviction_deadline([two], [taint], {}, NOW + 1) == NOW + 2
    assert eviction_deadline([forever], [taint], {}, NOW + 1) is None
    assert eviction_deadline([], [taint], {}, NOW + 1) == NOW + 1  # not tolerated: now
    zero = {**two, "tolerationSeconds": 0}
    assert eviction_deadline([zero], [taint], {}, NOW + 1) == NOW
    untimed = {"key": UNREACHABLE, "effect": "NoExecute"}
    assert eviction_deadline([two], [untimed], {UNREACHABLE: NOW + 7}, NOW + 8) == NOW + 9
