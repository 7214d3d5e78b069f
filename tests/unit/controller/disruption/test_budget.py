"""controller.disruption.budget: expected pods, healthy pods, pending evictions and
the status the disruption controller writes."""

import pytest

from api.timefmt import rfc3339
from controller.disruption.budget import (
    ExpectedCountError,
    count_healthy,
    disrupted_pod_map,
    expected_count,
    fail_safe_status,
    new_status,
)

NOW = 1_700_000_000.0


def pod(name, ready=True, owner="rs-uid", deleting=False):
    md = {"name": name, "namespace": "d", "labels": {"app": "web"}}
    if owner:
        md["ownerReferences"] = [{"kind": "ReplicaSet", "name": "web", "uid": owner,
                                  "controller": True}]  # fmt: skip
    if deleting:
        md["deletionTimestamp"] = rfc3339(NOW)
    return {
        "metadata": md,
        "status": {
            "phase": "Running",
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def budget(generation=1, status=None, **spec):
    return {"metadata": {"name": "web", "generation": generation}, "spec": spec,
            "status": status or {}}  # fmt: skip


def scale_of(replicas):
    return lambda p: ("dep-uid", replicas)


def test_integer_min_available_counts_the_pods():
    pods = [pod("a"), pod("b"), pod("c", owner=None)]
    got = expected_count(budget(minAvailable=2), pods, scale_of(5))
    assert (got.expected, got.desired_healthy, got.unmanaged) == (3, 2, [])


def test_percentages_and_max_unavailable_use_the_controllers_scale():
    pods = [pod("a"), pod("b"), pod("c", owner=None)]
    got = expected_count(budget(minAvailable="50%"), pods, scale_of(5))
    assert (got.expected, got.desired_healthy, got.unmanaged) == (5, 3, ["c"])
    got = expected_count(budget(maxUnavailable="30%"), pods, scale_of(5))
    assert (got.expected, got.desired_healthy) == (5, 3)  # 30% of 5 rounds up to 2
    got = expected_count(budget(maxUnavailable=9), pods, scale_of(5))
    assert got.desired_healthy == 0
    assert expected_count(budget(), pods, scale_of(5)).expected == 0


def test_a_pod_whose_controller_is_unknown_fails_the_count():
    with pytest.raises(ExpectedCountError, match='found no controllers for pod "a"'):
        expected_count(budget(maxUnavailable=1), [pod("a")], lambda p: None)


def test_disrupted_pods_count_until_deleted_or_timed_out():
    recorded = {"a": rfc3339(NOW - 10), "b": rfc3339(NOW - 200), "gone": rfc3339(NOW),
                "c": rfc3339(NOW - 5)}  # fmt: skip
    pdb = budget(status={"disruptedPods": recorded})
    pods = [pod("a"), pod("b"), pod("c", deleting=True), pod("d")]
    result, recheck, not_deleted = disrupted_pod_map(pdb, pods, NOW)
    assert result == {"a": recorded["a"]}
    assert recheck == pytest.approx(NOW - 10 + 120)
    assert [p["metadata"]["name"] for p in not_deleted] == ["b"]
    # a: just evicted; b: timed out, counts again; c: being deleted; d: ready
    assert count_healthy(pods, result, NOW) == 2
    assert count_healthy([pod("x", ready=False)], {}, NOW) == 0


def test_status_and_condition():
    pdb = budget(generation=2, minAvailable=2)
    status = new_status(pdb, 3, 2, 3, {}, NOW)
    assert status is not None
    conditions = status.pop("conditions")
    assert status == {
        "observedGeneration": 2,
        "disruptionsAllowed": 1,
        "currentHealthy": 3,
        "desiredHealthy": 2,
        "expectedPods": 3,
    }
    assert [(c["type"], c["status"], c["reason"]) for c in conditions] == [
        ("DisruptionAllowed", "True", "SufficientPods")
    ]
    written = {**pdb, "status": {**status, "conditions": conditions}}
    assert new_status(written, 3, 2, 3, {}, NOW + 5) is None  # nothing changed: no write
    fewer = new_status(written, 2, 2, 3, {"a": rfc3339(NOW)}, NOW + 5)
    assert fewer is not None
    assert fewer["disruptionsAllowed"] == 0
    assert fewer["disruptedPods"] == {"a": rfc3339(NOW)}
    assert fewer["conditions"][0]["reason"] == "InsufficientPods"
    # no pod expected yet: nothing may be disrupted
    assert new_status(budget(), 2, 0, 0, {}, NOW)["disruptionsAllowed"] == 0


def test_fail_safe_allows_nothing():
    pdb = budget(status={"disruptionsAllowed": 3, "observedGeneration": 1})
    status = fail_safe_status(pdb, 'found no controllers for pod "a"', NOW)
    assert status["disruptionsAllowed"] == 0
    [cond] = status["conditions"]
    assert (cond["status"], cond["reason"], cond["message"]) == (
        "False",
        "SyncFailed",
        'found no controllers for pod "a"',
    )
