"""Kubernetes' LimitRanger plugin: pods get the Container defaults of their namespace's
LimitRanges (mutating), then pods and claims are held to the min/max/ratio constraints
(validating), with Kubernetes' messages. The rules themselves live in api.limitrange."""

from __future__ import annotations

from api import limitrange
from apiserver.admission.objectcache import NamespacedObjects
from apiserver.admission.plugin import CREATE, UPDATE, Attributes, Plugin
from apiserver.storage import Storage


class LimitRanger(Plugin):
    name = "LimitRanger"

    def __init__(self, storage: Storage) -> None:
        super().__init__(storage)
        self.ranges = NamespacedObjects(storage, "limitranges")

    def handles(self, a: Attributes) -> bool:
        if a.subresource:
            return False
        if a.kind == "Pod":  # containers cannot change after creation
            return a.operation == CREATE
        return a.kind == "PersistentVolumeClaim" and a.operation in (CREATE, UPDATE)

    async def _ranges(self, a: Attributes) -> list[dict]:
        return await self.ranges.list(a.namespace or "")

    async def stop(self) -> None:
        await self.ranges.stop()

    async def admit(self, a: Attributes) -> None:
        if a.kind != "Pod":
            return
        for limit_range in await self._ranges(a):
            limitrange.apply_defaults(a.obj, limit_range)

    async def validate(self, a: Attributes) -> None:
        messages: list[str] = []
        for limit_range in await self._ranges(a):
            if a.kind == "Pod":
                messages += limitrange.pod_violations(a.obj, limit_range)
            else:
                messages += limitrange.claim_violations(a.obj, limit_range)
        if messages:
            raise a.forbidden(limitrange.aggregate(messages))
