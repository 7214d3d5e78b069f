"""controller.daemonset.plan: creates, deletes, rolling updates and status."""

from controller.daemonset.backoff import FailedPodsBackoff
from controller.daemonset.plan import (
    by_node,
    calculate_status,
    plan_nodes,
    plan_rolling_update,
)
from tests.unit.controller.daemonset.builders import NOW, daemonset, node, pod

SURGE = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}


def names(pods):
    return sorted(p["metadata"]["name"] for p in pods)


def test_a_pod_for_each_eligible_node_and_none_elsewhere():
    ds = daemonset(nodeSelector={"role": "edge"})
    nodes = [node("n1", {"role": "edge"}), node("n2", {"role": "edge"}), node("n3")]
    pods = [pod("p1", "n1"), pod("p3", "n3")]
    plan = plan_nodes(ds, nodes, by_node(pods), "new", NOW)
    assert plan.create_on == ["n2"]
    assert names(plan.delete) == ["p3"]


def test_surplus_and_finished_pods_go_oldest_stays():
    nodes = [node("n1"), node("n2")]
    pods = [pod("old", "n1", age=200), pod("young", "n1", age=10),
            pod("failed", "n2", phase="Failed")]  # fmt: skip
    plan = plan_nodes(daemonset(), nodes, by_node(pods), "new", NOW)
    assert names(plan.delete) == ["failed", "young"]
    assert plan.create_on == []  # the failed pod's replacement comes next sync


def test_unbound_pods_for_a_node_that_is_gone_are_deleted():
    plan = plan_nodes(
        daemonset(), [node("n1")], by_node([pod("lost", "gone", bound=False)]), "new", NOW
    )
    assert names(plan.delete) == ["lost"] and plan.create_on == ["n1"]


def test_cordoned_and_no_schedule_tainted_nodes_keep_their_pods():
    tainted = node("n1", taints=[{"key": "x", "effect": "NoSchedule"}])
    cordoned = node("n2", unschedulable=True, taints=[
        {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}])  # fmt: skip
    pods = by_node([pod("p1", "n1"), pod("p2", "n2")])
    assert not plan_nodes(daemonset(), [tainted, cordoned], pods, "new", NOW)
    status = calculate_status(daemonset(), [tainted, cordoned], pods, "new", NOW)
    assert (status["desiredNumberScheduled"], status["numberMisscheduled"]) == (1, 1)


def test_rolling_update_replaces_max_unavailable_nodes_at_a_time():
    nodes = [node(f"n{i}") for i in range(1, 5)]
    pods = by_node([pod(f"p{i}", f"n{i}", revision="old") for i in range(1, 5)])
    plan = plan_rolling_update(daemonset(), nodes, pods, "new", NOW)
    assert names(plan.delete) == ["p1"] and plan.create_on == []
    # one node already unavailable (its new pod not ready): nothing more goes
    pods["n1"] = [pod("p1-new", "n1", ready=False)]
    assert not plan_rolling_update(daemonset(), nodes, pods, "new", NOW)
    # an old pod that is not available anyway is replaced at once
    pods["n2"] = [pod("p2", "n2", revision="old", ready=False)]
    assert names(plan_rolling_update(daemonset(), nodes, pods, "new", NOW).delete) == ["p2"]
    wider = daemonset({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "50%"}})
    pods = by_node([pod(f"p{i}", f"n{i}", revision="old") for i in range(1, 5)])
    assert len(plan_rolling_update(wider, nodes, pods, "new", NOW).delete) == 2


def test_rolling_update_with_surge_creates_beside_then_deletes_the_old():
    ds = daemonset(SURGE)
    nodes = [node("n1"), node("n2")]
    pods = by_node([pod("p1", "n1", revision="old"), pod("p2", "n2", revision="old")])
    plan = plan_rolling_update(ds, nodes, pods, "new", NOW)
    assert plan.create_on == ["n1"] and plan.delete == []
    pods["n1"].append(pod("p1-new", "n1", ready=False, age=1))
    assert not plan_rolling_update(ds, nodes, pods, "new", NOW)  # surge used up
    assert not plan_nodes(ds, nodes, pods, "new", NOW)  # two pods allowed while surging
    pods["n1"][1] = pod("p1-new", "n1", age=1)
    plan = plan_rolling_update(ds, nodes, pods, "new", NOW)
    assert names(plan.delete) == ["p1"] and plan.create_on == ["n2"]


def test_on_delete_is_left_to_the_user():
    ds = daemonset({"type": "OnDelete"})
    pods = by_node([pod("p1", "n1", revision="old")])
    assert not plan_nodes(ds, [node("n1")], pods, "new", NOW)


def test_status_counts():
    ds = daemonset(nodeSelector={"role": "edge"})
    ds["spec"]["minReadySeconds"] = 30
    nodes = [node(f"n{i}", {"role": "edge"}) for i in range(1, 5)] + [node("n5")]
    pods = by_node([
        pod("p1", "n1"),  # ready for 100 s: available, updated
        pod("p2", "n2", age=10),  # ready for 10 s: not yet available
        pod("p3", "n3", revision="old", ready=False),
        pod("p5", "n5"),  # misscheduled
    ])  # fmt: skip
    status = calculate_status(ds, nodes, pods, "new", NOW)
    assert status == {
        "desiredNumberScheduled": 4,
        "currentNumberScheduled": 3,
        "numberMisscheduled": 1,
        "numberReady": 2,
        "numberAvailable": 1,
        "numberUnavailable": 3,
        "updatedNumberScheduled": 2,
        "observedGeneration": 1,
    }


def test_a_node_waits_for_its_terminating_pod_unless_it_has_finished():
    going = pod("going", "n1")
    going["metadata"]["deletionTimestamp"] = "2023-11-14T22:13:20Z"
    assert not plan_nodes(daemonset(), [node("n1")], by_node([going]), "new", NOW)
    going["status"]["phase"] = "Succeeded"
    assert plan_nodes(daemonset(), [node("n1")], by_node([going]), "new", NOW).create_on == ["n1"]


def test_a_failed_pod_is_deleted_once_per_back_off_period_of_its_node():
    backoff = FailedPodsBackoff()
    ds = daemonset()
    nodes = [node("n1"), node("n2")]
    failed = by_node([pod("f1", "n1", phase="Failed"), pod("ok", "n2")])
    first = plan_nodes(ds, nodes, failed, "new", NOW, backoff)
    assert names(first.delete) == ["f1"]
    assert [(p["metadata"]["name"], n) for p, n in first.failed] == [("f1", "n1")]
    assert first.retry_after is None
    # it failed again half a second later: kept (no replacement beside it) until 1s
    again = plan_nodes(ds, nodes, failed, "new", NOW + 0.5, backoff)
    assert (again.delete, again.create_on, again.retry_after) == ([], [], 1.0)
    assert names(plan_nodes(ds, nodes, failed, "new", NOW + 1.0, backoff).delete) == ["f1"]
    # now 2s, then 4s: Kubernetes' exponential back-off per node
    assert plan_nodes(ds, nodes, failed, "new", NOW + 2.5, backoff).retry_after == 2.0
    assert names(plan_nodes(ds, nodes, failed, "new", NOW + 3.0, backoff).delete) == ["f1"]
    assert plan_nodes(ds, nodes, failed, "new", NOW + 6.0, backoff).retry_after == 4.0


def test_a_failed_pod_in_back_off_gets_no_surge_replacement():
    backoff = FailedPodsBackoff()
    ds = daemonset(SURGE)
    failed = by_node([pod("f1", "n1", phase="Failed")])
    assert plan_nodes(ds, [node("n1")], failed, "new", NOW, backoff).create_on == ["n1"]
    held = plan_nodes(ds, [node("n1")], failed, "new", NOW + 0.1, backoff)
    assert (held.create_on, held.delete) == ([], [])
