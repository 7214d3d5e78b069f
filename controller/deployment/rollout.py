"""How a Deployment moves between its ReplicaSets, as plans: pure functions that say
which ReplicaSet should get how many replicas (Kubernetes' rolling.go, recreate.go and
sync.go `scale`). controller.py carries the plans out; unit tests check them alone.

A plan is a list of (replicaset, new size) in the order the changes are made."""

from __future__ import annotations

from typing import Any

from api.timefmt import parse_time
from controller.deployment.util import (
    DESIRED_REPLICAS,
    MAX_REPLICAS,
    annotated_int,
    by_creation,
    is_active,
    is_rolling_update,
    max_surge,
    max_unavailable,
    replicas,
    revision,
    status_count,
    sum_replicas,
    sum_status,
)
from controller.util.controllerref import meta

Obj = dict[str, Any]
Plan = list[tuple[Obj, int]]


# ---- rolling update ------------------------------------------------------------------


def new_rs_new_replicas(d: Obj, all_rss: list[Obj], new_rs: Obj) -> int:
    """The new set's size for this step: as big as maxSurge lets it be (RollingUpdate),
    or the full count (Recreate)."""
    if not is_rolling_update(d):
        return replicas(d)
    current = sum_replicas(all_rss)
    ceiling = replicas(d) + max_surge(d)
    if current >= ceiling:
        return replicas(new_rs)
    grow = min(ceiling - current, replicas(d) - replicas(new_rs))
    return replicas(new_rs) + grow


def plan_scale_up(d: Obj, all_rss: list[Obj], new_rs: Obj) -> Plan:
    """reconcileNewReplicaSet: grow (or shrink, if over) the new set."""
    want, have = replicas(d), replicas(new_rs)
    if have == want:
        return []
    if have > want:
        return [(new_rs, want)]
    size = new_rs_new_replicas(d, all_rss, new_rs)
    return [(new_rs, size)] if size != have else []


def plan_scale_down(d: Obj, all_rss: list[Obj], old_rss: list[Obj], new_rs: Obj) -> Plan:
    """reconcileOldReplicaSets: shrink old sets as far as maxUnavailable allows —
    first their unavailable replicas (they serve nothing), then available ones,
    oldest set first."""
    if sum_replicas(old_rss) == 0:
        return []
    min_available = replicas(d) - max_unavailable(d)
    new_unavailable = replicas(new_rs) - status_count(new_rs, "availableReplicas")
    budget = sum_replicas(all_rss) - min_available - new_unavailable
    if budget <= 0:
        return []
    sizes = {meta(rs)["name"]: replicas(rs) for rs in old_rss}
    plan: Plan = []
    cleaned = 0
    for rs in by_creation(old_rss):  # cleanupUnhealthyReplicas
        if cleaned >= budget:
            break
        size, available = replicas(rs), status_count(rs, "availableReplicas")
        if size == 0 or size == available:
            continue
        cut = min(budget - cleaned, size - available)
        sizes[meta(rs)["name"]] = size - cut
        plan.append((rs, size - cut))
        cleaned += cut
    available_now = sum_status(all_rss, "availableReplicas")
    if available_now > min_available:  # scaleDownOldReplicaSetsForRollingUpdate
        total = available_now - min_available
        done = 0
        for rs in by_creation(old_rss):
            if done >= total:
                break
            size = sizes[meta(rs)["name"]]
            if size == 0:
                continue
            cut = min(size, total - done)
            plan.append((rs, size - cut))
            done += cut
    return _last_wins(plan)


def _last_wins(plan: Plan) -> Plan:
    """One entry per set, at the position of its first change, with its final size."""
    final: dict[str, int] = {}
    order: list[Obj] = []
    for rs, size in plan:
        name = meta(rs)["name"]
        if name not in final:
            order.append(rs)
        final[name] = size
    return [(rs, final[meta(rs)["name"]]) for rs in order]


# ---- scaling (paused deployments, or replicas changed mid-rollout) -----------------


def is_scaling_event(d: Obj, rss: list[Obj]) -> bool:
    """An active set records a desired-replicas different from the deployment's."""
    for rs in rss:
        if not is_active(rs):
            continue
        desired = annotated_int(rs, DESIRED_REPLICAS)
        if desired is not None and desired != replicas(d):
            return True
    return False


def find_active_or_latest(new_rs: Obj | None, old_rss: list[Obj]) -> Obj | None:
    """The one active set, or the newest if none is active; None if several are."""
    if new_rs is None and not old_rss:
        return None
    newest_first = list(reversed(by_creation(old_rss)))
    active = [rs for rs in [*newest_first, new_rs] if rs is not None and is_active(rs)]
    if not active:
        return new_rs if new_rs is not None else newest_first[0]
    if len(active) == 1:
        return active[0]
    return None


def is_saturated(d: Obj, rs: Obj | None) -> bool:
    """The set has all the deployment's replicas, all available, at its desired size."""
    if rs is None:
        return False
    desired = annotated_int(rs, DESIRED_REPLICAS)
    want = replicas(d)
    return (
        desired == want and replicas(rs) == want and status_count(rs, "availableReplicas") == want
    )


def replicaset_fraction(rs: Obj, d: Obj) -> int:
    """How many replicas `rs` gains (or loses) when the deployment is resized, in
    proportion to its share of the size recorded in its max-replicas annotation."""
    if replicas(d) == 0:
        return -replicas(rs)
    new_max = replicas(d) + max_surge(d)
    old_max = annotated_int(rs, MAX_REPLICAS)
    if not old_max:
        old_max = status_count(d, "replicas")
        if old_max == 0:
            return 0
    exact = replicas(rs) * new_max / old_max
    return int(exact + 0.5) - replicas(rs)  # integer.RoundToInt32: half away from zero


def proportion(rs: Obj, d: Obj, to_add: int, added: int) -> int:
    if replicas(rs) == 0 or to_add == 0 or to_add == added:
        return 0
    fraction = replicaset_fraction(rs, d)
    allowed = to_add - added
    return min(fraction, allowed) if to_add > 0 else max(fraction, allowed)


def plan_scale(d: Obj, new_rs: Obj | None, old_rss: list[Obj]) -> Plan:
    """The deployment's `scale`: give the only active set everything; or, when the new
    set is saturated, scale the old ones to zero; or, mid-rollout, spread the change
    over all active sets in proportion to their size (largest first), any rounding
    leftover going to the largest."""
    target = find_active_or_latest(new_rs, old_rss)
    if target is not None:
        return [] if replicas(target) == replicas(d) else [(target, replicas(d))]
    if is_saturated(d, new_rs):
        return [(rs, 0) for rs in old_rss if is_active(rs)]
    if not is_rolling_update(d):
        return []
    active = [rs for rs in [*old_rss, new_rs] if rs is not None and is_active(rs)]
    allowed = replicas(d) + max_surge(d) if replicas(d) > 0 else 0
    to_add = allowed - sum_replicas(active)
    if to_add > 0:  # up: larger first, newer first among equals
        active.sort(key=lambda rs: (-replicas(rs), -_created(rs), meta(rs)["name"]))
    elif to_add < 0:  # down: larger first, older first among equals
        active.sort(key=lambda rs: (-replicas(rs), _created(rs), meta(rs)["name"]))
    sizes: dict[str, int] = {}
    added = 0
    for rs in active:
        share = proportion(rs, d, to_add, added) if to_add else 0
        sizes[meta(rs)["name"]] = replicas(rs) + share
        added += share
    if active and to_add:
        first = meta(active[0])["name"]
        sizes[first] = max(0, sizes[first] + to_add - added)
    return [(rs, sizes[meta(rs)["name"]]) for rs in active]


def _created(rs: Obj) -> float:
    return parse_time(meta(rs).get("creationTimestamp")) or 0.0


# ---- recreate ------------------------------------------------------------------------


def old_pods_running(
    new_rs: Obj | None, old_rss: list[Obj], pods_by_rs: dict[str, list[Obj]]
) -> bool:
    """Recreate waits until no pod of an old set exists (terminating ones included)."""
    if sum_status(old_rss, "replicas") > 0:
        return True
    new_uid = meta(new_rs).get("uid") if new_rs is not None else None
    for rs_uid, pods in pods_by_rs.items():
        if rs_uid == new_uid:
            continue
        for pod in pods:
            if (pod.get("status") or {}).get("phase") not in ("Succeeded", "Failed"):
                return True
    return False


# ---- history ---------------------------------------------------------------------------


def replicasets_to_clean(d: Obj, old_rss: list[Obj]) -> list[Obj]:
    """Old, empty, settled sets beyond revisionHistoryLimit, lowest revision first."""
    limit = (d.get("spec") or {}).get("revisionHistoryLimit")
    if limit is None:
        return []
    alive = [rs for rs in old_rss if not meta(rs).get("deletionTimestamp")]
    excess = len(alive) - int(limit)
    if excess <= 0:
        return []
    ordered = sorted(alive, key=lambda rs: (revision(rs), _created(rs), meta(rs)["name"]))
    victims = []
    for rs in ordered[:excess]:
        settled = int((rs.get("status") or {}).get("observedGeneration") or 0) >= int(
            meta(rs).get("generation") or 0
        )
        if status_count(rs, "replicas") == 0 and replicas(rs) == 0 and settled:
            victims.append(rs)
    return victims
