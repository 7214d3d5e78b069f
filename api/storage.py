"""The storage vocabulary every component shares (Kubernetes' storage helpers in
pkg/apis/core/helper and component-helpers/storage): the annotations and finalizers of
PersistentVolumes, PersistentVolumeClaims and StorageClasses, and the small readers
that the apiserver, the binder controller, the scheduler and the kubelet all need."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from api.quantity import QuantityError, parse_quantity

Obj = dict[str, Any]

DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
BETA_DEFAULT_CLASS_ANNOTATION = "storageclass.beta.kubernetes.io/is-default-class"
PVC_PROTECTION = "kubernetes.io/pvc-protection"
PV_PROTECTION = "kubernetes.io/pv-protection"
BIND_COMPLETED = "pv.kubernetes.io/bind-completed"
BOUND_BY_CONTROLLER = "pv.kubernetes.io/bound-by-controller"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
SELECTED_NODE = "volume.kubernetes.io/selected-node"
STORAGE_PROVISIONER = "volume.kubernetes.io/storage-provisioner"
BETA_STORAGE_PROVISIONER = "volume.beta.kubernetes.io/storage-provisioner"
BETA_STORAGE_CLASS = "volume.beta.kubernetes.io/storage-class"

ACCESS_MODES = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")
_MODE_SHORT = (
    ("ReadWriteOnce", "RWO"),
    ("ReadOnlyMany", "ROX"),
    ("ReadWriteMany", "RWX"),
    ("ReadWriteOncePod", "RWOP"),
)
RECLAIM_POLICIES = ("Delete", "Recycle", "Retain")
VOLUME_MODES = ("Block", "Filesystem")
BINDING_MODES = ("Immediate", "WaitForFirstConsumer")


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


def is_default_class(sc: Obj) -> bool:
    """storageutil.IsDefaultAnnotation: the GA or the beta annotation says "true"."""
    annotations = _meta(sc).get("annotations") or {}
    return "true" in (
        annotations.get(DEFAULT_CLASS_ANNOTATION),
        annotations.get(BETA_DEFAULT_CLASS_ANNOTATION),
    )


def default_class(classes: Iterable[Obj]) -> Obj | None:
    """GetDefaultClass: of the classes marked default, the newest (by creation time,
    then name); None when none is."""
    defaults = [c for c in classes if is_default_class(c)]
    if not defaults:
        return None
    return max(defaults, key=lambda c: (_meta(c).get("creationTimestamp", ""), _meta(c)["name"]))


def has_no_class(claim: Obj) -> bool:
    """A claim that says nothing about its class (absent, not ""): the default class's
    to take, at creation or later (retroactive default StorageClass assignment)."""
    annotations = _meta(claim).get("annotations") or {}
    spec = claim.get("spec") or {}
    return spec.get("storageClassName") is None and BETA_STORAGE_CLASS not in annotations


def volume_class(obj: Obj) -> str:
    """GetPersistentVolume(Claim)Class: the beta annotation, else spec.storageClassName."""
    annotations = _meta(obj).get("annotations") or {}
    if BETA_STORAGE_CLASS in annotations:
        return str(annotations[BETA_STORAGE_CLASS])
    return str((obj.get("spec") or {}).get("storageClassName") or "")


def access_modes_string(modes: list[str] | None) -> str:
    """GetAccessModesAsString: RWO,ROX,RWX,RWOP in that order, each once."""
    present = set(modes or [])
    return ",".join(short for mode, short in _MODE_SHORT if mode in present)


def storage_size(resources: Obj | None) -> Decimal | None:
    """The `storage` quantity of a capacity or requests map, None when absent or bad."""
    value = (resources or {}).get("storage")
    if value is None:
        return None
    try:
        return parse_quantity(value)
    except QuantityError:
        return None


def claim_key(claim_ref: Obj | None) -> str:
    """`namespace/name` of a PV's claimRef, "" when it has none."""
    if not claim_ref or not claim_ref.get("name"):
        return ""
    return f"{claim_ref.get('namespace') or ''}/{claim_ref['name']}"


def pod_claim_names(pod: Obj) -> list[str]:
    """The PVC names a pod's volumes refer to."""
    names = []
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        claim = (volume.get("persistentVolumeClaim") or {}).get("claimName")
        if claim:
            names.append(str(claim))
    return names


def _expression_matches(expr: Obj, values: dict[str, str]) -> bool:
    key, operator = str(expr.get("key") or ""), expr.get("operator")
    wanted = [str(v) for v in expr.get("values") or []]
    present = key in values
    if operator == "In":
        return present and values[key] in wanted
    if operator == "NotIn":
        return not present or values[key] not in wanted
    if operator == "Exists":
        return present
    if operator == "DoesNotExist":
        return not present
    if operator in ("Gt", "Lt") and present and len(wanted) == 1:
        try:
            have, want = int(values[key]), int(wanted[0])
        except ValueError:
            return False
        return have > want if operator == "Gt" else have < want
    return False


def volume_fits_node(pv: Obj, node_name: str, node_labels: dict[str, str]) -> bool:
    """CheckNodeAffinity: a volume without required node affinity fits every node; else
    one of its nodeSelectorTerms (matchExpressions on labels, matchFields on
    metadata.name, all ANDed; an empty term matches nothing) must match the node."""
    required = ((pv.get("spec") or {}).get("nodeAffinity") or {}).get("required")
    if not required:
        return True
    fields = {"metadata.name": node_name}
    for term in required.get("nodeSelectorTerms") or []:
        expressions = term.get("matchExpressions") or []
        field_exprs = term.get("matchFields") or []
        if not expressions and not field_exprs:
            continue
        if all(_expression_matches(e, node_labels) for e in expressions) and all(
            _expression_matches(e, fields) for e in field_exprs
        ):
            return True
    return False


# minik's built-in dynamic provisioner (as kind's and k3s' local-path-provisioner):
# each kubelet advertises the directory its volumes live under on its Node, the
# provisioner makes hostPath volumes there, the kubelet removes a volume's directory
# once its PersistentVolume is gone.
LOCAL_PATH_PROVISIONER = "minik.io/local-path"
LOCAL_PATH_DIR_ANNOTATION = "minik.io/local-path-dir"
DEFAULT_CLASS_NAME = "standard"
HOSTNAME_LABEL = "kubernetes.io/hostname"
