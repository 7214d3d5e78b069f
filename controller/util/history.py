"""ControllerRevision history, as Kubernetes' controller/history package and the
DaemonSet and StatefulSet controllers use it: each pod template a workload has had is
one revision, named `<owner>-<hash>`, whose data is the strategic merge patch that
restores it (`{"spec": {"template": ..., "$patch": "replace"}}`). `kubectl rollout
history` lists them; `kubectl rollout undo` patches the owner with one's data.

Pure functions over plain objects; controller/util/revisions.py does the writes."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from api.defaults import apply_defaults
from api.resources import Resource
from controller.util.controllerref import meta, new_controller_ref
from controller.util.hashing import compute_hash

Obj = dict[str, Any]

# The label on pods and revisions naming the revision they come from.
REVISION_HASH = "controller-revision-hash"


def template_of(owner: Obj) -> Obj:
    return copy.deepcopy((owner.get("spec") or {}).get("template") or {})


def revision_data(owner: Obj) -> Obj:
    """getPatch: applying it replaces the whole template."""
    return {"spec": {"template": {**template_of(owner), "$patch": "replace"}}}


def collision_count(owner: Obj) -> int | None:
    value = (owner.get("status") or {}).get("collisionCount")
    return value if isinstance(value, int) else None


def template_hash(owner: Obj) -> str:
    """ComputeHash(template, status.collisionCount): the revision's name suffix and
    the pods' controller-revision-hash label."""
    return compute_hash(template_of(owner), collision_count(owner))


def _defaulted(kind: str, template: Any) -> Any:
    holder: Obj = {"spec": {"template": copy.deepcopy(template) if template else {}}}
    holder["spec"]["template"].pop("$patch", None)
    apply_defaults(kind, holder)
    return holder["spec"]["template"]


def matches(kind: str, owner: Obj, revision: Obj) -> bool:
    """The revision holds the owner's current template (both defaulted, so what
    `rollout undo` sends back compares equal to what was stored)."""
    data = revision.get("data") if isinstance(revision.get("data"), dict) else {}
    stored = ((data or {}).get("spec") or {}).get("template")
    return _defaulted(kind, stored) == _defaulted(kind, template_of(owner))


def revision_number(revision: Obj) -> int:
    value = revision.get("revision")
    return value if isinstance(value, int) else 0


def max_revision(revisions: Iterable[Obj]) -> int:
    return max((revision_number(r) for r in revisions), default=0)


def split(kind: str, owner: Obj, revisions: Iterable[Obj]) -> tuple[list[Obj], list[Obj]]:
    """(revisions holding the current template, the others)."""
    current: list[Obj] = []
    old: list[Obj] = []
    for revision in revisions:
        (current if matches(kind, owner, revision) else old).append(revision)
    return current, old


def newest(revisions: list[Obj]) -> Obj:
    """dedupCurHistories keeps the highest revision of duplicates."""
    return max(revisions, key=revision_number)


def snapshot(owner: Obj, resource: Resource, number: int, revision_hash: str) -> Obj:
    """A new ControllerRevision of the owner's current template, labelled as its
    template is plus the revision hash, controlled by the owner."""
    md = meta(owner)
    labels = dict(
        ((owner.get("spec") or {}).get("template") or {}).get("metadata", {}).get("labels") or {}
    )
    labels[REVISION_HASH] = revision_hash
    metadata: Obj = {
        "name": f"{md.get('name')}-{revision_hash}",
        "namespace": md.get("namespace"),
        "labels": labels,
        "ownerReferences": [new_controller_ref(owner, resource)],
    }
    if md.get("annotations"):
        metadata["annotations"] = dict(md["annotations"])
    return {
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": metadata,
        "data": revision_data(owner),
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
