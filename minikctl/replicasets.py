"""A Deployment's ReplicaSets as kubectl finds them (its deploymentutil): listed by the
deployment's label selector, kept only when their controller ownerReference carries the
deployment's uid, the "new" one being the oldest whose pod template equals the
deployment's (ignoring `pod-template-hash`). rollout history/undo and describe share it."""

from __future__ import annotations

import copy
from typing import Any

from api.labels import selector_string
from api.resources import by_kind
from api.timefmt import parse_time
from minikctl.context import CLIError, Context

Obj = dict[str, Any]

REVISION = "deployment.kubernetes.io/revision"
CHANGE_CAUSE = "kubernetes.io/change-cause"
HASH_LABEL = "pod-template-hash"
REPLICASETS = by_kind("ReplicaSet", "apps/v1")


def revision(obj: Obj) -> int:
    """The revision annotation as a number; 0 when absent (as deploymentutil.Revision)."""
    value = ((obj.get("metadata") or {}).get("annotations") or {}).get(REVISION)
    if value is None:
        return 0
    try:
        return int(value)
    except ValueError:
        raise CLIError(f'strconv.ParseInt: parsing "{value}": invalid syntax') from None


def is_controlled_by(obj: Obj, owner: Obj) -> bool:
    uid = (owner.get("metadata") or {}).get("uid")
    return any(
        ref.get("controller") and ref.get("uid") == uid
        for ref in (obj.get("metadata") or {}).get("ownerReferences") or []
    )


def owned_replicasets(ctx: Context, deployment: Obj) -> list[Obj]:
    """The deployment's ReplicaSets, oldest first (name breaks ties)."""
    assert REPLICASETS is not None
    meta = deployment.get("metadata") or {}
    selector = selector_string((deployment.get("spec") or {}).get("selector"))
    listing = ctx.client.list(REPLICASETS, meta.get("namespace"), label_selector=selector or None)
    owned = [rs for rs in listing.get("items") or [] if is_controlled_by(rs, deployment)]
    return sorted(owned, key=_created)


def _created(rs: Obj) -> tuple[float, str]:
    meta = rs.get("metadata") or {}
    return (parse_time(meta.get("creationTimestamp")) or 0.0, meta.get("name", ""))


def split(deployment: Obj, replicasets: list[Obj]) -> tuple[list[Obj], Obj | None]:
    """(every old ReplicaSet, the new one or None)."""
    template = (deployment.get("spec") or {}).get("template") or {}
    new = next(
        (rs for rs in replicasets if equal_ignore_hash(_template(rs), template)),
        None,
    )
    return [rs for rs in replicasets if rs is not new], new


def _template(rs: Obj) -> Obj:
    return (rs.get("spec") or {}).get("template") or {}


def equal_ignore_hash(a: Obj, b: Obj) -> bool:
    """Pod templates equal as Go's semantic DeepEqual sees them: `pod-template-hash`
    aside, and empty values (`{}`, `[]`, `""`, null) the same as absent ones."""
    return _semantic(without_hash(a)) == _semantic(without_hash(b))


def without_hash(template: Obj) -> Obj:
    copied = copy.deepcopy(template)
    labels = (copied.get("metadata") or {}).get("labels")
    if labels:
        labels.pop(HASH_LABEL, None)
    return copied


def _semantic(value: Any) -> Any:
    if isinstance(value, dict):
        pruned = {k: _semantic(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, "", {}, [])}
    if isinstance(value, list):
        return [_semantic(v) for v in value]
    return value
