"""What the apiserver adds or refuses beyond validation, as Kubernetes' admission
chain: namespace lifecycle and Service address allocation (which the REST store calls
directly), then the plugins of `default_plugins`, one module each. Adding a plugin:
write a `Plugin` subclass in its own module and append it to `default_plugins`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from api import errors
from api.podsecurity.levels import v1
from apiserver.admission.certificates import CertificateSubjectRestriction
from apiserver.admission.crdnames import CustomResourceDefinitionNames
from apiserver.admission.ingressclass import DefaultIngressClass
from apiserver.admission.limitranger import LimitRanger
from apiserver.admission.noderestriction import NodeRestriction
from apiserver.admission.objectcache import NamespacedObjects
from apiserver.admission.plugin import CREATE, DELETE, UPDATE, Attributes, Plugin
from apiserver.admission.podsecurity import pod_security
from apiserver.admission.priority import Priority
from apiserver.admission.protection import StorageObjectInUseProtection
from apiserver.admission.resize import PersistentVolumeClaimResize
from apiserver.admission.resourcequota import ResourceQuota
from apiserver.admission.serviceaccount import ServiceAccount
from apiserver.admission.storageclass import DefaultStorageClass
from apiserver.admission.tolerations import DefaultTolerationSeconds
from apiserver.allocator import Allocator
from apiserver.discovery import KUBE_MINOR
from apiserver.namespaces import NamespaceLifecycle
from apiserver.storage import Storage

if TYPE_CHECKING:
    from api.podsecurity.configuration import PodSecurityConfiguration

__all__ = [
    "CREATE",
    "DELETE",
    "UPDATE",
    "Admission",
    "Attributes",
    "Plugin",
    "default_plugins",
]


def default_plugins(
    storage: Storage,
    not_ready_seconds: int,
    unreachable_seconds: int,
    mount_tokens: bool = True,
    pod_security_config: PodSecurityConfiguration | None = None,
) -> list[Plugin]:
    """The enabled plugins in Kubernetes' order (mutating ones run in this order, then
    validating ones in this order)."""
    return [
        LimitRanger(storage),
        ServiceAccount(storage, mount_tokens),
        pod_security(storage, pod_security_config, v1(int(KUBE_MINOR))),
        Priority(storage),
        NodeRestriction(storage),
        DefaultTolerationSeconds(storage, not_ready_seconds, unreachable_seconds),
        DefaultStorageClass(storage),
        DefaultIngressClass(storage),
        StorageObjectInUseProtection(storage),
        PersistentVolumeClaimResize(storage),
        CustomResourceDefinitionNames(storage),
        CertificateSubjectRestriction(storage),
        ResourceQuota(storage),  # last: it charges what every other plugin admitted
    ]


class Admission:
    def __init__(
        self,
        storage: Storage,
        allocator: Allocator,
        not_ready_seconds: int,
        unreachable_seconds: int,
        disabled: tuple[str, ...] = (),
        mount_tokens: bool = True,
        pod_security_config: PodSecurityConfiguration | None = None,
    ) -> None:
        self.storage = storage
        self.allocator = allocator
        plugins = default_plugins(
            storage, not_ready_seconds, unreachable_seconds, mount_tokens, pod_security_config
        )
        self.plugins = [p for p in plugins if p.name not in disabled]
        self.disabled = disabled
        self.namespaces: NamespaceLifecycle  # set by the app once both exist
        self.namespace_cache = NamespacedObjects(storage, "namespaces")

    def add_before_quota(self, *plugins: Plugin) -> None:
        """Plugins built after the chain (they need the authorizer), in Kubernetes'
        place: before ResourceQuota, which charges what the others admitted."""
        at = next(
            (i for i, p in enumerate(self.plugins) if p.name == "ResourceQuota"), len(self.plugins)
        )
        wanted = [p for p in plugins if p.name not in self.disabled]
        self.plugins[at:at] = wanted

    async def require_namespace(self, namespace: str, creating: bool) -> dict:
        """The namespace (404 when missing; a create in a terminating one refused).
        Read from a watch-fed cache, as Kubernetes' NamespaceLifecycle reads an
        informer, with its fallback: a namespace not (yet) in the cache is read live, so
        one created just before is found."""
        ns = await self.namespace_cache.get("", namespace)
        if ns is None:
            raise errors.not_found("namespaces", namespace, "", "namespaces")
        if creating and (ns.get("metadata") or {}).get("deletionTimestamp"):
            raise errors.namespace_terminating(namespace)
        return ns

    async def admit(self, a: Attributes) -> None:
        """The mutating phase: every plugin that handles the write, in order."""
        for plugin in self.plugins:
            if plugin.mutates and plugin.handles(a):
                await plugin.admit(a)

    async def validate(self, a: Attributes) -> None:
        """The validating phase, after the object itself validated."""
        for plugin in self.plugins:
            if plugin.validates and plugin.handles(a):
                await plugin.validate(a)

    async def stop(self) -> None:
        await self.namespace_cache.stop()
        for plugin in self.plugins:
            await plugin.stop()
