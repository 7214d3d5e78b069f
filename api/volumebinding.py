"""Which PersistentVolume a claim gets: Kubernetes' findMatchingVolume, pure. The
binder controller binds by it, and the scheduler asks it whether a node can serve a
WaitForFirstConsumer claim.

A volume fits a claim when it is Available (or already pre-bound to this very claim),
has the claim's class, volume mode and every access mode the claim asks for, carries
the labels the claim's selector wants, is not being deleted, and holds at least the
requested storage; of those, the smallest wins, so a 1Gi claim does not take a 100Gi
volume. A volume pre-bound to the claim (its claimRef names it) wins whenever it is
big enough. With a node (WaitForFirstConsumer claims), the volume must also be usable
from that node."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from api import labels as lbl
from api.errors import ApiError
from api.storage import storage_size, volume_class, volume_fits_node

Obj = dict[str, Any]


@dataclass(frozen=True)
class Node:
    """The node a WaitForFirstConsumer claim was given, as the binder sees it."""

    name: str
    labels: dict[str, str]


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def _spec(obj: Obj) -> Obj:
    return obj.get("spec") or {}


def requested_size(claim: Obj) -> Decimal:
    return storage_size((_spec(claim).get("resources") or {}).get("requests")) or Decimal(0)


def volume_size(volume: Obj) -> Decimal:
    return storage_size(_spec(volume).get("capacity")) or Decimal(0)


def is_bound_to_claim(volume: Obj, claim: Obj) -> bool:
    """IsVolumeBoundToClaim: the volume's claimRef names this claim (and its uid, once
    the binder filled it in)."""
    ref = _spec(volume).get("claimRef")
    if not ref:
        return False
    md = _meta(claim)
    if ref.get("name") != md.get("name") or ref.get("namespace") != md.get("namespace"):
        return False
    return not ref.get("uid") or ref.get("uid") == md.get("uid")


def _selector_matches(claim: Obj, volume: Obj) -> bool:
    selector = _spec(claim).get("selector")
    if selector is None:
        return True
    try:
        return lbl.from_label_selector(selector).matches(_meta(volume).get("labels") or {})
    except ApiError:
        return False


def has_access_modes(volume: Obj, claim: Obj) -> bool:
    offered = set(_spec(volume).get("accessModes") or [])
    return all(mode in offered for mode in _spec(claim).get("accessModes") or [])


def _volume_mode(obj: Obj) -> str:
    return str(_spec(obj).get("volumeMode") or "Filesystem")


def mismatch(volume: Obj, claim: Obj) -> str | None:
    """checkVolumeSatisfyClaim: why a volume cannot serve a claim, None when it can."""
    if volume_size(volume) < requested_size(claim):
        return "requested PV is too small"
    if volume_class(volume) != volume_class(claim):
        return "storageClassName does not match"
    if _volume_mode(volume) != _volume_mode(claim):
        return "incompatible volumeMode"
    if not has_access_modes(volume, claim):
        return "incompatible accessMode"
    return None


def find_best_match(claim: Obj, volumes: list[Obj], node: Node | None = None) -> Obj | None:
    """The volume the claim should be bound to, None when none fits."""
    wanted = requested_size(claim)
    best: Obj | None = None
    for volume in volumes:
        if _meta(volume).get("deletionTimestamp") or _volume_mode(volume) != _volume_mode(claim):
            continue
        if node is not None and not volume_fits_node(volume, node.name, node.labels):
            continue
        size = volume_size(volume)
        if is_bound_to_claim(volume, claim):
            if size >= wanted:
                return volume
            continue
        if (
            _spec(volume).get("claimRef")
            or (volume.get("status") or {}).get("phase") != "Available"
            or not _selector_matches(claim, volume)
            or volume_class(volume) != volume_class(claim)
            or not has_access_modes(volume, claim)
            or size < wanted
        ):
            continue
        if best is None or size < volume_size(best):
            best = volume
    return best
