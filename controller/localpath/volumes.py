"""What the local-path provisioner makes, pure: the default StorageClass, and the
PersistentVolume for a claim on a node (a hostPath directory under the node's
local-path directory, usable from that node only)."""

from __future__ import annotations

from posixpath import join
from typing import Any

from api.storage import (
    DEFAULT_CLASS_ANNOTATION,
    DEFAULT_CLASS_NAME,
    HOSTNAME_LABEL,
    LOCAL_PATH_PROVISIONER,
    PROVISIONED_BY,
)

Obj = dict[str, Any]


def default_storage_class() -> Obj:
    """`standard`, as kind's: the default class, node-local, bound where the first pod
    that uses the claim is scheduled, deleted with its claim."""
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": DEFAULT_CLASS_NAME,
            "annotations": {DEFAULT_CLASS_ANNOTATION: "true"},
        },
        "provisioner": LOCAL_PATH_PROVISIONER,
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "WaitForFirstConsumer",
    }


def volume_name(claim: Obj) -> str:
    """Kubernetes' provisioned volume name: `pvc-<claim uid>`."""
    return f"pvc-{(claim.get('metadata') or {}).get('uid', '')}"


def volume_for(claim: Obj, storage_class: Obj, node: str, base_dir: str) -> Obj:
    """The PersistentVolume that serves `claim` from `base_dir/<volume name>` on `node`,
    already pre-bound to the claim (claimRef with its uid), as provisioners make them."""
    md, spec = claim.get("metadata") or {}, claim.get("spec") or {}
    name = volume_name(claim)
    requests = (spec.get("resources") or {}).get("requests") or {}
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolume",
        "metadata": {"name": name, "annotations": {PROVISIONED_BY: LOCAL_PATH_PROVISIONER}},
        "spec": {
            "capacity": {"storage": requests.get("storage")},
            "accessModes": list(spec.get("accessModes") or []),
            "persistentVolumeReclaimPolicy": storage_class.get("reclaimPolicy") or "Delete",
            "storageClassName": (storage_class.get("metadata") or {}).get("name"),
            "volumeMode": spec.get("volumeMode") or "Filesystem",
            "claimRef": {
                "kind": "PersistentVolumeClaim",
                "apiVersion": "v1",
                "namespace": md.get("namespace"),
                "name": md.get("name"),
                "uid": md.get("uid"),
                "resourceVersion": md.get("resourceVersion"),
            },
            "hostPath": {"path": join(base_dir, name), "type": "DirectoryOrCreate"},
            "nodeAffinity": {
                "required": {
                    "nodeSelectorTerms": [
                        {
                            "matchExpressions": [
                                {"key": HOSTNAME_LABEL, "operator": "In", "values": [node]}
                            ]
                        }
                    ]
                }
            },
        },
    }
