"""Deployment bookkeeping: the pod-template hash (stable under defaulting and under
the template `kubectl rollout undo` sends), surge/unavailability arithmetic, revision
annotations, and the status and conditions `kubectl rollout status` reads."""

from __future__ import annotations

import copy

import pytest

from api.timefmt import rfc3339
from controller.deployment import util as du
from controller.util.hashing import SAFE_ALPHABET

NOW = 1_800_000_000.0


def template(image: str = "nginx:1", **extra: object) -> dict:
    return {
        "metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "c", "image": image, **extra}]},
    }


def deployment(
    replicas: int = 3, surge: object = "25%", unavailable: object = "25%", **spec: object
) -> dict:
    return {
        "metadata": {"name": "web", "namespace": "ns", "uid": "d-uid", "generation": 1},
        "spec": {
            "replicas": replicas,
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable},
            },
            "template": template(),
            "progressDeadlineSeconds": 600,
            **spec,
        },
        "status": {},
    }


def rs(
    name: str, replicas: int, available: int = 0, revision: str | None = None, created: int = 0
) -> dict:
    notes = {du.REVISION: revision} if revision else {}
    return {
        "metadata": {
            "name": name,
            "uid": f"{name}-uid",
            "annotations": notes,
            "creationTimestamp": rfc3339(NOW + created),
            "generation": 1,
        },
        "spec": {"replicas": replicas, "template": template()},
        "status": {
            "replicas": replicas,
            "readyReplicas": available,
            "availableReplicas": available,
            "observedGeneration": 1,
        },
    }


# ---- hashing ---------------------------------------------------------------------------


def test_hash_uses_the_safe_alphabet():
    value = du.compute_hash(template())
    assert value and set(value) <= set(SAFE_ALPHABET)
    assert not set(value) & set("aeiou013")


def test_hash_is_stable_under_defaulting():
    plain = template()
    defaulted = copy.deepcopy(plain)
    from api.defaults import apply_defaults

    holder = {"spec": {"template": defaulted}}
    apply_defaults("Deployment", holder)
    assert defaulted != plain  # the server did add fields
    assert du.compute_hash(defaulted) == du.compute_hash(plain)
    assert du.compute_hash(du.normalized_template(plain)) == du.compute_hash(plain)


def test_hash_is_stable_for_the_template_rollout_undo_sends():
    stored = template()
    undo = {  # what kubectl's Go structs marshal
        "metadata": {"creationTimestamp": None, "labels": {"app": "web", "pod-template-hash": "x"}},
        "spec": {
            "containers": [
                {
                    "name": "c",
                    "image": "nginx:1",
                    "resources": {},
                    "terminationMessagePath": "/dev/termination-log",
                    "terminationMessagePolicy": "File",
                    "imagePullPolicy": "IfNotPresent",
                }
            ],
            "restartPolicy": "Always",
            "terminationGracePeriodSeconds": 30,
            "dnsPolicy": "ClusterFirst",
            "securityContext": {},
            "schedulerName": "default-scheduler",
        },
    }
    assert du.compute_hash(undo) == du.compute_hash(stored)
    assert du.equal_ignore_hash(undo, stored)


def test_hash_changes_with_the_template_and_the_collision_count():
    base = du.compute_hash(template())
    assert du.compute_hash(template("nginx:2")) != base
    restarted = template()
    restarted["metadata"]["annotations"] = {"kubectl.kubernetes.io/restartedAt": "now"}
    assert du.compute_hash(restarted) != base
    assert du.compute_hash(template(), 1) != base
    assert du.compute_hash(template(), 1) != du.compute_hash(template(), 2)


def test_find_new_replicaset_prefers_the_oldest_match():
    d = deployment()
    older, newer, other = rs("a", 1, created=0), rs("b", 1, created=5), rs("c", 1, created=1)
    other["spec"]["template"] = template("nginx:2")
    newer["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] = "h"
    assert du.find_new_replicaset(d, [newer, other, older]) is older
    assert du.find_new_replicaset(d, [other]) is None


# ---- surge and unavailability ----------------------------------------------------------


@pytest.mark.parametrize(
    ("surge", "unavailable", "replicas", "expected"),
    [
        ("25%", "25%", 3, (1, 0)),  # surge rounds up, unavailability down
        ("25%", "25%", 4, (1, 1)),
        ("25%", "25%", 10, (3, 2)),
        ("10%", "10%", 5, (1, 0)),
        (0, "0%", 5, (0, 1)),  # both zero would stall: one may be unavailable
        (2, 1, 5, (2, 1)),
        ("50%", "50%", 1, (1, 0)),
    ],
)
def test_resolve_fenceposts(surge, unavailable, replicas, expected):
    assert du.resolve_fenceposts(surge, unavailable, replicas) == expected


def test_max_unavailable_is_capped_and_zero_for_recreate():
    assert du.max_unavailable(deployment(replicas=2, surge=0, unavailable=5)) == 2
    recreate = deployment()
    recreate["spec"]["strategy"] = {"type": "Recreate"}
    assert du.max_unavailable(recreate) == 0 and du.max_surge(recreate) == 0
    assert du.max_unavailable(deployment(replicas=0)) == 0


def test_scaled_value_rejects_garbage():
    with pytest.raises(ValueError):
        du.scaled_value("ten%", 10, True)


# ---- revisions -------------------------------------------------------------------------


def test_new_replicaset_annotations_on_create():
    d = deployment()
    d["metadata"]["annotations"] = {
        "team": "a",
        du.LAST_APPLIED: "{}",
        du.REVISION: "7",
    }
    new = {"metadata": {}}
    assert du.set_new_rs_annotations(d, new, 2, exists=False)
    assert new["metadata"]["annotations"] == {
        "team": "a",
        du.REVISION: "2",
        du.DESIRED_REPLICAS: "3",
        du.MAX_REPLICAS: "4",
    }


def test_rollback_raises_the_revision_and_records_history():
    d = deployment()
    old = rs("a", 0, revision="1")
    assert du.set_new_rs_annotations(d, old, 3, exists=True)
    notes = old["metadata"]["annotations"]
    assert notes[du.REVISION] == "3" and notes[du.REVISION_HISTORY] == "1"
    assert du.set_new_rs_annotations(d, old, 5, exists=True)
    assert notes[du.REVISION_HISTORY] == "1,3"
    assert not du.set_new_rs_annotations(d, old, 4, exists=True)  # never lowered
    assert notes[du.REVISION] == "5"


# ---- status ----------------------------------------------------------------------------


def test_status_counts_and_available_condition():
    d = deployment(replicas=4)
    new, old = rs("new", 2, available=1), rs("old", 3, available=3)
    status = du.calculate_status([old, new], new, d, NOW)
    assert status["replicas"] == 5 and status["updatedReplicas"] == 2
    assert status["availableReplicas"] == 4 and status["readyReplicas"] == 4
    assert status["unavailableReplicas"] == 1 and status["observedGeneration"] == 1
    (available,) = status["conditions"]
    assert available["type"] == "Available" and available["status"] == "True"
    assert available["reason"] == "MinimumReplicasAvailable"
    starving = du.calculate_status([rs("new", 4, available=1)], None, d, NOW)
    assert starving["conditions"][0]["reason"] == "MinimumReplicasUnavailable"
    assert "updatedReplicas" not in starving  # zero is omitted, as omitempty does


def _progressing(status: dict) -> dict:
    return next(c for c in status["conditions"] if c["type"] == "Progressing")


def test_rollout_status_progress_complete_and_timeout():
    d = deployment(replicas=2)
    created = du.new_condition("Progressing", "True", du.NEW_RS_CREATED, "Created", NOW - 100)
    d["status"] = {"replicas": 2, "updatedReplicas": 0, "conditions": [created]}
    new = rs("new", 1, available=1)
    progressing = du.rollout_status(d, [new, rs("old", 1, available=1)], new, NOW)
    cond = _progressing(progressing)
    assert cond["reason"] == du.RS_UPDATED and cond["message"] == 'ReplicaSet "new" is progressing.'
    assert cond["lastTransitionTime"] == created["lastTransitionTime"]
    assert cond["lastUpdateTime"] == rfc3339(NOW)

    done = rs("new", 2, available=2)
    complete = du.rollout_status(d, [done], done, NOW)
    assert _progressing(complete)["reason"] == du.NEW_RS_AVAILABLE
    assert du.deployment_complete(d, complete)

    d["spec"]["progressDeadlineSeconds"] = 3
    stuck = rs("new", 1, available=0)
    d["status"] = {"replicas": 1, "updatedReplicas": 1, "conditions": [created]}
    timed_out = du.rollout_status(d, [stuck], stuck, NOW)
    cond = _progressing(timed_out)
    assert (cond["status"], cond["reason"]) == ("False", du.TIMED_OUT)
    assert cond["message"] == 'ReplicaSet "new" has timed out progressing.'


def test_stuck_rollout_is_rechecked_at_its_deadline():
    d = deployment(replicas=2, progressDeadlineSeconds=10)
    d["status"] = {
        "conditions": [du.new_condition("Progressing", "True", du.RS_UPDATED, "x", NOW - 4)]
    }
    status = {"replicas": 2, "updatedReplicas": 2, "availableReplicas": 0, "observedGeneration": 1}
    assert du.stuck_recheck_after(d, status, NOW) == pytest.approx(6, abs=1)
    status["availableReplicas"] = 2
    assert du.stuck_recheck_after(d, status, NOW) is None  # complete


def test_set_condition_keeps_transition_time_for_the_same_status():
    status: dict = {}
    first = du.new_condition("Progressing", "True", du.NEW_RS_CREATED, "a", NOW)
    du.set_condition(status, first)
    du.set_condition(status, du.new_condition("Progressing", "True", du.FOUND_NEW_RS, "b", NOW + 9))
    (cond,) = status["conditions"]
    assert cond["reason"] == du.FOUND_NEW_RS and cond["lastTransitionTime"] == rfc3339(NOW)
    same = du.new_condition("Progressing", "True", du.FOUND_NEW_RS, "c", NOW + 20)
    du.set_condition(status, same)
    assert status["conditions"][0]["message"] == "b"  # same status and reason: untouched
