"""What the apiserver adds or refuses beyond validation, as Kubernetes' admission
plugins: namespace lifecycle, default NoExecute tolerations for pods, Service
address allocation, the default StorageClass of claims that name none, and the
storage-object-in-use protection finalizers of claims and volumes."""

from __future__ import annotations

from api import errors
from api.storage import PV_PROTECTION, PVC_PROTECTION, is_default_class
from api.taints import NO_EXECUTE, NOT_READY, UNREACHABLE, covers_key
from apiserver.allocator import Allocator
from apiserver.namespaces import NamespaceLifecycle
from apiserver.options import WriteOptions
from apiserver.requestinfo import RequestInfo
from apiserver.storage import Storage, object_key, prefix_key


class Admission:
    def __init__(
        self,
        storage: Storage,
        allocator: Allocator,
        not_ready_seconds: int,
        unreachable_seconds: int,
    ) -> None:
        self.storage = storage
        self.allocator = allocator
        self.not_ready_seconds = not_ready_seconds
        self.unreachable_seconds = unreachable_seconds
        self.namespaces: NamespaceLifecycle  # set by the app once both exist

    async def require_namespace(self, namespace: str, creating: bool) -> None:
        ns = await self.storage.get(object_key("namespaces", None, namespace))
        if ns is None:
            raise errors.not_found("namespaces", namespace, "", "namespaces")
        if creating and (ns.get("metadata") or {}).get("deletionTimestamp"):
            raise errors.namespace_terminating(namespace)

    async def admit_create(self, info: RequestInfo, obj: dict, opts: WriteOptions) -> None:
        kind = info.resource.kind
        if kind == "Pod":
            self.add_default_tolerations(obj.setdefault("spec", {}))
        elif kind == "PersistentVolumeClaim":
            await self.add_default_storage_class(obj.setdefault("spec", {}))
            add_finalizer(obj, PVC_PROTECTION)
        elif kind == "PersistentVolume":
            add_finalizer(obj, PV_PROTECTION)

    async def add_default_storage_class(self, spec: dict) -> None:
        """Kubernetes' DefaultStorageClass plugin: a claim that says nothing about its
        class (storageClassName absent, not "") gets the default one, the newest when
        several are marked default."""
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

    def add_default_tolerations(self, spec: dict) -> None:
        """Kubernetes' DefaultTolerationSeconds plugin: pods tolerate an unready or
        unreachable node for a while before they are evicted."""
        tolerations = spec.setdefault("tolerations", [])
        for key, seconds in (
            (NOT_READY, self.not_ready_seconds),
            (UNREACHABLE, self.unreachable_seconds),
        ):
            if any(covers_key(t, key, NO_EXECUTE) for t in tolerations):
                continue
            tolerations.append(
                {
                    "key": key,
                    "operator": "Exists",
                    "effect": NO_EXECUTE,
                    "tolerationSeconds": seconds,
                }
            )


def add_finalizer(obj: dict, name: str) -> None:
    finalizers = obj.setdefault("metadata", {}).setdefault("finalizers", [])
    if name not in finalizers:
        finalizers.append(name)
