"""The resource quota controller, as Kubernetes': `status.hard` follows `spec.hard`, and
`status.used` is recounted from the live objects of the quota's namespace when a quota
is created or changes, when objects go away (deleted, or a pod turning terminal:
"replenishment") and on a periodic resync (`--resource-quota-sync-period`, 5m). The
apiserver's admission charges creates as they happen; the recount gives back what
deleted objects held. Objects are listed fresh from the API (not the informer caches),
and the status is written with the resourceVersion read first, so a charge made
meanwhile by admission makes the write conflict and the recount run again."""

from __future__ import annotations

import logging
from typing import Any

from api import quota
from api.errors import NotFound
from api.resources import (
    CONFIGMAPS,
    CRONJOBS,
    DAEMONSETS,
    DEPLOYMENTS,
    JOBS,
    PERSISTENTVOLUMECLAIMS,
    PODS,
    REPLICASETS,
    RESOURCEQUOTAS,
    SECRETS,
    SERVICES,
    Resource,
    find,
)
from client.informer import split_key
from controller.util.base import Context, Controller
from controller.util.informers import namespace_of

log = logging.getLogger(__name__)

Obj = dict[str, Any]

# The kinds whose deletions and usage changes give quota back (watched; the workload
# informers are shared with their own controllers); other kinds counted by
# `count/<resource>.<group>` are recounted on the periodic resync.
REPLENISHED = (
    PODS,
    SERVICES,
    CONFIGMAPS,
    SECRETS,
    PERSISTENTVOLUMECLAIMS,
    DEPLOYMENTS,
    REPLICASETS,
    DAEMONSETS,
    JOBS,
    CRONJOBS,
)


class ResourceQuotaController(Controller):
    name = "resourcequota"
    default_workers = 5

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.resync = ctx.options.resource_quota_sync_period
        self.quotas = ctx.informers.informer(RESOURCEQUOTAS)
        self.quotas.add_handler(self._quota_added, self._quota_updated)
        self.by_namespace = ctx.informers.index(RESOURCEQUOTAS, "namespace", namespace_of)
        self.watched = [self.quotas]
        for res in REPLENISHED:
            evaluator = quota.evaluator_for(res.group, res.plural)
            informer = ctx.informers.informer(res)
            informer.add_handler(
                None,
                lambda old, new, e=evaluator: self._object_updated(e, old, new),
                self._replenish,
            )
            self.watched.append(informer)

    # ---- events -----------------------------------------------------------------
    def _quota_added(self, rq: Obj) -> None:
        self.enqueue(rq)

    def _quota_updated(self, old: Obj, new: Obj) -> None:
        status = new.get("status") or {}
        hard = (new.get("spec") or {}).get("hard") or {}
        if (old.get("spec") or {}) != (new.get("spec") or {}) or status.get("hard") != hard:
            self.enqueue(new)

    def _object_updated(self, evaluator: quota.Evaluator, old: Obj, new: Obj) -> None:
        if evaluator.usage(old) != evaluator.usage(new):
            self._replenish(new)

    def _replenish(self, obj: Obj) -> None:
        namespace = namespace_of(obj)
        if namespace:
            for rq in self.by_namespace.list(namespace):
                self.enqueue(rq)

    # ---- reconcile --------------------------------------------------------------
    async def reconcile(self, key: str) -> None:
        namespace, name = split_key(key)
        try:
            rq = await self.api.get(RESOURCEQUOTAS, name, namespace)
        except NotFound:
            return
        spec_hard = quota.parse_list((rq.get("spec") or {}).get("hard"))
        objects: list[tuple[quota.Evaluator, list[Obj]]] = []
        for group, plural in sorted(quota.kinds_for(spec_hard)):
            res = _resource(group, plural)
            if res is None or not res.namespaced:
                continue
            listed = await self.api.list(res, namespace)
            objects.append((quota.evaluator_for(group, plural), listed.get("items") or []))
        used = quota.calculate_usage(rq, objects)
        status = {"hard": quota.to_json(spec_hard), "used": quota.to_json(used)}
        if _canonical(rq.get("status")) != status:
            await self.api.update_status(RESOURCEQUOTAS, {**rq, "status": status})
            log.info("resourcequota %s: used %s", key, status["used"])
        self.enqueue_after(key, self.resync)


def _resource(group: str, plural: str) -> Resource | None:
    for version in ("v1",):
        res = find(group, version, plural)
        if res is not None:
            return res
    return None


def _canonical(status: Obj | None) -> dict[str, dict[str, str]]:
    status = status or {}
    return {
        "hard": quota.to_json(quota.parse_list(status.get("hard"))),
        "used": quota.to_json(quota.parse_list(status.get("used"))),
    }
