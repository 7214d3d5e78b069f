"""Each plugin's `score_nodes` (the whole feasible list at once, the scheduler's
hottest loop) gives exactly the scores its `score` gives node by node, and the
inlined fast path of NodeResourcesFit's filter decides as its full path does."""

from __future__ import annotations

import itertools

import pytest

from scheduler.framework import node_scores
from scheduler.nodeinfo import NodeInfo
from scheduler.plugins.node_resources import NodeResourcesBalancedAllocation, NodeResourcesFit
from scheduler.plugins.owner_spread import OwnerSpread
from scheduler.plugins.taint_toleration import TaintToleration
from tests.unit.scheduler.plugins.builders import node, pod

PREFER = {"key": "k", "value": "v", "effect": "PreferNoSchedule"}


def varied_nodes() -> list[NodeInfo]:
    """Empty, busy, full, overcommitted, zero-capacity and tainted nodes."""
    nodes = [
        node("empty"),
        node("small", cpu="500m", memory="256Mi", pods="2"),
        node("nocpu", cpu="0", memory="1Gi"),
        node("nomemory", cpu="2", memory="0"),
        node("tainted", taints=[PREFER]),
        node("twice", taints=[PREFER, {**PREFER, "key": "k2"}]),
    ]
    busy = node("busy")
    for i in range(3):
        busy.add_pod(pod(f"b{i}", cpu="1", memory="2Gi", owner="rs1"))
    over = node("over", cpu="1", memory="1Gi")
    over.add_pod(pod("big", cpu="3", memory="3Gi", owner="rs1"))
    full = node("full", pods="1")
    full.add_pod(pod("only", owner="rs2"))
    return [*nodes, busy, over, full]


PODS = [
    pod("none"),
    pod("cpu", cpu="250m"),
    pod("both", cpu="1", memory="1Gi", owner="rs1"),
    pod("huge", cpu="8", memory="16Gi", owner="rs2"),
    pod("tolerant", cpu="100m", tolerations=[{"key": "k", "operator": "Exists"}]),
]


@pytest.mark.parametrize(
    "plugin",
    [NodeResourcesFit(), NodeResourcesBalancedAllocation(), OwnerSpread(), TaintToleration()],
    ids=lambda p: p.name,
)
def test_score_nodes_equals_score_per_node(plugin):
    nodes = varied_nodes()
    for p in PODS:
        assert plugin.score_nodes(p, nodes) == [plugin.score(p, n) for n in nodes]
        assert node_scores(plugin, p, nodes) == [plugin.score(p, n) for n in nodes]


def test_fit_filter_fast_path_decides_as_the_full_path():
    """Every pod against every node: None exactly when no reason applies."""
    plugin = NodeResourcesFit()
    gpu = pod("gpu", cpu="100m")
    gpu.other_requests = {"nvidia.com/gpu": 1}
    for p, n in itertools.product([*PODS, gpu], varied_nodes()):
        status = plugin.filter(p, n)
        too_many = len(n.pods) + 1 > n.alloc_pods
        no_cpu = p.cpu > 0 and p.cpu > n.alloc_cpu - n.req_cpu
        no_memory = p.memory > 0 and p.memory > n.alloc_memory - n.req_memory
        no_other = any(
            v > n.alloc_other.get(k, 0) - n.req_other.get(k, 0) for k, v in p.other_requests.items()
        )
        assert (status is None) == (not (too_many or no_cpu or no_memory or no_other)), (
            p.name,
            n.name,
        )
