"""controller.statefulset.plan: OrderedReady, Parallel, scale down, rolling update."""

from controller.statefulset.plan import calculate_status, plan_sync
from tests.unit.controller.statefulset.builders import NOW, pod, revisions, statefulset


def steps(sts, pods, revs=None, current_replicas=0):
    plan = plan_sync(sts, pods, revs or revisions(sts), current_replicas, NOW)
    return [(s.action, s.pod["metadata"]["name"]) for s in plan.steps]


def test_ordered_ready_creates_one_at_a_time_after_its_predecessors_are_ready():
    sts = statefulset(3)
    assert steps(sts, []) == [("create", "web-0")]
    assert steps(sts, [pod(sts, 0, phase="Pending", ready=False)]) == []
    assert steps(sts, [pod(sts, 0, ready=False)]) == []
    assert steps(sts, [pod(sts, 0)]) == [("create", "web-1")]
    assert steps(sts, [pod(sts, 0), pod(sts, 1)]) == [("create", "web-2")]
    # a deleted web-0 comes back before anything else happens
    assert steps(sts, [pod(sts, 1), pod(sts, 2)]) == [("create", "web-0")]


def test_parallel_creates_and_deletes_all_at_once():
    sts = statefulset(3, podManagementPolicy="Parallel")
    assert steps(sts, []) == [("create", "web-0"), ("create", "web-1"), ("create", "web-2")]
    sts["spec"]["replicas"] = 1
    pods = [pod(sts, 0), pod(sts, 1, ready=False), pod(sts, 2)]
    assert steps(sts, pods) == [("delete", "web-2"), ("delete", "web-1")]


def test_ordered_ready_scales_down_highest_first_one_at_a_time():
    sts = statefulset(1)
    pods = [pod(sts, 0), pod(sts, 1), pod(sts, 2)]
    assert steps(sts, pods) == [("delete", "web-2")]
    assert steps(sts, [pod(sts, 0), pod(sts, 1), pod(sts, 2, terminating=True)]) == []
    assert steps(sts, [pod(sts, 0), pod(sts, 1)]) == [("delete", "web-1")]
    # nothing is removed while a remaining replica is unhealthy
    assert steps(sts, [pod(sts, 0, ready=False), pod(sts, 1)]) == []


def test_failed_pods_are_replaced():
    sts = statefulset(2)
    assert steps(sts, [pod(sts, 0, phase="Failed", ready=False)]) == [("delete", "web-0")]


def test_min_ready_seconds_holds_the_next_ordinal():
    sts = statefulset(2, minReadySeconds=30)
    fresh = pod(sts, 0, ready_since="1970-01-12T13:46:30Z")  # ready 10 s before NOW
    assert steps(sts, [fresh]) == []
    assert steps(sts, [pod(sts, 0)]) == [("create", "web-1")]  # ready 40 s


def test_rolling_update_goes_from_the_highest_ordinal_down_to_the_partition():
    sts = statefulset(3)
    revs = revisions(sts, "web-r1", "web-r2")
    old = [pod(sts, i, revision="web-r1") for i in range(3)]
    assert steps(sts, old, revs) == [("delete", "web-2")]
    # the deleted one comes back at the update revision
    plan = plan_sync(sts, old[:2], revs, 3, NOW)
    assert plan.steps[0].pod["metadata"]["labels"]["controller-revision-hash"] == "web-r2"
    updating = [*old[:2], pod(sts, 2, revision="web-r2", ready=False)]
    assert steps(sts, updating, revs) == []  # waits for web-2 to be ready
    done2 = [*old[:2], pod(sts, 2, revision="web-r2")]
    assert steps(sts, done2, revs) == [("delete", "web-1")]
    sts["spec"]["updateStrategy"]["rollingUpdate"]["partition"] = 2
    assert steps(sts, done2, revs) == []
    # below the partition a recreated pod keeps the current revision
    plan = plan_sync(sts, [old[1], done2[2]], revs, 3, NOW)
    assert plan.steps[0].pod["metadata"]["labels"]["controller-revision-hash"] == "web-r1"


def test_on_delete_leaves_old_pods_alone():
    sts = statefulset(2, updateStrategy={"type": "OnDelete"})
    revs = revisions(sts, "web-r1", "web-r2")
    assert steps(sts, [pod(sts, 0), pod(sts, 1)], revs) == []
    plan = plan_sync(sts, [pod(sts, 0)], revs, 2, NOW)
    assert plan.steps[0].pod["metadata"]["labels"]["controller-revision-hash"] == "web-r2"


def test_status_counts_and_rollout_completion():
    sts = statefulset(3)
    revs = revisions(sts, "web-r1", "web-r2")
    pods = [pod(sts, 0, revision="web-r1"), pod(sts, 1, revision="web-r2", ready=False)]
    status = calculate_status(sts, pods, revs, NOW, {})
    assert status == {
        "observedGeneration": 1,
        "replicas": 2,
        "readyReplicas": 1,
        "currentReplicas": 1,
        "updatedReplicas": 1,
        "availableReplicas": 1,
        "currentRevision": "web-r1",
        "updateRevision": "web-r2",
        "collisionCount": 0,
    }
    all_new = [pod(sts, i, revision="web-r2") for i in range(3)]
    status = calculate_status(sts, all_new, revs, NOW, {})
    assert status["currentRevision"] == "web-r2" and status["currentReplicas"] == 3
