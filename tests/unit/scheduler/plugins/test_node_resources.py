"""NodeResourcesFit and BalancedAllocation: requests against allocatable, least
allocated and balanced allocation scores (pure logic)."""

from __future__ import annotations

from scheduler.framework import score_applies
from scheduler.plugins.node_resources import NodeResourcesBalancedAllocation, NodeResourcesFit
from tests.unit.scheduler.plugins.builders import node, pod, reasons


def test_fit_counts_what_bound_pods_request_against_allocatable():
    plugin = NodeResourcesFit()
    n = node(cpu="2", memory="1Gi", pods="3")
    n.add_pod(pod("a", cpu="1500m", memory="512Mi"))
    assert plugin.filter(pod(cpu="500m", memory="512Mi"), n) is None
    assert reasons(plugin.filter(pod(cpu="501m"), n)) == ("Insufficient cpu",)
    assert reasons(plugin.filter(pod(cpu="1", memory="1Gi"), n)) == (
        "Insufficient cpu",
        "Insufficient memory",
    )
    n.add_pod(pod("b"))
    n.add_pod(pod("c"))
    assert reasons(plugin.filter(pod(), n)) == ("Too many pods",)


def test_extended_resources_must_be_allocatable():
    plugin = NodeResourcesFit()
    gpu_pod = pod()
    gpu_pod.other_requests = {"nvidia.com/gpu": 1}
    assert reasons(plugin.filter(gpu_pod, node())) == ("Insufficient nvidia.com/gpu",)
    assert plugin.filter(gpu_pod, node(extra={"nvidia.com/gpu": "2"})) is None


def test_least_allocated_prefers_the_emptier_node():
    plugin = NodeResourcesFit()
    empty, busy = node("empty"), node("busy")
    busy.add_pod(pod("x", cpu="2", memory="4Gi"))
    p = pod(cpu="1", memory="2Gi")
    # empty: cpu (4-1)/4 = 75, memory (8-2)/8 = 75; busy: (4-3)/4 = 25, (8-6)/8 = 25
    assert plugin.score(p, empty) == 75
    assert plugin.score(p, busy) == 25
    busy.add_pod(pod("y", cpu="0", memory="2Gi"))  # memory now full: (25 + 0) / 2
    assert plugin.score(p, busy) == 12


def test_least_allocated_counts_request_less_pods_at_default_requests():
    plugin = NodeResourcesFit()
    n = node(cpu="1", memory="2000Mi")
    # 100m of 1000m and 200Mi of 2000Mi used → 90 and 90
    assert plugin.score(pod(), n) == 90


def test_balanced_allocation_prefers_even_cpu_and_memory_use():
    plugin = NodeResourcesBalancedAllocation()
    n = node(cpu="4", memory="8Gi")
    assert plugin.score(pod(cpu="2", memory="4Gi"), n) == 100
    assert plugin.score(pod(cpu="2", memory="0"), n) == 75  # |0.5 - 0| / 2 = 0.25
    assert not score_applies(plugin, pod())
