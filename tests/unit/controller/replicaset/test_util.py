"""ReplicaSet decisions: which pods a scale-down removes first, slow-start batches,
the status it reports (readiness, minReadySeconds)."""

from __future__ import annotations

import pytest

from api.timefmt import rfc3339
from controller.replicaset.util import (
    calculate_status,
    next_availability_check,
    pods_to_delete,
)

NOW = 1_800_000_000.0


def pod(
    name: str,
    node: str = "n1",
    phase: str = "Running",
    ready_for: float | None = 100,
    created: float = 0,
    restarts: int = 0,
    labels: dict[str, str] | None = None,
) -> dict:
    conditions = []
    if ready_for is not None:
        conditions.append(
            {"type": "Ready", "status": "True", "lastTransitionTime": rfc3339(NOW - ready_for)}
        )
    else:
        conditions.append({"type": "Ready", "status": "False"})
    return {
        "metadata": {
            "name": name,
            "namespace": "ns",
            "creationTimestamp": rfc3339(NOW - 1000 + created),
            "labels": labels if labels is not None else {"app": "web"},
        },
        "spec": {"nodeName": node},
        "status": {
            "phase": phase,
            "conditions": conditions,
            "containerStatuses": [{"name": "c", "restartCount": restarts}],
        },
    }


def names(pods: list[dict]) -> list[str]:
    return [p["metadata"]["name"] for p in pods]


# ---- deletion ranking ------------------------------------------------------------------


def test_unscheduled_pending_and_unready_pods_go_first():
    pods = [
        pod("running-ready"),
        pod("unscheduled", node=""),
        pod("pending", phase="Pending", ready_for=None),
        pod("unready", ready_for=None),
    ]
    assert names(pods_to_delete(pods, pods, 3)) == ["unscheduled", "pending", "unready"]


def test_doubled_up_pods_go_before_lonely_ones():
    pods = [pod("alone", node="n1"), pod("crowded", node="n2")]
    related = [*pods, pod("sibling", node="n2")]
    assert names(pods_to_delete(pods, related, 1)) == ["crowded"]


def test_among_ready_pods_the_most_recently_ready_goes_first():
    pods = [pod("long", ready_for=500), pod("fresh", ready_for=5), pod("mid", ready_for=50)]
    assert names(pods_to_delete(pods, pods, 2)) == ["fresh", "mid"]


def test_then_more_restarts_then_newer():
    same = {"ready_for": 100}
    pods = [pod("old", created=0, **same), pod("new", created=10, **same)]
    assert names(pods_to_delete(pods, pods, 1)) == ["new"]
    pods = [pod("stable", created=10, **same), pod("flaky", created=0, restarts=3, **same)]
    assert names(pods_to_delete(pods, pods, 1)) == ["flaky"]


def test_deleting_all_needs_no_ranking():
    pods = [pod("a"), pod("b")]
    assert names(pods_to_delete(pods, pods, 5)) == ["a", "b"]


def replicaset(min_ready: int = 0, replicas: int = 3) -> dict:
    return {
        "metadata": {"name": "rs", "generation": 2},
        "spec": {
            "replicas": replicas,
            "minReadySeconds": min_ready,
            "template": {"metadata": {"labels": {"app": "web", "tier": "a"}}},
        },
        "status": {"observedGeneration": 1},
    }


def test_status_counts_fully_labeled_ready_and_available():
    pods = [
        pod("a", ready_for=100, labels={"app": "web", "tier": "a"}),
        pod("b", ready_for=5, labels={"app": "web", "tier": "a"}),
        pod("c", ready_for=None, labels={"app": "web"}),
    ]
    status = calculate_status(replicaset(min_ready=10), pods, None, NOW)
    assert status == {
        "replicas": 3,
        "fullyLabeledReplicas": 2,
        "readyReplicas": 2,
        "availableReplicas": 1,  # b is ready for 5 s of the 10 needed
        "observedGeneration": 1,
    }
    assert next_availability_check(replicaset(min_ready=10), pods, NOW) == pytest.approx(5)
    assert next_availability_check(replicaset(), pods, NOW) is None


def test_status_reports_and_clears_a_replica_failure():
    failed = calculate_status(replicaset(), [], RuntimeError("quota"), NOW)
    (cond,) = failed["conditions"]
    assert (cond["type"], cond["reason"], cond["message"]) == (
        "ReplicaFailure",
        "FailedCreate",
        "quota",
    )
    rs = replicaset()
    rs["status"] = failed
    assert "conditions" not in calculate_status(rs, [], None, NOW)
    assert failed["replicas"] == 0  # replicas is always reported
