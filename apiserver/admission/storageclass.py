"""Kubernetes' DefaultStorageClass plugin: a claim that says nothing about its class
(storageClassName absent, not "") gets the default one, the newest when several are
marked default. A claim created before any class is default gets one later, from
the persistent volume binder (retroactive assignment, Kubernetes 1.28+)."""

from __future__ import annotations

from api.storage import default_class, has_no_class
from apiserver.admission.plugin import CREATE, Attributes, Plugin
from apiserver.storage import prefix_key


class DefaultStorageClass(Plugin):
    name = "DefaultStorageClass"

    def handles(self, a: Attributes) -> bool:
        return a.operation == CREATE and a.kind == "PersistentVolumeClaim"

    async def admit(self, a: Attributes) -> None:
        if not has_no_class(a.obj):
            return
        classes, _ = await self.storage.list(prefix_key("storageclasses"))
        default = default_class(classes)
        if default is not None:
            a.obj.setdefault("spec", {})["storageClassName"] = default["metadata"]["name"]
