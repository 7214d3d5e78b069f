"""Kubernetes' ResourceQuota plugin, the last validating one: a write that would take a
namespace past a quota is refused with 403, and an admitted one is charged to the
quotas' `status.used` *before* it is stored, each quota written with a
resourceVersion-guarded compare-and-put. Two concurrent creates therefore cannot both
take the last unit: the second one's write conflicts, it re-reads the quota and is
refused. A create whose name is taken is not charged; otherwise, as in Kubernetes, a
write that fails after admission leaves its charge until the resource quota controller
recounts. The arithmetic lives in api.quota."""

from __future__ import annotations

import asyncio
import copy
import logging

from api import errors, quota
from apiserver.admission.objectcache import NamespacedObjects
from apiserver.admission.plugin import CREATE, UPDATE, Attributes, Plugin
from apiserver.storage import RevisionMismatch, Storage, object_key, prefix_key

log = logging.getLogger(__name__)

ATTEMPTS = 50


class ResourceQuota(Plugin):
    name = "ResourceQuota"

    def __init__(self, storage: Storage) -> None:
        super().__init__(storage)
        # One charge at a time per namespace in this process (Kubernetes batches per
        # namespace too); the guarded writes keep several apiservers right.
        self._locks: dict[str, asyncio.Lock] = {}
        self.cached = NamespacedObjects(storage, "resourcequotas")

    def handles(self, a: Attributes) -> bool:
        if a.subresource or not a.namespace or not a.info.resource.namespaced:
            return False
        if a.operation == CREATE:
            return True
        return a.operation == UPDATE and self._evaluator(a).on_update

    @staticmethod
    def _evaluator(a: Attributes) -> quota.Evaluator:
        res = a.info.resource
        return quota.evaluator_for(res.group, res.plural)

    async def validate(self, a: Attributes) -> None:
        namespace = a.namespace or ""
        if not await self.cached.list(namespace):
            return  # no quota here (charging itself always reads etcd)
        lock = self._locks.setdefault(namespace, asyncio.Lock())
        async with lock:
            await self._charge(a, namespace)

    async def _exists(self, a: Attributes, namespace: str) -> bool:
        return await self.storage.exists(object_key(a.info.resource.plural, namespace, a.name))

    async def _charge(self, a: Attributes, namespace: str) -> None:
        evaluator = self._evaluator(a)
        charged: set[str] = set()
        for _attempt in range(ATTEMPTS):
            quotas, _ = await self.storage.list(prefix_key("resourcequotas", namespace))
            quotas = [q for q in quotas if q["metadata"]["name"] not in charged]
            if not quotas:
                return
            try:
                changes = quota.charge(evaluator, quotas, a.obj, a.old)
            except quota.QuotaRefused as refused:
                raise a.forbidden(str(refused)) from None
            if a.dry_run or not changes:
                return
            if a.operation == CREATE and await self._exists(a, namespace):
                return  # the create fails with AlreadyExists: charge nothing
            by_name = {q["metadata"]["name"]: q for q in quotas}
            conflicted = False
            for name, used in sorted(changes.items()):
                current = by_name[name]
                updated = copy.deepcopy(current)
                updated.setdefault("status", {})["used"] = quota.to_json(used)
                key = object_key("resourcequotas", namespace, name)
                try:
                    await self.storage.update(
                        key, updated, int(current["metadata"]["resourceVersion"])
                    )
                except RevisionMismatch:
                    conflicted = True
                    continue
                charged.add(name)
            if not conflicted:
                return
        raise errors.ApiError(
            500,
            f"Internal error occurred: resource quota evaluation timed out after "
            f"{ATTEMPTS} conflicting updates",
            "InternalError",
        )

    async def stop(self) -> None:
        await self.cached.stop()
