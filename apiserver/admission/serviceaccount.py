"""Kubernetes' ServiceAccount admission plugin (plugin/pkg/admission/serviceaccount):
on pod create, a pod without `serviceAccountName` runs as `default`; a pod whose
ServiceAccount does not exist is refused; and unless automounting is off (the pod's
`automountServiceAccountToken`, else the ServiceAccount's), every init and app container
mounts the projected volume `kube-api-access-<5 random>` read-only at
/var/run/secrets/kubernetes.io/serviceaccount: a bound token the kubelet requests and
refreshes, the cluster CA from the `kube-root-ca.crt` ConfigMap, and the namespace.

Right after a namespace is made its `default` ServiceAccount may not exist yet (the
controller manager makes it): as Kubernetes, the lookup of `default` is retried for a
moment before the pod is refused. Mirror pods are left alone."""

from __future__ import annotations

import asyncio
import random
from typing import TYPE_CHECKING, Any

from apiserver.admission.objectcache import NamespacedObjects
from apiserver.admission.plugin import CREATE, Attributes, Plugin

if TYPE_CHECKING:
    from apiserver.storage import Storage

DEFAULT_SERVICE_ACCOUNT = "default"
VOLUME_PREFIX = "kube-api-access-"
MOUNT_PATH = "/var/run/secrets/kubernetes.io/serviceaccount"
ROOT_CA_CONFIGMAP = "kube-root-ca.crt"
TOKEN_EXPIRATION_SECONDS = 3607  # Kubernetes' marker for the kubelet's extended tokens
MIRROR_ANNOTATION = "kubernetes.io/config.mirror"
# names.SimpleNameGenerator's alphabet: no vowels, no look-alike digits
_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
# getServiceAccount: the default account is looked up this many times, ~150 ms apart
DEFAULT_ATTEMPTS = 10


def random_suffix(n: int = 5) -> str:
    return "".join(random.choice(_ALPHABET) for _ in range(n))


def token_volume(name: str) -> dict[str, Any]:
    """TokenVolumeSource(): the projected volume every automounting pod gets."""
    return {
        "name": name,
        "projected": {
            "defaultMode": 0o644,
            "sources": [
                {
                    "serviceAccountToken": {
                        "expirationSeconds": TOKEN_EXPIRATION_SECONDS,
                        "path": "token",
                    }
                },
                {
                    "configMap": {
                        "name": ROOT_CA_CONFIGMAP,
                        "items": [{"key": "ca.crt", "path": "ca.crt"}],
                    }
                },
                {
                    "downwardAPI": {
                        "items": [
                            {
                                "path": "namespace",
                                "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"},
                            }
                        ]
                    }
                },
            ],
        },
    }


def should_automount(sa: dict[str, Any], pod: dict[str, Any]) -> bool:
    pod_choice = (pod.get("spec") or {}).get("automountServiceAccountToken")
    if pod_choice is not None:
        return bool(pod_choice)
    sa_choice = sa.get("automountServiceAccountToken")
    return True if sa_choice is None else bool(sa_choice)


def mount_token(pod: dict[str, Any], suffix: str | None = None) -> None:
    """mountServiceAccountToken: reuse a `kube-api-access-*` volume the pod has, else
    add one when some container lacks a mount at the token path."""
    spec = pod.setdefault("spec", {})
    volumes = spec.get("volumes") or []
    name = next(
        (v.get("name") for v in volumes if str(v.get("name") or "").startswith(VOLUME_PREFIX)),
        None,
    )
    has_volume = name is not None
    if name is None:
        name = VOLUME_PREFIX + (suffix or random_suffix())
    needs_volume = False
    for key in ("initContainers", "containers"):
        for container in spec.get(key) or []:
            mounts = container.setdefault("volumeMounts", [])
            if any(m.get("mountPath") == MOUNT_PATH for m in mounts):
                continue
            mounts.append({"name": name, "readOnly": True, "mountPath": MOUNT_PATH})
            needs_volume = True
    if needs_volume and not has_volume:
        spec["volumes"] = [*volumes, token_volume(name)]


class ServiceAccount(Plugin):
    name = "ServiceAccount"

    def __init__(self, storage: Storage, mount_tokens: bool = True) -> None:
        super().__init__(storage)
        # off when the apiserver cannot issue tokens (no signing key): no volume the
        # kubelet could never fill
        self.mount_tokens = mount_tokens
        self.accounts = NamespacedObjects(storage, "serviceaccounts")
        self.retry_interval = 0.1 + random.random() * 0.1

    def handles(self, a: Attributes) -> bool:
        return a.operation == CREATE and a.kind == "Pod" and not a.subresource

    async def lookup(self, namespace: str, name: str) -> dict[str, Any] | None:
        attempts = DEFAULT_ATTEMPTS if name == DEFAULT_SERVICE_ACCOUNT else 1
        for attempt in range(attempts):
            if attempt:
                await asyncio.sleep(self.retry_interval)
            sa = await self.accounts.get(namespace, name)
            if sa is not None:
                return sa
        return None

    async def admit(self, a: Attributes) -> None:
        pod = a.obj
        annotations = (pod.get("metadata") or {}).get("annotations") or {}
        if MIRROR_ANNOTATION in annotations:
            return
        spec = pod.setdefault("spec", {})
        name = spec.get("serviceAccountName") or spec.get("serviceAccount") or ""
        if not name:
            name = DEFAULT_SERVICE_ACCOUNT
        spec["serviceAccountName"] = name
        spec["serviceAccount"] = name  # the deprecated alias the apiserver keeps in step
        namespace = a.namespace or a.info.namespace or ""
        sa = await self.lookup(namespace, name)
        if sa is None:
            raise a.forbidden(
                f'error looking up service account {namespace}/{name}: serviceaccount "{name}" '
                "not found"
            )
        if self.mount_tokens and should_automount(sa, pod):
            mount_token(pod)

    async def stop(self) -> None:
        await self.accounts.stop()
