"""A Deployment's pure bookkeeping (Kubernetes' pkg/controller/deployment/util):
pod-template hashes, revision annotations, surge/unavailability arithmetic,
conditions and status. No I/O: the controller (controller.py) and the rollout
planner (rollout.py) build on it, and unit tests check it alone."""

from __future__ import annotations

import copy
import math
from collections.abc import Iterable
from typing import Any

from api.defaults import apply_defaults
from api.timefmt import parse_time, rfc3339
from controller.util import hashing
from controller.util.controllerref import meta

Obj = dict[str, Any]

POD_TEMPLATE_HASH = "pod-template-hash"
REVISION = "deployment.kubernetes.io/revision"
REVISION_HISTORY = "deployment.kubernetes.io/revision-history"
DESIRED_REPLICAS = "deployment.kubernetes.io/desired-replicas"
MAX_REPLICAS = "deployment.kubernetes.io/max-replicas"
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
ROLLBACK_TO = "deprecated.deployment.rollback.to"
# Deployment annotations that are not copied onto its ReplicaSets.
SKIPPED_ANNOTATIONS = frozenset(
    {LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS, ROLLBACK_TO}
)
MAX_REVISION_HISTORY_CHARS = 2000
NO_PROGRESS_DEADLINE = 2**31 - 1  # math.MaxInt32: "never time out"

# Condition types and reasons, exactly as kubectl and dashboards read them.
AVAILABLE, PROGRESSING, REPLICA_FAILURE = "Available", "Progressing", "ReplicaFailure"
MIN_REPLICAS_AVAILABLE = "MinimumReplicasAvailable"
MIN_REPLICAS_UNAVAILABLE = "MinimumReplicasUnavailable"
NEW_RS_CREATED = "NewReplicaSetCreated"
FOUND_NEW_RS = "FoundNewReplicaSet"
RS_UPDATED = "ReplicaSetUpdated"
NEW_RS_AVAILABLE = "NewReplicaSetAvailable"
TIMED_OUT = "ProgressDeadlineExceeded"
FAILED_RS_CREATE = "ReplicaSetCreateError"
PAUSED = "DeploymentPaused"
RESUMED = "DeploymentResumed"

# ---- pod template hash ---------------------------------------------------------------


def _drop_empty(value: Any) -> Any:
    """Nulls, empty maps and empty lists removed, as Go's `omitempty` writes them."""
    if isinstance(value, dict):
        out = {k: _drop_empty(v) for k, v in value.items()}
        return {k: v for k, v in out.items() if v is not None and v != {} and v != []}
    if isinstance(value, list):
        return [_drop_empty(v) for v in value]
    return value


def normalized_template(template: Obj | None) -> Obj:
    """A pod template as the server would store it, so that the same template hashes
    and compares the same however it arrived: `creationTimestamp: null`, `resources: {}`
    and other empty values from a Go client (kubectl rollout undo) are dropped, then
    Kubernetes' defaults are applied. The pod-template-hash label is left out."""
    tmpl = copy.deepcopy(template or {})
    labels = (tmpl.get("metadata") or {}).get("labels")
    if isinstance(labels, dict):
        labels.pop(POD_TEMPLATE_HASH, None)
    tmpl = _drop_empty(tmpl)
    holder: Obj = {"spec": {"template": tmpl}}
    apply_defaults("ReplicaSet", holder)
    return holder["spec"]["template"]


def compute_hash(template: Obj | None, collision_count: int | None = None) -> str:
    """fnv32a of the normalised template (plus the collision count, little-endian),
    rendered in the safe alphabet — the `pod-template-hash` label and RS name suffix."""
    return hashing.compute_hash(normalized_template(template), collision_count)


def equal_ignore_hash(a: Obj | None, b: Obj | None) -> bool:
    """Same pod template, ignoring the pod-template-hash label and serialisation noise."""
    return normalized_template(a) == normalized_template(b)


# ---- replica sets of a deployment ------------------------------------------------------


def replicas(obj: Obj | None) -> int:
    """spec.replicas (1 when unset, as the server defaults it)."""
    if obj is None:
        return 0
    value = (obj.get("spec") or {}).get("replicas", 1)
    return int(value) if value is not None else 1


def status_count(obj: Obj | None, field: str) -> int:
    if obj is None:
        return 0
    return int((obj.get("status") or {}).get(field) or 0)


def by_creation(rss: Iterable[Obj]) -> list[Obj]:
    """Oldest first, name breaking ties (ReplicaSetsByCreationTimestamp)."""
    return sorted(
        rss,
        key=lambda rs: (parse_time(meta(rs).get("creationTimestamp")) or 0.0, meta(rs)["name"]),
    )


def find_new_replicaset(d: Obj, rss: list[Obj]) -> Obj | None:
    """The oldest ReplicaSet whose template is the deployment's."""
    template = (d.get("spec") or {}).get("template")
    for rs in by_creation(rss):
        if equal_ignore_hash((rs.get("spec") or {}).get("template"), template):
            return rs
    return None


def revision(rs: Obj | None) -> int:
    """The revision annotation as a number (0 when missing or malformed)."""
    if rs is None:
        return 0
    try:
        return int((meta(rs).get("annotations") or {}).get(REVISION, "0"))
    except ValueError:
        return 0


def max_revision(rss: Iterable[Obj]) -> int:
    return max((revision(rs) for rs in rss), default=0)


def is_active(rs: Obj) -> bool:
    return replicas(rs) > 0


def sum_replicas(rss: Iterable[Obj | None]) -> int:
    return sum(replicas(rs) for rs in rss if rs is not None)


def sum_status(rss: Iterable[Obj | None], field: str) -> int:
    return sum(status_count(rs, field) for rs in rss if rs is not None)


# ---- annotations ---------------------------------------------------------------------


def _annotations(obj: Obj) -> dict[str, str]:
    md = obj.setdefault("metadata", {})
    if not isinstance(md.get("annotations"), dict):
        md["annotations"] = {}
    return md["annotations"]


def copy_deployment_annotations(d: Obj, rs: Obj) -> bool:
    """Copy the deployment's own annotations onto its new ReplicaSet."""
    changed = False
    target = _annotations(rs)
    for key, value in (meta(d).get("annotations") or {}).items():
        if key in SKIPPED_ANNOTATIONS or target.get(key) == value:
            continue
        target[key] = value
        changed = True
    return changed


def set_new_rs_annotations(d: Obj, rs: Obj, new_revision: int, exists: bool) -> bool:
    """Bring a new ReplicaSet's annotations up to date: the deployment's annotations,
    its revision (only ever raised; the revision it had joins revision-history, which
    is how a rollback shows), and for a set about to be created, desired/max replicas."""
    changed = copy_deployment_annotations(d, rs)
    notes = _annotations(rs)
    old_text = notes.get(REVISION)
    if old_text is not None:
        try:
            old = int(old_text)
        except ValueError:
            return changed
    else:
        old = 0
    if old < new_revision:
        notes[REVISION] = str(new_revision)
        changed = True
        if old_text is not None:
            history = [h for h in notes.get(REVISION_HISTORY, "").split(",") if h]
            history.append(old_text)
            while history and len(",".join(history)) > MAX_REVISION_HISTORY_CHARS:
                history.pop(0)
            notes[REVISION_HISTORY] = ",".join(history)
    if not exists and set_replicas_annotations(rs, replicas(d), replicas(d) + max_surge(d)):
        changed = True
    return changed


def set_replicas_annotations(rs: Obj, desired: int, maximum: int) -> bool:
    notes = _annotations(rs)
    changed = False
    for key, value in ((DESIRED_REPLICAS, str(desired)), (MAX_REPLICAS, str(maximum))):
        if notes.get(key) != value:
            notes[key] = value
            changed = True
    return changed


def replicas_annotations_need_update(rs: Obj, desired: int, maximum: int) -> bool:
    notes = meta(rs).get("annotations") or {}
    return notes.get(DESIRED_REPLICAS) != str(desired) or notes.get(MAX_REPLICAS) != str(maximum)


def annotated_int(rs: Obj, key: str) -> int | None:
    try:
        return int((meta(rs).get("annotations") or {})[key])
    except (KeyError, ValueError, TypeError):
        return None


# ---- surge and unavailability ----------------------------------------------------------


def scaled_value(value: Any, total: int, round_up: bool) -> int:
    """An IntOrString against `total`: `3` is 3; `"25%"` of 10 is 3 rounding up, 2 down."""
    if value is None:
        return 0
    if isinstance(value, bool):
        raise ValueError(f"invalid value for IntOrString: {value!r}")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not text.endswith("%"):
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"invalid value for IntOrString: {value!r}") from None
    try:
        percent = int(text[:-1])
    except ValueError:
        raise ValueError(f"invalid value for IntOrString: invalid value {text!r}") from None
    exact = percent * total / 100
    return math.ceil(exact) if round_up else math.floor(exact)


def resolve_fenceposts(
    max_surge_value: Any, max_unavailable_value: Any, desired: int
) -> tuple[int, int]:
    """(surge, unavailable): surge rounds up, unavailability rounds down; both zero
    would stall a rollout, so unavailability becomes 1."""
    surge = scaled_value(max_surge_value, desired, True)
    unavailable = scaled_value(max_unavailable_value, desired, False)
    if surge == 0 and unavailable == 0:
        unavailable = 1
    return surge, unavailable


def _rolling(d: Obj) -> Obj | None:
    strategy = (d.get("spec") or {}).get("strategy") or {}
    if strategy.get("type", "RollingUpdate") != "RollingUpdate":
        return None
    return strategy.get("rollingUpdate") or {"maxSurge": "25%", "maxUnavailable": "25%"}


def is_rolling_update(d: Obj) -> bool:
    return _rolling(d) is not None


def max_surge(d: Obj) -> int:
    rolling = _rolling(d)
    if rolling is None:
        return 0
    surge, _ = resolve_fenceposts(
        rolling.get("maxSurge"), rolling.get("maxUnavailable"), replicas(d)
    )
    return surge


def max_unavailable(d: Obj) -> int:
    rolling = _rolling(d)
    desired = replicas(d)
    if rolling is None or desired == 0:
        return 0
    _, unavailable = resolve_fenceposts(
        rolling.get("maxSurge"), rolling.get("maxUnavailable"), desired
    )
    return min(unavailable, desired)


# ---- conditions ----------------------------------------------------------------------


def new_condition(kind: str, status: str, reason: str, message: str, now: float) -> Obj:
    stamp = rfc3339(now)
    return {
        "type": kind,
        "status": status,
        "lastUpdateTime": stamp,
        "lastTransitionTime": stamp,
        "reason": reason,
        "message": message,
    }


def get_condition(status: Obj | None, kind: str) -> Obj | None:
    for cond in (status or {}).get("conditions") or []:
        if cond.get("type") == kind:
            return cond
    return None


def set_condition(status: Obj, cond: Obj) -> None:
    """Same status and reason: leave it alone. Same status: keep its transition time."""
    current = get_condition(status, cond["type"])
    if current is not None and current.get("status") == cond["status"]:
        if current.get("reason") == cond["reason"]:
            return
        cond = {**cond, "lastTransitionTime": current.get("lastTransitionTime")}
    remove_condition(status, cond["type"])
    status.setdefault("conditions", []).append(cond)


def remove_condition(status: Obj, kind: str) -> None:
    status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != kind]


# ---- status --------------------------------------------------------------------------


def has_progress_deadline(d: Obj) -> bool:
    deadline = (d.get("spec") or {}).get("progressDeadlineSeconds")
    return deadline is not None and int(deadline) != NO_PROGRESS_DEADLINE


def calculate_status(all_rss: list[Obj], new_rs: Obj | None, d: Obj, now: float) -> Obj:
    """Counts summed over the deployment's sets, plus the Available condition."""
    rss = [rs for rs in all_rss if rs is not None]
    available = sum_status(rss, "availableReplicas")
    old = d.get("status") or {}
    status: Obj = {
        "observedGeneration": meta(d).get("generation"),
        "replicas": sum_status(rss, "replicas"),
        "updatedReplicas": status_count(new_rs, "replicas"),
        "readyReplicas": sum_status(rss, "readyReplicas"),
        "availableReplicas": available,
        "unavailableReplicas": max(0, sum_replicas(rss) - available),
        "conditions": copy.deepcopy(old.get("conditions") or []),
    }
    if old.get("collisionCount") is not None:
        status["collisionCount"] = old["collisionCount"]
    if available >= replicas(d) - max_unavailable(d):
        cond = new_condition(
            AVAILABLE, "True", MIN_REPLICAS_AVAILABLE, "Deployment has minimum availability.", now
        )
    else:
        cond = new_condition(
            AVAILABLE,
            "False",
            MIN_REPLICAS_UNAVAILABLE,
            "Deployment does not have minimum availability.",
            now,
        )
    set_condition(status, cond)
    return prune(status)


def prune(status: Obj) -> Obj:
    """Zero counts and empty lists dropped, as `omitempty` serialises them."""
    return {k: v for k, v in status.items() if k == "collisionCount" or v not in (None, 0, [], {})}


def deployment_complete(d: Obj, status: Obj) -> bool:
    want = replicas(d)
    return (
        int(status.get("updatedReplicas") or 0) == want
        and int(status.get("replicas") or 0) == want
        and int(status.get("availableReplicas") or 0) == want
        and int(status.get("observedGeneration") or 0) >= int(meta(d).get("generation") or 0)
    )


def deployment_progressing(d: Obj, new: Obj) -> bool:
    """Any progress since the last status: more updated, fewer old, more ready or
    more available replicas."""
    old = d.get("status") or {}

    def count(s: Obj, k: str) -> int:
        return int(s.get(k) or 0)

    old_old = count(old, "replicas") - count(old, "updatedReplicas")
    new_old = count(new, "replicas") - count(new, "updatedReplicas")
    return (
        count(new, "updatedReplicas") > count(old, "updatedReplicas")
        or new_old < old_old
        or count(new, "readyReplicas") > count(old, "readyReplicas")
        or count(new, "availableReplicas") > count(old, "availableReplicas")
    )


def deployment_timed_out(d: Obj, status: Obj, now: float) -> bool:
    if not has_progress_deadline(d):
        return False
    cond = get_condition(status, PROGRESSING)
    if cond is None or cond.get("reason") == NEW_RS_AVAILABLE:
        return False
    if cond.get("reason") == TIMED_OUT:
        return True
    since = parse_time(cond.get("lastUpdateTime"))
    deadline = int((d.get("spec") or {}).get("progressDeadlineSeconds") or 0)
    return since is not None and since + deadline < now


def rollout_status(d: Obj, all_rss: list[Obj], new_rs: Obj | None, now: float) -> Obj:
    """calculate_status plus the Progressing condition (syncRolloutStatus)."""
    status = calculate_status(all_rss, new_rs, d, now)
    name = meta(new_rs)["name"] if new_rs is not None else None
    if not has_progress_deadline(d):
        remove_condition(status, PROGRESSING)
    current = get_condition(d.get("status"), PROGRESSING)
    complete_already = (
        int(status.get("replicas") or 0) == int(status.get("updatedReplicas") or 0)
        and current is not None
        and current.get("reason") == NEW_RS_AVAILABLE
    )
    if has_progress_deadline(d) and not complete_already:
        if deployment_complete(d, status):
            message = (
                f'ReplicaSet "{name}" has successfully progressed.'
                if name
                else f'Deployment "{meta(d)["name"]}" has successfully progressed.'
            )
            set_condition(
                status, new_condition(PROGRESSING, "True", NEW_RS_AVAILABLE, message, now)
            )
        elif deployment_progressing(d, status):
            message = (
                f'ReplicaSet "{name}" is progressing.'
                if name
                else f'Deployment "{meta(d)["name"]}" is progressing.'
            )
            cond = new_condition(PROGRESSING, "True", RS_UPDATED, message, now)
            if current is not None:
                if current.get("status") == "True":
                    cond["lastTransitionTime"] = current.get("lastTransitionTime")
                remove_condition(status, PROGRESSING)
            set_condition(status, cond)
        elif deployment_timed_out(d, status, now):
            message = (
                f'ReplicaSet "{name}" has timed out progressing.'
                if name
                else f'Deployment "{meta(d)["name"]}" has timed out progressing.'
            )
            set_condition(status, new_condition(PROGRESSING, "False", TIMED_OUT, message, now))
    return prune(status)


def stuck_recheck_after(d: Obj, status: Obj, now: float) -> float | None:
    """When to look again at a rollout that shows no progress, to time it out on
    schedule rather than at the next unrelated event (requeueStuckDeployment)."""
    current = get_condition(d.get("status"), PROGRESSING)
    if not has_progress_deadline(d) or current is None:
        return None
    if deployment_complete(d, status) or current.get("reason") == TIMED_OUT:
        return None
    since = parse_time(current.get("lastUpdateTime"))
    if since is None:
        return None
    deadline = int((d.get("spec") or {}).get("progressDeadlineSeconds") or 0)
    return max(0.0, since + deadline - now)
