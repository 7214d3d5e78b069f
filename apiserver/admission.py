"""What the apiserver adds or refuses beyond validation, as Kubernetes' admission
plugins: namespace lifecycle, default NoExecute tolerations for pods, and Service
address allocation."""

from __future__ import annotations

from api import errors
from api.taints import NO_EXECUTE, NOT_READY, UNREACHABLE, covers_key
from apiserver.allocator import Allocator
from apiserver.namespaces import NamespaceLifecycle
from apiserver.options import WriteOptions
from apiserver.requestinfo import RequestInfo
from apiserver.storage import Storage, object_key


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
            raise errors.forbidden(
                f"unable to create new content in namespace {namespace} because it is being "
                "terminated"
            )

    async def admit_create(self, info: RequestInfo, obj: dict, opts: WriteOptions) -> None:
        if info.resource.kind == "Pod":
            self.add_default_tolerations(obj.setdefault("spec", {}))

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
