"""A DaemonSet's ControllerRevision history (Kubernetes' daemon controller update.go):
each pod template the DaemonSet has had is one revision, named `<ds>-<hash>`, whose
data is the strategic merge patch that restores it. `kubectl rollout history ds`
lists them and `kubectl rollout undo ds` applies one's data to the DaemonSet."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from api.defaults import apply_defaults
from api.resources import DAEMONSETS
from controller.daemonset.placement import REVISION_HASH
from controller.util.controllerref import meta, new_controller_ref
from controller.util.hashing import compute_hash

Obj = dict[str, Any]


def template_of(ds: Obj) -> Obj:
    return copy.deepcopy((ds.get("spec") or {}).get("template") or {})


def revision_data(ds: Obj) -> Obj:
    """getPatch: `{"spec": {"template": ..., "$patch": "replace"}}`, so applying it
    replaces the whole template."""
    return {"spec": {"template": {**template_of(ds), "$patch": "replace"}}}


def template_hash(ds: Obj) -> str:
    """ComputeHash(template, status.collisionCount): the revision's name suffix and
    the pods' controller-revision-hash label."""
    collisions = (ds.get("status") or {}).get("collisionCount")
    return compute_hash(template_of(ds), collisions if isinstance(collisions, int) else None)


def _defaulted(template: Any) -> Any:
    holder: Obj = {"spec": {"template": copy.deepcopy(template) if template else {}}}
    holder["spec"]["template"].pop("$patch", None)
    apply_defaults("DaemonSet", holder)
    return holder["spec"]["template"]


def matches(ds: Obj, revision: Obj) -> bool:
    """The revision holds the DaemonSet's current template."""
    data = revision.get("data") if isinstance(revision.get("data"), dict) else {}
    stored = ((data or {}).get("spec") or {}).get("template")
    return _defaulted(stored) == _defaulted(template_of(ds))


def revision_number(revision: Obj) -> int:
    value = revision.get("revision")
    return value if isinstance(value, int) else 0


def max_revision(revisions: Iterable[Obj]) -> int:
    return max((revision_number(r) for r in revisions), default=0)


def split(ds: Obj, revisions: Iterable[Obj]) -> tuple[list[Obj], list[Obj]]:
    """(revisions holding the current template, the others)."""
    current: list[Obj] = []
    old: list[Obj] = []
    for revision in revisions:
        (current if matches(ds, revision) else old).append(revision)
    return current, old


def newest(revisions: list[Obj]) -> Obj:
    """dedupCurHistories keeps the highest revision of duplicates."""
    return max(revisions, key=revision_number)


def snapshot(ds: Obj, number: int, revision_hash: str) -> Obj:
    """A new ControllerRevision of the DaemonSet's current template."""
    md = meta(ds)
    labels = dict(
        ((ds.get("spec") or {}).get("template") or {}).get("metadata", {}).get("labels") or {}
    )
    labels[REVISION_HASH] = revision_hash
    metadata: Obj = {
        "name": f"{md.get('name')}-{revision_hash}",
        "namespace": md.get("namespace"),
        "labels": labels,
        "ownerReferences": [new_controller_ref(ds, DAEMONSETS)],
    }
    if md.get("annotations"):
        metadata["annotations"] = dict(md["annotations"])
    return {
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": metadata,
        "data": revision_data(ds),
        "revision": number,
    }


def to_clean(old: list[Obj], limit: int, live_hashes: set[str]) -> list[Obj]:
    """cleanupHistory: the oldest revisions beyond revisionHistoryLimit, never one
    that pods still run."""
    excess = len(old) - limit
    victims: list[Obj] = []
    for revision in sorted(old, key=revision_number):
        if excess <= 0:
            break
        if (meta(revision).get("labels") or {}).get(REVISION_HASH) in live_hashes:
            continue
        victims.append(revision)
        excess -= 1
    return victims
