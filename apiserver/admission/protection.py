"""Kubernetes' StorageObjectInUseProtection plugin: claims and volumes are born with
the finalizer their protection controller removes once nothing uses them."""

from __future__ import annotations

from api.storage import PV_PROTECTION, PVC_PROTECTION
from apiserver.admission.plugin import CREATE, Attributes, Plugin

_FINALIZERS = {"PersistentVolumeClaim": PVC_PROTECTION, "PersistentVolume": PV_PROTECTION}


class StorageObjectInUseProtection(Plugin):
    name = "StorageObjectInUseProtection"

    def handles(self, a: Attributes) -> bool:
        return a.operation == CREATE and a.kind in _FINALIZERS

    async def admit(self, a: Attributes) -> None:
        add_finalizer(a.obj, _FINALIZERS[a.kind])


def add_finalizer(obj: dict, name: str) -> None:
    finalizers = obj.setdefault("metadata", {}).setdefault("finalizers", [])
    if name not in finalizers:
        finalizers.append(name)
