"""Kubernetes' DefaultStorageClass plugin: a claim that says nothing about its class
(storageClassName absent, not "") gets the default one, the newest when several are
marked default."""

from __future__ import annotations

from api.storage import is_default_class
from apiserver.admission.plugin import CREATE, Attributes, Plugin
from apiserver.storage import prefix_key


class DefaultStorageClass(Plugin):
    name = "DefaultStorageClass"

    def handles(self, a: Attributes) -> bool:
        return a.operation == CREATE and a.kind == "PersistentVolumeClaim"

    async def admit(self, a: Attributes) -> None:
        spec = a.obj.setdefault("spec", {})
        if spec.get("storageClassName") is not None:
            return
        classes, _ = await self.storage.list(prefix_key("storageclasses"))
        defaults = [c for c in classes if is_default_class(c)]
        if defaults:
            newest = max(
                defaults,
                key=lambda c: (c["metadata"].get("creationTimestamp", ""), c["metadata"]["name"]),
            )
            spec["storageClassName"] = newest["metadata"]["name"]
