"""Rollout plans: how far a rolling update may grow the new ReplicaSet and shrink the
old ones, proportional scaling mid-rollout, Recreate's wait, and history cleanup."""

from __future__ import annotations

from api.timefmt import rfc3339
from controller.deployment import rollout
from controller.deployment.util import DESIRED_REPLICAS, MAX_REPLICAS, REVISION

NOW = 1_800_000_000.0


def deployment(replicas: int, surge: object = 1, unavailable: object = 0, **spec: object) -> dict:
    return {
        "metadata": {"name": "web", "uid": "d", "generation": 1},
        "spec": {
            "replicas": replicas,
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": surge, "maxUnavailable": unavailable},
            },
            **spec,
        },
        "status": {},
    }


def rs(
    name: str, replicas: int, available: int | None = None, created: int = 0, **notes: str
) -> dict:
    available = replicas if available is None else available
    return {
        "metadata": {
            "name": name,
            "uid": name,
            "creationTimestamp": rfc3339(NOW + created),
            "annotations": dict(notes),
            "generation": 1,
        },
        "spec": {"replicas": replicas},
        "status": {
            "replicas": replicas,
            "availableReplicas": available,
            "observedGeneration": 1,
        },
    }


def sizes(plan: rollout.Plan) -> dict[str, int]:
    return {r["metadata"]["name"]: size for r, size in plan}


def test_scale_up_is_bounded_by_max_surge():
    d = deployment(3, surge=1, unavailable=0)
    new, old = rs("new", 0, created=9), rs("old", 3)
    assert sizes(rollout.plan_scale_up(d, [old, new], new)) == {"new": 1}
    new = rs("new", 1, available=0, created=9)
    assert rollout.plan_scale_up(d, [old, new], new) == []  # 4 = 3 + surge already


def test_scale_up_surge_percent_rounds_up():
    d = deployment(10, surge="25%", unavailable="25%")  # surge 3, unavailable 2
    new, old = rs("new", 0, created=9), rs("old", 10)
    assert sizes(rollout.plan_scale_up(d, [old, new], new)) == {"new": 3}


def test_scale_down_waits_for_new_pods_to_be_available():
    d = deployment(3, surge=1, unavailable=0)
    old = rs("old", 3)
    new = rs("new", 1, available=0, created=9)
    assert rollout.plan_scale_down(d, [old, new], [old], new) == []
    new = rs("new", 1, available=1, created=9)
    assert sizes(rollout.plan_scale_down(d, [old, new], [old], new)) == {"old": 2}


def test_scale_down_within_max_unavailable():
    d = deployment(4, surge=1, unavailable=1)
    old, new = rs("old", 4), rs("new", 1, available=0, created=9)
    # 5 pods, 4 must stay available minus 1 allowed, 1 new not yet available: 1 may go.
    assert sizes(rollout.plan_scale_down(d, [old, new], [old], new)) == {"old": 3}


def test_scale_down_removes_unhealthy_old_replicas_first_oldest_first():
    d = deployment(4, surge=1, unavailable=1)
    oldest = rs("oldest", 2, available=0, created=0)
    old = rs("old", 2, available=2, created=1)
    new = rs("new", 1, available=1, created=9)
    plan = sizes(rollout.plan_scale_down(d, [oldest, old, new], [oldest, old], new))
    # budget 5 - 3 - 0 = 2: both unavailable replicas of the oldest set go first;
    # then available 3 > 3 is false, so nothing more.
    assert plan == {"oldest": 0}


def test_proportional_scaling_mid_rollout():
    d = deployment(8, surge=1, unavailable=1)
    old = rs("old", 3, created=0, **{DESIRED_REPLICAS: "4", MAX_REPLICAS: "5"})
    new = rs("new", 2, available=0, created=9, **{DESIRED_REPLICAS: "4", MAX_REPLICAS: "5"})
    assert rollout.is_scaling_event(d, [old, new])
    # 9 allowed now (8 + surge 1) vs 5 recorded: old 3*9/5 = 5.4 → 5, new 2*9/5 = 3.6 → 4.
    assert sizes(rollout.plan_scale(d, new, [old])) == {"old": 5, "new": 4}


def test_proportional_scaling_down_gives_leftovers_to_the_largest():
    d = deployment(2, surge=1, unavailable=1)
    old = rs("old", 5, created=0, **{MAX_REPLICAS: "9"})
    new = rs("new", 4, created=9, **{MAX_REPLICAS: "9"})
    plan = sizes(rollout.plan_scale(d, new, [old]))
    assert sum(plan.values()) == 3  # 2 + surge
    assert plan == {"old": 2, "new": 1}


def test_scale_with_one_active_set_gives_it_everything():
    d = deployment(5)
    old = rs("old", 0, created=0)
    new = rs("new", 2, created=9, **{DESIRED_REPLICAS: "2"})
    assert sizes(rollout.plan_scale(d, new, [old])) == {"new": 5}
    assert (
        rollout.find_active_or_latest(None, [rs("a", 0, created=0), rs("b", 0, created=5)])[
            "metadata"
        ]["name"]
        == "b"
    )


def test_saturated_new_set_scales_old_ones_to_zero():
    d = deployment(3)
    new = rs("new", 3, available=3, created=9, **{DESIRED_REPLICAS: "3"})
    old = rs("old", 1, created=0)
    assert sizes(rollout.plan_scale(d, new, [old])) == {"old": 0}


def test_new_rs_replicas_for_recreate_is_the_full_count():
    d = deployment(4)
    d["spec"]["strategy"] = {"type": "Recreate"}
    assert rollout.new_rs_new_replicas(d, [rs("old", 4)], rs("new", 0)) == 4


def test_recreate_waits_for_old_pods():
    new, old = rs("new", 0), rs("old", 0)
    old["status"]["replicas"] = 0
    pod = {"status": {"phase": "Running"}}
    assert rollout.old_pods_running(new, [old], {"old": [pod]})
    assert not rollout.old_pods_running(new, [old], {"old": [{"status": {"phase": "Succeeded"}}]})
    assert not rollout.old_pods_running(new, [old], {"new": [pod]})
    old["status"]["replicas"] = 1
    assert rollout.old_pods_running(new, [old], {})


def test_history_cleanup_keeps_the_limit_and_busy_sets():
    d = deployment(1, revisionHistoryLimit=1)
    sets = [
        rs("r1", 0, created=0, **{REVISION: "1"}),
        rs("r2", 1, created=1, **{REVISION: "2"}),  # still has replicas: kept
        rs("r3", 0, created=2, **{REVISION: "3"}),
    ]
    victims = rollout.replicasets_to_clean(d, sets)
    assert [v["metadata"]["name"] for v in victims] == ["r1"]
    d["spec"]["revisionHistoryLimit"] = 5
    assert rollout.replicasets_to_clean(d, sets) == []
