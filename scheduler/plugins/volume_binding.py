"""VolumeBinding's Filter: a pod's PersistentVolumeClaims decide where it may go.

A bound claim's volume must be usable from the node (its node affinity); an unbound
claim of a WaitForFirstConsumer class fits a node where a matching volume is usable,
or any node when its class has a provisioner (it will make one there); an unbound
claim of an Immediate class waits for the binder, so the pod fits nowhere yet. The
reasons are Kubernetes'. What happens once a node is chosen (the claims get
`volume.kubernetes.io/selected-node`, the pod binds once they are Bound) is the
scheduler's PreBind, scheduler/volumes.py."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from api.storage import SELECTED_NODE, pod_claim_names, volume_class, volume_fits_node
from api.volumebinding import Node, find_best_match
from scheduler.framework import Status, unresolvable
from scheduler.nodeinfo import NodeInfo
from scheduler.podinfo import PodInfo

Obj = Mapping[str, Any]
NAME = "VolumeBinding"
BIND_CONFLICT = "node(s) didn't find available persistent volumes to bind"
NODE_CONFLICT = "node(s) had volume node affinity conflict"
UNBOUND_IMMEDIATE = "pod has unbound immediate PersistentVolumeClaims"
NO_PROVISIONER = "kubernetes.io/no-provisioner"


class StorageView(Protocol):
    """The storage objects the scheduler's informers hold."""

    def claim(self, namespace: str, name: str) -> dict[str, Any] | None: ...

    def volume(self, name: str) -> dict[str, Any] | None: ...

    def storage_class(self, name: str) -> dict[str, Any] | None: ...

    def volumes(self) -> list[dict[str, Any]]: ...


def waits_for_consumer(storage_class: Obj | None) -> bool:
    return (
        storage_class is not None
        and storage_class.get("volumeBindingMode") == "WaitForFirstConsumer"
    )


class VolumeBinding:
    name = NAME

    def __init__(self, storage: StorageView) -> None:
        self.storage = storage

    def filter_applies(self, pod: PodInfo) -> bool:
        return bool(pod_claim_names(dict(pod.pod)))

    def filter(self, pod: PodInfo, node: NodeInfo) -> Status | None:
        for claim_name in pod_claim_names(dict(pod.pod)):
            reason = self._claim_misfit(pod.namespace, claim_name, node)
            if reason is not None:
                return unresolvable(NAME, reason)
        return None

    def _claim_misfit(self, namespace: str, claim_name: str, node: NodeInfo) -> str | None:
        claim = self.storage.claim(namespace, claim_name)
        if claim is None:
            return f'persistentvolumeclaim "{claim_name}" not found'
        if (claim.get("metadata") or {}).get("deletionTimestamp"):
            return f'persistentvolumeclaim "{claim_name}" is being deleted'
        labels = dict(node.labels)
        volume_name = (claim.get("spec") or {}).get("volumeName")
        if volume_name:
            volume = self.storage.volume(volume_name)
            if volume is None:
                return "pvc(s) bound to non-existent pv(s)"
            return None if volume_fits_node(volume, node.name, labels) else NODE_CONFLICT
        storage_class = self.storage.storage_class(volume_class(claim))
        if not waits_for_consumer(storage_class):
            return UNBOUND_IMMEDIATE
        selected = ((claim.get("metadata") or {}).get("annotations") or {}).get(SELECTED_NODE)
        if selected and selected != node.name:
            return NODE_CONFLICT  # its volume is being made on the selected node
        if find_best_match(claim, self.storage.volumes(), Node(node.name, labels)) is not None:
            return None
        provisioner = (storage_class or {}).get("provisioner") or ""
        return None if provisioner and provisioner != NO_PROVISIONER else BIND_CONFLICT
