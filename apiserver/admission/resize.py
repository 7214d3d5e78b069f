"""Kubernetes' PersistentVolumeClaimResize plugin: a claim may ask for more storage only
once bound, and only when its StorageClass allows volume expansion (shrinking is refused
by validation already)."""

from __future__ import annotations

from api.storage import storage_size, volume_class
from apiserver.admission.plugin import UPDATE, Attributes, Plugin
from apiserver.storage import object_key


class PersistentVolumeClaimResize(Plugin):
    name = "PersistentVolumeClaimResize"

    def handles(self, a: Attributes) -> bool:
        return a.operation == UPDATE and a.kind == "PersistentVolumeClaim" and not a.subresource

    async def validate(self, a: Attributes) -> None:
        old = a.old or {}
        new_size = storage_size(((a.obj.get("spec") or {}).get("resources") or {}).get("requests"))
        old_size = storage_size(((old.get("spec") or {}).get("resources") or {}).get("requests"))
        if new_size is None or old_size is None or new_size <= old_size:
            return
        if (old.get("status") or {}).get("phase") != "Bound":
            raise a.forbidden("Only bound persistent volume claims can be expanded")
        if not await self._allows_resize(a.obj, old):
            raise a.forbidden(
                "only dynamically provisioned pvc can be resized and the storageclass that "
                "provisions the pvc must support resize"
            )

    async def _allows_resize(self, pvc: dict, old: dict) -> bool:
        name, old_name = volume_class(pvc), volume_class(old)
        if not name or name != old_name:
            return False
        sc = await self.storage.get(object_key("storageclasses", None, name))
        return bool(sc and sc.get("allowVolumeExpansion") is True)
