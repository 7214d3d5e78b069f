"""minik's built-in dynamic provisioner (as kind's and k3s' local-path-provisioner),
run by the controller manager as `local-path-provisioner`.

At start it creates the default StorageClass `standard` unless some class is already
the default (as k3s' manifests do). It then provisions every claim the binder handed
to it (`volume.kubernetes.io/storage-provisioner: minik.io/local-path`) once the
scheduler chose a node (`volume.kubernetes.io/selected-node`): a hostPath volume under
the directory that node's kubelet advertises (`minik.io/local-path-dir` on its Node),
pre-bound to the claim and with node affinity to that node, so the binder binds it and
pods of the claim land where the data is. A Released volume it made with reclaim
policy Delete is deleted; the node's kubelet then removes the directory."""

from __future__ import annotations

import logging
from typing import Any

from api.errors import AlreadyExists, NotFound
from api.resources import NODES, PERSISTENTVOLUMECLAIMS, PERSISTENTVOLUMES, STORAGECLASSES
from api.storage import (
    LOCAL_PATH_DIR_ANNOTATION,
    LOCAL_PATH_PROVISIONER,
    PROVISIONED_BY,
    SELECTED_NODE,
    STORAGE_PROVISIONER,
    is_default_class,
    volume_class,
)
from client.events import NORMAL, WARNING
from client.informer import key_of
from controller.localpath.volumes import default_storage_class, volume_for, volume_name
from controller.util.base import Context, Controller
from controller.util.controllerref import meta

log = logging.getLogger(__name__)

Obj = dict[str, Any]
CLAIM, VOLUME = "claim", "volume"


def claim_reference(claim: Obj) -> Obj:
    return {"kind": "PersistentVolumeClaim", "apiVersion": "v1", "metadata": meta(claim)}


class LocalPathProvisioner(Controller):
    name = "local-path-provisioner"
    default_workers = 2

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        informers = ctx.informers
        self.claims = informers.informer(PERSISTENTVOLUMECLAIMS)
        self.volumes = informers.informer(PERSISTENTVOLUMES)
        self.classes = informers.informer(STORAGECLASSES)
        self.nodes = informers.informer(NODES)
        self.claims.add_handler(
            lambda c: self.enqueue_key((CLAIM, key_of(c))),
            lambda _old, new: self.enqueue_key((CLAIM, key_of(new))),
        )
        self.volumes.add_handler(
            lambda v: self.enqueue_key((VOLUME, key_of(v))),
            lambda _old, new: self.enqueue_key((VOLUME, key_of(new))),
        )
        self.watched = [self.claims, self.volumes, self.classes, self.nodes]

    async def started(self) -> None:
        if any(is_default_class(c) for c in self.classes.list()):
            return
        try:
            await self.api.create(STORAGECLASSES, default_storage_class())
            log.info("created the default StorageClass")
        except AlreadyExists:
            pass

    async def reconcile(self, key: tuple[str, str]) -> None:
        what, name = key
        if what == CLAIM:
            claim = self.claims.get(name)
            if claim is not None:
                await self.provision(claim)
        else:
            volume = self.volumes.get(name)
            if volume is not None:
                await self.reclaim(volume)

    def _our_class(self, claim: Obj) -> Obj | None:
        storage_class = self.classes.get(volume_class(claim))
        if storage_class is None or storage_class.get("provisioner") != LOCAL_PATH_PROVISIONER:
            return None
        return storage_class

    async def provision(self, claim: Obj) -> None:
        md = meta(claim)
        annotations = md.get("annotations") or {}
        if (
            (claim.get("spec") or {}).get("volumeName")
            or md.get("deletionTimestamp")
            or annotations.get(STORAGE_PROVISIONER) != LOCAL_PATH_PROVISIONER
        ):
            return
        storage_class = self._our_class(claim)
        if storage_class is None or self.volumes.get(volume_name(claim)) is not None:
            return
        node = annotations.get(SELECTED_NODE)
        if not node:
            await self._failed(claim, "configuration error, no node was specified")
            return
        node_obj = self.nodes.get(node) or {}
        base_dir = (meta(node_obj).get("annotations") or {}).get(LOCAL_PATH_DIR_ANNOTATION)
        if not base_dir:
            await self._failed(
                claim,
                f'node "{node}" does not advertise a local-path directory '
                f"({LOCAL_PATH_DIR_ANNOTATION} annotation)",
            )
            return
        reference = claim_reference(claim)
        await self.events.record(
            reference,
            NORMAL,
            "Provisioning",
            f'External provisioner is provisioning volume for claim "{key_of(claim)}"',
        )
        volume = volume_for(claim, storage_class, node, base_dir)
        try:
            await self.api.create(PERSISTENTVOLUMES, volume)
        except AlreadyExists:
            return
        name = volume["metadata"]["name"]
        log.info("provisioned %s for claim %s on node %s", name, key_of(claim), node)
        await self.events.record(
            reference, NORMAL, "ProvisioningSucceeded", f"Successfully provisioned volume {name}"
        )

    async def _failed(self, claim: Obj, message: str) -> None:
        await self.events.record(
            claim_reference(claim),
            WARNING,
            "ProvisioningFailed",
            f'failed to provision volume with StorageClass "{volume_class(claim)}": {message}',
        )

    async def reclaim(self, volume: Obj) -> None:
        """Delete a Released volume this provisioner made, when its policy says so."""
        md = meta(volume)
        if (
            (md.get("annotations") or {}).get(PROVISIONED_BY) != LOCAL_PATH_PROVISIONER
            or (volume.get("status") or {}).get("phase") != "Released"
            or (volume.get("spec") or {}).get("persistentVolumeReclaimPolicy") != "Delete"
            or md.get("deletionTimestamp")
        ):
            return
        try:
            await self.api.delete(
                PERSISTENTVOLUMES, md["name"], preconditions={"uid": md.get("uid")}
            )
            log.info("deleted released volume %s", md["name"])
        except NotFound:
            pass
