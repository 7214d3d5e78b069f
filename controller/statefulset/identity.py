"""What makes a StatefulSet's pod the pod of its ordinal (Kubernetes'
stateful_set_utils.go): the name `<set>-<i>`, the hostname and subdomain that give it
a DNS name through the governing Service, the identity labels, and one
PersistentVolumeClaim per volumeClaimTemplate named `<template>-<set>-<i>`."""

from __future__ import annotations

import copy
import re
from typing import Any

from api.resources import PODS, STATEFULSETS
from controller.util.controllerref import meta, new_controller_ref
from controller.util.history import REVISION_HASH
from controller.util.pods import pod_from_template

Obj = dict[str, Any]

POD_NAME_LABEL = "statefulset.kubernetes.io/pod-name"
POD_INDEX_LABEL = "apps.kubernetes.io/pod-index"


def spec_of(sts: Obj) -> Obj:
    return sts.get("spec") or {}


def replicas(sts: Obj) -> int:
    value = spec_of(sts).get("replicas")
    return value if isinstance(value, int) else 1


def start_ordinal(sts: Obj) -> int:
    start = (spec_of(sts).get("ordinals") or {}).get("start")
    return start if isinstance(start, int) else 0


def in_range(sts: Obj, ordinal: int) -> bool:
    start = start_ordinal(sts)
    return start <= ordinal < start + replicas(sts)


def pod_name(sts: Obj, ordinal: int) -> str:
    return f"{meta(sts).get('name')}-{ordinal}"


def ordinal_of(sts: Obj, pod: Obj) -> int | None:
    """The ordinal in a pod's name `<set>-<i>`; None for a pod not named so."""
    name = meta(pod).get("name") or ""
    m = re.fullmatch(rf"{re.escape(meta(sts).get('name') or '')}-(0|[1-9][0-9]*)", name)
    return int(m.group(1)) if m else None


def claim_name(sts: Obj, template: Obj, ordinal: int) -> str:
    return f"{meta(template).get('name')}-{meta(sts).get('name')}-{ordinal}"


def claim_templates(sts: Obj) -> list[Obj]:
    return [t for t in spec_of(sts).get("volumeClaimTemplates") or [] if isinstance(t, dict)]


def new_pod(sts: Obj, template: Obj, ordinal: int, revision_name: str) -> Obj:
    """newVersionedStatefulSetPod: the template's pod with the ordinal's identity, its
    claims as volumes, and the revision it was made from."""
    pod = pod_from_template(template, sts, new_controller_ref(sts, STATEFULSETS))
    del pod["metadata"]["generateName"]
    pod["metadata"]["name"] = pod_name(sts, ordinal)
    set_identity(sts, pod, ordinal)
    set_storage(sts, pod, ordinal)
    pod["metadata"].setdefault("labels", {})[REVISION_HASH] = revision_name
    return pod


def set_identity(sts: Obj, pod: Obj, ordinal: int) -> None:
    """updateIdentity: labels, hostname = pod name, subdomain = serviceName."""
    md = pod.setdefault("metadata", {})
    labels = md.setdefault("labels", {})
    labels[POD_NAME_LABEL] = md.get("name") or pod_name(sts, ordinal)
    labels[POD_INDEX_LABEL] = str(ordinal)
    spec = pod.setdefault("spec", {})
    spec["hostname"] = md.get("name")
    service = spec_of(sts).get("serviceName")
    if service:
        spec["subdomain"] = service
    else:
        spec.pop("subdomain", None)


def labels_match(pod: Obj, ordinal: int) -> bool:
    """The identity labels are there (the part of identityMatches a live pod can
    be brought back to; its hostname and subdomain are immutable)."""
    labels = meta(pod).get("labels") or {}
    return labels.get(POD_NAME_LABEL) == meta(pod).get("name") and labels.get(
        POD_INDEX_LABEL
    ) == str(ordinal)


def set_storage(sts: Obj, pod: Obj, ordinal: int) -> None:
    """updateStorage: each template's claim mounted as the volume of the template's
    name, replacing a pod-template volume of that name."""
    templates = claim_templates(sts)
    if not templates:
        return
    spec = pod.setdefault("spec", {})
    names = {meta(t).get("name") for t in templates}
    volumes = [v for v in spec.get("volumes") or [] if v.get("name") not in names]
    for t in templates:
        volumes.append(
            {
                "name": meta(t).get("name"),
                "persistentVolumeClaim": {"claimName": claim_name(sts, t, ordinal)},
            }
        )
    spec["volumes"] = volumes


def new_claims(sts: Obj, ordinal: int) -> list[Obj]:
    """getPersistentVolumeClaims: the ordinal's claims, labelled with the selector's
    matchLabels (status and server-set fields of the template dropped)."""
    match_labels = (spec_of(sts).get("selector") or {}).get("matchLabels") or {}
    claims = []
    for t in claim_templates(sts):
        tmd = meta(t)
        labels = {**(tmd.get("labels") or {}), **match_labels}
        md: Obj = {"name": claim_name(sts, t, ordinal), "namespace": meta(sts).get("namespace")}
        if labels:
            md["labels"] = labels
        if tmd.get("annotations"):
            md["annotations"] = copy.deepcopy(tmd["annotations"])
        claims.append(
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": md,
                "spec": copy.deepcopy(t.get("spec") or {}),
            }
        )
    return claims


def _ref(owner: Obj, api_version: str, kind: str) -> Obj:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": meta(owner).get("name"),
        "uid": meta(owner).get("uid"),
    }


def claim_owner_refs(claim: Obj, sts: Obj, pod: Obj | None, ordinal: int) -> list[Obj] | None:
    """updateClaimOwnerRefForSetAndPod: the claim's ownerReferences under the set's
    persistentVolumeClaimRetentionPolicy, or None when they are right already.
    whenDeleted=Delete: owned by the set (garbage-collected with it); whenScaled=Delete:
    a claim of a pod scaled away is owned by that pod (collected when it goes)."""
    policy = spec_of(sts).get("persistentVolumeClaimRetentionPolicy") or {}
    when_deleted = policy.get("whenDeleted") or "Retain"
    when_scaled = policy.get("whenScaled") or "Retain"
    refs = [r for r in meta(claim).get("ownerReferences") or [] if isinstance(r, dict)]
    set_uid, pod_uid = meta(sts).get("uid"), meta(pod).get("uid") if pod else None
    scaled_down = not in_range(sts, ordinal)
    want_set = when_deleted == "Delete" and not (when_scaled == "Delete" and scaled_down)
    want_pod = when_scaled == "Delete" and scaled_down and pod is not None
    new = [r for r in refs if r.get("uid") not in (set_uid, pod_uid)]
    if want_set:
        new.append(_ref(sts, STATEFULSETS.api_version, STATEFULSETS.kind))
    if want_pod and pod is not None:
        new.append(_ref(pod, PODS.api_version, PODS.kind))
    have = {r.get("uid") for r in refs if r.get("uid") in (set_uid, pod_uid)}
    wanted = {set_uid} if want_set else set()
    if want_pod:
        wanted.add(pod_uid)
    if have == wanted:
        return None
    return new
