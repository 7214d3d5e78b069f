"""One decision at a time over the default plugins: feasibility, scoring, ties, the
FitError, and how far a large cluster is searched."""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from scheduler.algorithm import Algorithm, num_feasible_nodes_to_find
from scheduler.cache import SchedulerCache
from scheduler.framework import Profile, Registered
from scheduler.plugins import DEFAULT_PLUGINS
from scheduler.podinfo import PodInfo


def node(name: str, cpu: str = "4", labels: dict | None = None, **spec: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": labels or {}},
        "spec": spec,
        "status": {
            "allocatable": {"cpu": cpu, "memory": "8Gi", "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True"}],
        },
    }


def pod(name: str, cpu: str = "100m", owner: str | None = "rs", **spec: Any) -> PodInfo:
    md: dict[str, Any] = {"name": name, "namespace": "ns", "labels": {"app": "web"}}
    if owner:
        md["ownerReferences"] = [
            {"kind": "ReplicaSet", "name": owner, "uid": owner, "controller": True}
        ]
    container = {"name": "c", "resources": {"requests": {"cpu": cpu, "memory": "64Mi"}}}
    return PodInfo({"metadata": md, "spec": {"containers": [container], **spec}})


def algorithm(seed: int = 1) -> Algorithm:
    return Algorithm(Profile.from_plugins(DEFAULT_PLUGINS), random.Random(seed))


def test_a_burst_spreads_evenly_because_each_decision_is_assumed_before_the_next():
    cache = SchedulerCache()
    for n in ("a", "b", "c"):
        cache.add_node(node(n))
    alg = algorithm()
    for i in range(20):
        p = pod(f"p{i}")
        decision = alg.schedule(p, cache.nodes())
        assert decision.node is not None
        cache.assume(p, decision.node)
    counts = Counter(cache.node_of(f"ns/p{i}") for i in range(20))
    assert sorted(counts.values()) == [6, 7, 7]


def test_spreading_beats_a_slightly_emptier_node_for_pods_of_one_owner():
    cache = SchedulerCache()
    for n in ("a", "b"):
        cache.add_node(node(n))
    for i in range(3):
        cache.assume(pod(f"mine{i}"), "a")
    cache.assume(pod("big", cpu="500m", owner="other"), "b")  # b is busier by cpu
    assert algorithm().schedule(pod("new"), cache.nodes()).node == "b"


def test_ties_are_broken_at_random_among_the_best():
    cache = SchedulerCache()
    for n in ("a", "b", "c", "d"):
        cache.add_node(node(n))
    chosen = {
        algorithm(seed).schedule(pod("p", owner=None), cache.nodes()).node for seed in range(40)
    }
    assert chosen == {"a", "b", "c", "d"}


def test_when_no_node_fits_the_decision_carries_every_nodes_reasons():
    cache = SchedulerCache()
    cache.add_node(node("small", cpu="1"))
    cache.add_node(node("hdd", labels={"disk": "hdd"}))
    cache.add_node(node("hdd2", labels={"disk": "hdd"}))
    decision = algorithm().schedule(pod("p", cpu="2", nodeSelector={"disk": "ssd"}), cache.nodes())
    assert decision.node is None
    # the first failing filter speaks for each node: affinity runs before resources
    assert decision.message == (
        "0/3 nodes are available: 3 node(s) didn't match Pod's node affinity/selector."
    )
    decision = algorithm().schedule(pod("p", cpu="2"), cache.nodes())
    assert decision.node in ("hdd", "hdd2")
    decision = algorithm().schedule(pod("p", cpu="5"), cache.nodes())
    assert decision.message == "0/3 nodes are available: 3 Insufficient cpu."


def test_no_nodes_means_the_no_nodes_message():
    decision = algorithm().schedule(pod("p"), [])
    assert decision.node is None and decision.message == "no nodes available to schedule pods"


def test_large_clusters_are_searched_only_until_enough_feasible_nodes_are_found():
    assert num_feasible_nodes_to_find(50) == 50
    assert num_feasible_nodes_to_find(100) == 100
    assert num_feasible_nodes_to_find(1000) == 420  # (50 - 1000/125)% = 42%
    assert num_feasible_nodes_to_find(6000) == 300  # floor of 5%
    assert num_feasible_nodes_to_find(150) == 100  # never fewer than 100
    assert num_feasible_nodes_to_find(1000, percentage=20) == 200


class Recorder:
    """A filter that lets every node through and remembers which it was asked about."""

    name = "Recorder"

    def __init__(self) -> None:
        self.seen: list[str] = []

    def filter(self, pod: PodInfo, node: Any) -> None:
        self.seen.append(node.name)


def test_the_search_starts_where_the_last_one_stopped():
    cache = SchedulerCache()
    for i in range(300):
        cache.add_node(node(f"n{i:03}"))
    recorder = Recorder()
    alg = Algorithm(Profile.from_plugins([Registered(recorder)]), random.Random(1))
    alg.schedule(pod("p"), cache.nodes())
    # 300 nodes: (50 - 300/125)% = 48% → 144 feasible nodes are enough
    assert recorder.seen == [f"n{i:03}" for i in range(144)]
    recorder.seen.clear()
    alg.schedule(pod("q"), cache.nodes())
    assert recorder.seen == [f"n{i:03}" for i in range(144, 288)]
    recorder.seen.clear()
    alg.schedule(pod("r"), cache.nodes())
    assert recorder.seen[:12] == [f"n{i:03}" for i in range(288, 300)]
    assert recorder.seen[12] == "n000"


def test_a_pod_goes_to_its_nominated_node_when_it_fits_there():
    cache = SchedulerCache()
    for n in ("n0", "n1", "n2"):
        cache.add_node(node(n, cpu="8"))
    cache.add_node(node("busy", cpu="1"))
    cache.add_pod(
        {**pod("x", cpu="500m").pod, "spec": {**pod("x", cpu="500m").spec, "nodeName": "busy"}}
    )
    alg = algorithm()
    p = pod("p", cpu="500m", owner=None)
    assert alg.schedule(p, cache.nodes()).node != "busy"  # scoring prefers the emptier
    assert alg.schedule(p, cache.nodes(), nominated_node="busy").node == "busy"
    big = pod("big", cpu="2", owner=None)
    assert alg.schedule(big, cache.nodes(), nominated_node="busy").node in {"n0", "n1", "n2"}
