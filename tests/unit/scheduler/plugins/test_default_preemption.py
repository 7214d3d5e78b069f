"""DefaultPreemption: who may preempt, which pods on a node are the fewest and least
important victims, and which node is chosen, by Kubernetes' criteria (pure logic, with
the real filter plugins deciding what fits)."""

from __future__ import annotations

from scheduler.algorithm import Algorithm
from scheduler.framework import Profile
from scheduler.nodeinfo import NodeInfo
from scheduler.plugins import DEFAULT_PLUGINS
from scheduler.plugins.default_preemption import (
    NO_VICTIMS,
    NOT_ELIGIBLE_NEVER,
    NOT_ELIGIBLE_TERMINATING,
    NOT_HELPFUL,
    Candidate,
    DefaultPreemption,
    split_by_budget,
)
from scheduler.podinfo import PodInfo
from tests.unit.scheduler.plugins.builders import node, pod

ALGORITHM = Algorithm(Profile.from_plugins(DEFAULT_PLUGINS))


def running(name: str, cpu: str, priority: int, started: str = "2024-01-01T00:00:00Z") -> PodInfo:
    info = pod(name, cpu=cpu, priority=priority)
    info.pod["status"] = {"startTime": started}  # type: ignore[index]
    return info


def full_node(name: str, *pods: PodInfo, cpu: str = "2") -> NodeInfo:
    n = node(name, cpu=cpu)
    for p in pods:
        n.add_pod(p)
    return n


def preempt(preemptor: PodInfo, *nodes: NodeInfo, nominated: str | None = None):
    decision = ALGORITHM.schedule(preemptor, nodes)
    assert decision.node is None, "the preemptor must not fit anywhere"
    return DefaultPreemption().post_filter(
        preemptor, nodes, decision.failures, ALGORITHM.run_filters, nominated
    )


def test_the_fewest_lowest_priority_victims_are_chosen_and_the_rest_reprieved():
    n = full_node(
        "n1",
        running("low-a", "500m", 1),
        running("low-b", "500m", 1, "2024-01-02T00:00:00Z"),
        running("mid", "1", 5),
    )
    result = preempt(pod("high", cpu="1", priority=10), n)
    # removing the two 500m pods or the 1-cpu one both make room; reprieving goes
    # most important first, so `mid` stays and both low pods go
    assert result.node == "n1"
    assert [v.name for v in result.victims] == ["low-a", "low-b"]
    small = preempt(pod("high", cpu="500m", priority=10), full_node("n1", *n.pods.values()))
    # one victim is enough: the least important one (lowest priority, then the
    # later start) is the one not reprieved
    assert [v.name for v in small.victims] == ["low-b"]


def test_pods_of_equal_or_higher_priority_are_never_victims():
    n = full_node("n1", running("same", "1", 10), running("higher", "1", 20))
    result = preempt(pod("p", cpu="1", priority=10), n)
    assert result.node is None
    assert result.message == (f"preemption: 0/1 nodes are available: 1 {NO_VICTIMS}.")


def test_a_node_preemption_cannot_help_is_skipped_with_kubernetes_message():
    tainted = node("tainted", cpu="2", taints=[{"key": "k", "effect": "NoSchedule"}])
    tainted.add_pod(running("low", "2", 0))
    n = full_node("n1", running("low2", "2", 0))
    result = preempt(pod("p", cpu="1", priority=10), tainted, n)
    assert result.node == "n1"
    nothing = preempt(pod("p", cpu="1", priority=10), tainted)
    assert nothing.node is None and nothing.clear_nomination
    assert nothing.message == f"preemption: 0/1 nodes are available: 1 {NOT_HELPFUL}."


def test_when_even_removing_every_lower_pod_is_not_enough():
    n = full_node("n1", running("low", "1", 0), running("high", "1", 100))
    result = preempt(pod("p", cpu="2", priority=10), n)
    assert result.node is None
    assert result.message == "preemption: 0/1 nodes are available: 1 Insufficient cpu."


def test_preemption_policy_never_does_not_preempt():
    n = full_node("n1", running("low", "2", 0))
    result = preempt(pod("p", cpu="1", priority=10, preemptionPolicy="Never"), n)
    assert result.node is None and result.message == f"preemption: {NOT_ELIGIBLE_NEVER}"


def test_no_second_preemption_while_victims_terminate_on_the_nominated_node():
    victim = running("low", "2", 0)
    victim.pod["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"  # type: ignore[index]
    victim.pod["status"]["conditions"] = [  # type: ignore[index]
        {"type": "DisruptionTarget", "status": "True", "reason": "PreemptionByScheduler"}
    ]
    n = full_node("n1", victim)
    other = full_node("n2", running("low2", "2", 0))
    result = preempt(pod("p", cpu="1", priority=10), n, other, nominated="n1")
    assert result.node is None and result.message == f"preemption: {NOT_ELIGIBLE_TERMINATING}"
    # without the nomination it may preempt (the terminating pod counts as a victim,
    # which the scheduler does not delete twice); a tie picks the first node
    again = preempt(pod("p", cpu="1", priority=10), n, other)
    assert again.node == "n1" and [v.name for v in again.victims] == ["low"]


def test_node_choice_criteria_in_kubernetes_order():
    pick = DefaultPreemption().select

    def cand(node_name: str, *victims: PodInfo, violations: int = 0) -> Candidate:
        return Candidate(node_name, list(victims), violations)

    # 1. fewest PDB violations
    a = cand("a", running("x", "1", 1), violations=1)
    b = cand("b", running("y", "1", 50))
    assert pick([a, b]).node == "b"
    # 2. the lowest highest-priority victim
    a = cand("a", running("x", "1", 5))
    b = cand("b", running("y", "1", 3), running("z", "1", 3))
    assert pick([a, b]).node == "b"
    # 3. the smallest sum of priorities (negative priorities included)
    a = cand("a", running("x", "1", 3), running("w", "1", 3))
    b = cand("b", running("y", "1", 3), running("z", "1", -5))
    assert pick([a, b]).node == "b"
    # 5. equal on rules 1-4: the latest start among the highest-priority victims
    a = cand("a", running("x", "1", 3))
    b = cand("b", running("y", "1", 3), running("z", "1", 0))
    c = cand("c", running("u", "1", 3))
    # b's sum is larger (rule 3); a and c tie down to rule 5
    a.victims[0].pod["status"]["startTime"] = "2024-01-01T00:00:00Z"  # type: ignore[index]
    c.victims[0].pod["status"]["startTime"] = "2024-03-01T00:00:00Z"  # type: ignore[index]
    assert pick([a, b, c]).node == "c"
    # 6. still tied: the first
    assert pick([cand("m", running("x", "1", 3)), cand("n", running("y", "1", 3))]).node == "m"
    # a node needing no victim wins outright
    assert pick([a, cand("free")]).node == "free"


def test_a_shorter_victim_list_wins_on_the_shifted_sum():
    pick = DefaultPreemption().select
    # Kubernetes adds 2^31 to each victim's priority before summing, so with equal
    # highest priorities the node with fewer victims already has the smaller sum
    a = Candidate("a", [running("x", "1", 2), running("w", "1", 2)])
    b = Candidate("b", [running("y", "1", 2)])
    assert pick([a, b]).node == "b"


def test_the_failure_message_carries_the_preemption_part():
    n = node("n1", cpu="1")
    n.add_pod(running("x", "1", 0))
    decision = ALGORITHM.schedule(pod("p", cpu="1", preemptionPolicy="Never"), [n])
    assert ALGORITHM.post_filter(pod("p", cpu="1", preemptionPolicy="Never"), [n], decision)
    assert decision.message == (
        "0/1 nodes are available: 1 Insufficient cpu. "
        "preemption: not eligible due to preemptionPolicy=Never.."
    )


def budget(name: str, allowed: int, **match: str) -> dict:
    return {
        "metadata": {"name": name, "namespace": "ns"},
        "spec": {"selector": {"matchLabels": match}},
        "status": {"disruptionsAllowed": allowed},
    }


def test_budgets_split_victims_as_kubernetes_counts_them():
    a = pod("a", labels={"app": "db"})
    b = pod("b", labels={"app": "db"})
    c = pod("c", labels={"app": "web"})
    plain = pod("plain")
    violating, fine = split_by_budget([a, b, c, plain], [budget("db", 1, app="db")])
    # the first db pod uses the one allowed disruption; the second would break it
    assert [p.name for p in violating] == ["b"]
    assert [p.name for p in fine] == ["a", "c", "plain"]
    already = budget("db", 0, app="db")
    already["status"]["disruptedPods"] = {"a": "2024-01-01T00:00:00Z"}
    violating, _ = split_by_budget([a, b], [already])
    assert [p.name for p in violating] == ["b"]


def test_a_node_whose_victims_break_no_budget_is_preferred():
    guarded = running("guarded", "2", 0)
    guarded.pod["metadata"]["labels"] = {"app": "db"}  # type: ignore[index]
    n1 = full_node("n1", guarded)
    n2 = full_node("n2", running("free", "2", 5))
    plugin = DefaultPreemption(budgets=lambda: [budget("db", 0, app="db")])
    preemptor = pod("p", cpu="1", priority=10)
    decision = ALGORITHM.schedule(preemptor, [n1, n2])
    result = plugin.post_filter(preemptor, [n1, n2], decision.failures, ALGORITHM.run_filters, None)
    # n1's victim has the lower priority but would violate the budget: n2 wins
    assert result.node == "n2" and [v.name for v in result.victims] == ["free"]


def test_which_filter_failures_preemption_may_cure():
    """Kubernetes' codes: room (resources, host ports) is Unschedulable; a taint, a
    selector or a cordon is UnschedulableAndUnresolvable."""
    busy = node("busy", cpu="1")
    busy.add_pod(pod("x", cpu="1", host_port=80))
    cases = {
        "NodeResourcesFit": (pod("p", cpu="1"), busy),
        "NodePorts": (pod("p", host_port=80), busy),
        "TaintToleration": (pod("p"), node(taints=[{"key": "k", "effect": "NoSchedule"}])),
        "NodeAffinity": (pod("p", nodeSelector={"disk": "ssd"}), node()),
        "NodeUnschedulable": (pod("p"), node(unschedulable=True)),
    }
    codes = {}
    for name, (p, n) in cases.items():
        status = ALGORITHM.run_filters(p, n)
        assert status is not None and status.plugin == name, (name, status)
        codes[name] = status.code
    assert codes == {
        "NodeResourcesFit": "Unschedulable",
        "NodePorts": "Unschedulable",
        "TaintToleration": "UnschedulableAndUnresolvable",
        "NodeAffinity": "UnschedulableAndUnresolvable",
        "NodeUnschedulable": "UnschedulableAndUnresolvable",
    }
