"""The PersistentVolume binder (Kubernetes' persistentvolume-binder-controller).

Claims and volumes are both queued, as `("claim", "ns/name")` and `("volume", name)`:
- an unbound claim gets the best matching volume (binding.find_best_match); both
  sides are written in Kubernetes' order: the volume's claimRef, the volume's phase
  Bound, the claim's volumeName with the `pv.kubernetes.io/bind-completed` (and, when
  the binder chose, `bound-by-controller`) annotations, the claim's phase Bound with
  its capacity and access modes. A claim that names its volume (`volumeName`) is bound
  to exactly that volume, if it fits;
- a claim of a WaitForFirstConsumer class waits for the scheduler to pick a node
  (`volume.kubernetes.io/selected-node`); with no volume to bind, a claim of a class
  with a provisioner is handed to it (`volume.kubernetes.io/storage-provisioner`);
- a volume whose claim is gone is Released: Retain keeps it, Delete leaves it to its
  provisioner (the `pv.kubernetes.io/provisioned-by` annotation) or fails it when no
  provisioner made it; a bound claim whose volume is gone is Lost.
Events tell a user why a claim waits (FailedBinding, WaitForFirstConsumer,
ExternalProvisioning, ClaimLost, VolumeFailedDelete)."""

from __future__ import annotations

import copy
import logging
from typing import Any

from api.errors import Conflict, NotFound
from api.resources import NODES, PERSISTENTVOLUMECLAIMS, PERSISTENTVOLUMES, STORAGECLASSES
from api.storage import (
    BETA_STORAGE_PROVISIONER,
    BIND_COMPLETED,
    BOUND_BY_CONTROLLER,
    PROVISIONED_BY,
    SELECTED_NODE,
    STORAGE_PROVISIONER,
    claim_key,
    default_class,
    has_no_class,
    is_default_class,
    volume_class,
)
from api.volumebinding import (
    Node,
    find_best_match,
    is_bound_to_claim,
    mismatch,
)
from client.events import NORMAL, WARNING
from client.informer import key_of
from controller.util.base import Context, Controller
from controller.util.controllerref import meta

log = logging.getLogger(__name__)

Obj = dict[str, Any]
CLAIM, VOLUME = "claim", "volume"
NO_CLASS_MESSAGE = "no persistent volumes available for this claim and no storage class is set"
WAITING_FOR_CONSUMER = "waiting for first consumer to be created before binding"


def phase(obj: Obj) -> str:
    return str((obj.get("status") or {}).get("phase") or "")


def annotations_of(obj: Obj) -> dict[str, str]:
    return meta(obj).get("annotations") or {}


def claim_ref(claim: Obj) -> Obj:
    md = meta(claim)
    return {
        "kind": "PersistentVolumeClaim",
        "namespace": md.get("namespace"),
        "name": md.get("name"),
        "uid": md.get("uid"),
        "apiVersion": "v1",
        "resourceVersion": md.get("resourceVersion"),
    }


def reference(obj: Obj, kind: str) -> Obj:
    """What an Event needs (informer items may lack kind and apiVersion)."""
    return {"kind": kind, "apiVersion": "v1", "metadata": meta(obj)}


def provisioning_message(provisioner: str) -> str:
    return (
        f"Waiting for a volume to be created either by the external provisioner "
        f"'{provisioner}' or manually by the system administrator. If volume creation is "
        "delayed, please verify that the provisioner is running and correctly registered."
    )


class PersistentVolumeBinder(Controller):
    name = "persistentvolume-binder"
    default_workers = 2

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        informers = ctx.informers
        self.volumes = informers.informer(PERSISTENTVOLUMES)
        self.claims = informers.informer(PERSISTENTVOLUMECLAIMS)
        self.classes = informers.informer(STORAGECLASSES)
        self.nodes = informers.informer(NODES)
        self.volumes.add_handler(
            self._volume_changed,
            lambda _old, new: self._volume_changed(new),
            self._volume_changed,
        )
        self.claims.add_handler(
            self._claim_changed, lambda _old, new: self._claim_changed(new), self._claim_deleted
        )
        self.classes.add_handler(self._class_changed, lambda _old, new: self._class_changed(new))
        self.watched = [self.volumes, self.claims, self.classes, self.nodes]

    # ---- queueing ---------------------------------------------------------------
    def _volume_changed(self, volume: Obj) -> None:
        self.enqueue_key((VOLUME, key_of(volume)))
        ref = claim_key((volume.get("spec") or {}).get("claimRef"))
        if ref:
            self.enqueue_key((CLAIM, ref))
        elif phase(volume) == "Available":
            # a volume that became free may be what a waiting claim needs, or the
            # very volume a claim names
            name = key_of(volume)
            for claim in self.claims.list():
                if (claim.get("spec") or {}).get("volumeName") in (None, "", name):
                    self._claim_changed(claim)

    def _class_changed(self, storage_class: Obj) -> None:
        """A class that became default is for every claim that has none yet."""
        if is_default_class(storage_class):
            for claim in self.claims.list():
                if has_no_class(claim) and phase(claim) == "Pending":
                    self._claim_changed(claim)

    def _claim_changed(self, claim: Obj) -> None:
        self.enqueue_key((CLAIM, key_of(claim)))

    def _claim_deleted(self, claim: Obj) -> None:
        name = (claim.get("spec") or {}).get("volumeName")
        if name:
            self.enqueue_key((VOLUME, name))
        for volume in self.volumes.list():
            if claim_key((volume.get("spec") or {}).get("claimRef")) == key_of(claim):
                self.enqueue_key((VOLUME, key_of(volume)))

    async def reconcile(self, key: tuple[str, str]) -> None:
        what, name = key
        try:
            if what == CLAIM:
                claim = self.claims.get(name)
                if claim is not None:
                    await self.sync_claim(claim)
            else:
                volume = self.volumes.get(name)
                if volume is not None:
                    await self.sync_volume(volume)
        except (Conflict, NotFound):
            # the cache was behind: the informer brings the newer object and requeues it
            log.debug("%s %s changed while syncing; will retry", what, name)

    # ---- claims -----------------------------------------------------------------
    async def sync_claim(self, claim: Obj) -> None:
        spec = claim.get("spec") or {}
        if not spec.get("volumeName"):
            await self._sync_unbound_claim(claim)
            return
        volume = self.volumes.get(spec["volumeName"])
        if volume is None:
            if phase(claim) == "Bound":
                await self._set_claim_phase(claim, "Lost")
                await self.events.record(
                    reference(claim, "PersistentVolumeClaim"),
                    WARNING,
                    "ClaimLost",
                    "Bound claim has lost its PersistentVolume. Data on the volume is lost!",
                )
            return
        volume_spec = volume.get("spec") or {}
        if not volume_spec.get("claimRef"):
            reason = mismatch(volume, claim)
            if reason is not None:
                await self.events.record(
                    reference(claim, "PersistentVolumeClaim"),
                    WARNING,
                    "FailedBinding",
                    f'Cannot bind to requested volume "{spec["volumeName"]}": {reason}',
                )
                return
            await self.bind(volume, claim, volume_chosen=False)
        elif is_bound_to_claim(volume, claim):
            await self.bind(volume, claim, volume_chosen=False)
        elif phase(claim) == "Bound":
            await self._set_claim_phase(claim, "Lost")
        else:
            await self.events.record(
                reference(claim, "PersistentVolumeClaim"),
                WARNING,
                "FailedBinding",
                f'volume "{spec["volumeName"]}" already bound to a different claim.',
            )

    async def _sync_unbound_claim(self, claim: Obj) -> None:
        if has_no_class(claim) and phase(claim) == "Pending":
            default = default_class(self.classes.list())
            if default is not None:
                # Retroactive default StorageClass assignment (GA in Kubernetes 1.28): a
                # claim made before any class was default gets the one there is now;
                # the update brings it back here with its class.
                spec = {**(claim.get("spec") or {}), "storageClassName": meta(default)["name"]}
                await self.api.update(PERSISTENTVOLUMECLAIMS, {**claim, "spec": spec})
                return
        if annotations_of(claim).get(BIND_COMPLETED):
            if phase(claim) != "Lost":
                await self._set_claim_phase(claim, "Lost")
            return
        class_name = volume_class(claim)
        storage_class = self.classes.get(class_name) if class_name else None
        node: Node | None = None
        if storage_class is not None and storage_class.get("volumeBindingMode") == (
            "WaitForFirstConsumer"
        ):
            selected = annotations_of(claim).get(SELECTED_NODE)
            if not selected:
                await self.events.record(
                    reference(claim, "PersistentVolumeClaim"),
                    NORMAL,
                    "WaitForFirstConsumer",
                    WAITING_FOR_CONSUMER,
                )
                return
            node_obj = self.nodes.get(selected)
            node = Node(selected, dict(meta(node_obj).get("labels") or {}) if node_obj else {})
        volume = find_best_match(claim, self.volumes.list(), node)
        if volume is not None:
            await self.bind(volume, claim, volume_chosen=True)
            return
        if not class_name:
            await self.events.record(
                reference(claim, "PersistentVolumeClaim"), NORMAL, "FailedBinding", NO_CLASS_MESSAGE
            )
        elif storage_class is None:
            await self.events.record(
                reference(claim, "PersistentVolumeClaim"),
                WARNING,
                "ProvisioningFailed",
                f'storageclass.storage.k8s.io "{class_name}" not found',
            )
        else:
            await self._hand_to_provisioner(claim, str(storage_class.get("provisioner") or ""))

    async def _hand_to_provisioner(self, claim: Obj, provisioner: str) -> None:
        """setClaimProvisioner: the claim names the provisioner that is to make its
        volume; the provisioner (another controller) does the rest."""
        current = annotations_of(claim)
        if current.get(STORAGE_PROVISIONER) != provisioner:
            updated = copy.deepcopy(claim)
            md = updated.setdefault("metadata", {})
            md["annotations"] = {
                **current,
                STORAGE_PROVISIONER: provisioner,
                BETA_STORAGE_PROVISIONER: provisioner,
            }
            await self.api.update(PERSISTENTVOLUMECLAIMS, updated)
        await self.events.record(
            reference(claim, "PersistentVolumeClaim"),
            NORMAL,
            "ExternalProvisioning",
            provisioning_message(provisioner),
        )

    async def bind(self, volume: Obj, claim: Obj, *, volume_chosen: bool) -> None:
        """Kubernetes' bind(): each step only when it is not done yet, so a retry
        after a conflict finishes what an earlier attempt started."""
        ref = (volume.get("spec") or {}).get("claimRef") or {}
        if ref.get("uid") != meta(claim).get("uid") or ref.get("name") != meta(claim).get("name"):
            updated = copy.deepcopy(volume)
            updated["spec"]["claimRef"] = claim_ref(claim)
            if volume_chosen:
                md = updated.setdefault("metadata", {})
                md["annotations"] = {**annotations_of(volume), BOUND_BY_CONTROLLER: "yes"}
            volume = await self.api.update(PERSISTENTVOLUMES, updated)
        if phase(volume) != "Bound":
            volume = await self._set_volume_phase(volume, "Bound")
        volume_name = meta(volume)["name"]
        claim_annotations = annotations_of(claim)
        wanted = {BIND_COMPLETED: "yes"}
        if volume_chosen:
            wanted[BOUND_BY_CONTROLLER] = "yes"
        if (claim.get("spec") or {}).get("volumeName") != volume_name or any(
            claim_annotations.get(k) != v for k, v in wanted.items()
        ):
            updated = copy.deepcopy(claim)
            updated["spec"]["volumeName"] = volume_name
            updated.setdefault("metadata", {})["annotations"] = {**claim_annotations, **wanted}
            claim = await self.api.update(PERSISTENTVOLUMECLAIMS, updated)
        volume_spec = volume.get("spec") or {}
        status = {
            **(claim.get("status") or {}),
            "phase": "Bound",
            "accessModes": list(volume_spec.get("accessModes") or []),
            "capacity": dict(volume_spec.get("capacity") or {}),
        }
        if claim.get("status") != status:
            await self.api.update_status(PERSISTENTVOLUMECLAIMS, {**claim, "status": status})
            log.info("bound claim %s to volume %s", key_of(claim), volume_name)

    async def _set_claim_phase(self, claim: Obj, new_phase: str) -> Obj:
        status = {**(claim.get("status") or {}), "phase": new_phase}
        return await self.api.update_status(PERSISTENTVOLUMECLAIMS, {**claim, "status": status})

    # ---- volumes ----------------------------------------------------------------
    async def _set_volume_phase(self, volume: Obj, new_phase: str, message: str = "") -> Obj:
        status: Obj = {"phase": new_phase}
        if message:
            status["message"] = message
        current = dict(volume.get("status") or {})
        current.pop("lastPhaseTransitionTime", None)  # the apiserver keeps it
        if current == status:
            return volume
        return await self.api.update_status(PERSISTENTVOLUMES, {**volume, "status": status})

    async def sync_volume(self, volume: Obj) -> None:
        ref = (volume.get("spec") or {}).get("claimRef")
        if not ref:
            if phase(volume) not in ("Available", "Failed"):
                await self._set_volume_phase(volume, "Available")
            return
        if not ref.get("uid"):
            # pre-bound by its creator: the claim's sync binds it
            if phase(volume) != "Available":
                await self._set_volume_phase(volume, "Available")
            self.enqueue_key((CLAIM, claim_key(ref)))
            return
        claim = self.claims.get(claim_key(ref))
        if claim is None:
            try:
                claim = await self.api.get(
                    PERSISTENTVOLUMECLAIMS, ref["name"], ref.get("namespace")
                )
            except NotFound:
                claim = None
        if claim is None or meta(claim).get("uid") != ref.get("uid"):
            await self._release(volume)
            return
        claim_volume = (claim.get("spec") or {}).get("volumeName")
        if not claim_volume:
            self.enqueue_key((CLAIM, key_of(claim)))
        elif claim_volume == meta(volume).get("name"):
            if phase(volume) != "Bound":
                await self._set_volume_phase(volume, "Bound")
        elif annotations_of(volume).get(BOUND_BY_CONTROLLER):
            await self._unbind(volume)
        elif phase(volume) != "Released":
            await self._set_volume_phase(volume, "Released")

    async def _unbind(self, volume: Obj) -> None:
        """The claim went to another volume: this one is free again."""
        updated = copy.deepcopy(volume)
        updated["spec"].pop("claimRef", None)
        updated["metadata"]["annotations"] = {
            k: v for k, v in annotations_of(volume).items() if k != BOUND_BY_CONTROLLER
        }
        volume = await self.api.update(PERSISTENTVOLUMES, updated)
        await self._set_volume_phase(volume, "Available")

    async def _release(self, volume: Obj) -> None:
        """The claim is gone: reclaim the volume as its policy says."""
        if phase(volume) not in ("Released", "Failed"):
            volume = await self._set_volume_phase(volume, "Released")
        if phase(volume) == "Failed":
            return
        policy = (volume.get("spec") or {}).get("persistentVolumeReclaimPolicy") or "Retain"
        name = meta(volume).get("name", "")
        if policy == "Retain":
            return
        if policy == "Delete":
            if annotations_of(volume).get(PROVISIONED_BY):
                return  # its provisioner deletes it
            message = (
                f'error getting deleter volume plugin for volume "{name}": '
                "no deletable volume plugin matched"
            )
            await self._set_volume_phase(volume, "Failed", message)
            await self.events.record(
                reference(volume, "PersistentVolume"), WARNING, "VolumeFailedDelete", message
            )
            return
        message = "No recycler plugin found for the volume!"
        await self._set_volume_phase(volume, "Failed", message)
        await self.events.record(
            reference(volume, "PersistentVolume"), WARNING, "VolumeFailedRecycle", message
        )
