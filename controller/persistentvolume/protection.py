"""Storage object in use protection (Kubernetes' pvc-protection and pv-protection
controllers): the apiserver puts `kubernetes.io/pvc-protection` on every claim and
`kubernetes.io/pv-protection` on every volume; these controllers remove the finalizer
of an object being deleted once nothing uses it any more, so the object really goes.
A claim is in use while a scheduled pod that has not terminated mounts it; a volume
while it is Bound."""

from __future__ import annotations

import copy
from typing import Any

from api.errors import Conflict, NotFound
from api.resources import PERSISTENTVOLUMECLAIMS, PERSISTENTVOLUMES, PODS, Resource
from api.storage import PV_PROTECTION, PVC_PROTECTION, pod_claim_names
from client.informer import Informer
from controller.util.base import Context, Controller
from controller.util.controllerref import meta
from controller.util.pods import is_pod_terminal, node_name

Obj = dict[str, Any]


def pod_uses_claim(pod: Obj, claim_name: str) -> bool:
    """podUsesPVC: only scheduled pods count (the kubelet refuses to start a pod whose
    claim is being deleted), and only until they terminate."""
    return bool(node_name(pod)) and not is_pod_terminal(pod) and claim_name in pod_claim_names(pod)


def being_deleted_with(obj: Obj, finalizer: str) -> bool:
    md = meta(obj)
    return bool(md.get("deletionTimestamp")) and finalizer in (md.get("finalizers") or [])


async def remove_finalizer(ctl: Controller, res: Resource, obj: Obj, finalizer: str) -> None:
    updated = copy.deepcopy(obj)
    md = updated["metadata"]
    md["finalizers"] = [f for f in md.get("finalizers") or [] if f != finalizer]
    try:
        await ctl.api.update(res, updated)
    except NotFound:
        pass
    except Conflict:
        ctl.enqueue(obj)


class ClaimProtection(Controller):
    name = "persistentvolumeclaim-protection"
    default_workers = 1

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.claims: Informer = ctx.informers.informer(PERSISTENTVOLUMECLAIMS)
        self.pods = ctx.informers.by_namespace(PODS)
        self.claims.add_handler(self.enqueue, lambda _old, new: self.enqueue(new))
        pods = ctx.informers.informer(PODS)
        pods.add_handler(
            self._pod_changed, lambda _old, new: self._pod_changed(new), self._pod_changed
        )
        self.watched = [self.claims, pods]

    def _pod_changed(self, pod: Obj) -> None:
        namespace = meta(pod).get("namespace") or ""
        for claim in pod_claim_names(pod):
            self.enqueue_key(f"{namespace}/{claim}")

    async def reconcile(self, key: str) -> None:
        claim = self.claims.get(key)
        if claim is None or not being_deleted_with(claim, PVC_PROTECTION):
            return
        namespace, name = meta(claim).get("namespace") or "", meta(claim).get("name") or ""
        if any(pod_uses_claim(pod, name) for pod in self.pods.list(namespace)):
            return  # the pod's update or deletion queues the claim again
        await remove_finalizer(self, PERSISTENTVOLUMECLAIMS, claim, PVC_PROTECTION)


class VolumeProtection(Controller):
    name = "persistentvolume-protection"
    default_workers = 1

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.volumes = ctx.informers.informer(PERSISTENTVOLUMES)
        self.volumes.add_handler(self.enqueue, lambda _old, new: self.enqueue(new))
        self.watched = [self.volumes]

    async def reconcile(self, key: str) -> None:
        volume = self.volumes.get(key)
        if volume is None or not being_deleted_with(volume, PV_PROTECTION):
            return
        if (volume.get("status") or {}).get("phase") == "Bound":
            return
        await remove_finalizer(self, PERSISTENTVOLUMES, volume, PV_PROTECTION)
