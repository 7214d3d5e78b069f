"""The scheduler's storage side: informers over PersistentVolumeClaims,
PersistentVolumes and StorageClasses (the VolumeBinding filter reads them), and
VolumeBinding's PreBind: once a node is chosen, each unbound WaitForFirstConsumer
claim of the pod is annotated `volume.kubernetes.io/selected-node` (the binder binds
a matching volume there, or the provisioner makes one), and the pod is bound only
when all its claims are Bound, as Kubernetes' PreBind waits."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from typing import Any

from api.resources import PERSISTENTVOLUMECLAIMS, PERSISTENTVOLUMES, STORAGECLASSES
from api.storage import SELECTED_NODE, pod_claim_names, volume_class
from client.informer import Informer
from client.rest import AsyncClient
from scheduler.plugins.volume_binding import waits_for_consumer

Obj = dict[str, Any]
# Kubernetes' VolumeBinding bindTimeoutSeconds default.
DEFAULT_BIND_TIMEOUT = 600.0


class VolumeBindingTimeout(Exception):
    """The pod's claims were not all Bound in time."""


class StorageCache:
    def __init__(self, api: AsyncClient, on_change: Callable[[], object]) -> None:
        self.api = api
        self._waiters: set[asyncio.Event] = set()

        def changed(*_objs: Obj) -> None:
            on_change()
            self.wake()

        self.informers = [
            Informer(api, res, on_add=changed, on_update=changed, on_delete=changed)
            for res in (PERSISTENTVOLUMECLAIMS, PERSISTENTVOLUMES, STORAGECLASSES)
        ]
        self.claims, self.pvs, self.classes = self.informers

    def wake(self) -> None:
        """Let every PreBind look again (storage changed, or a waiting pod went)."""
        for waiter in self._waiters:
            waiter.set()

    def start(self) -> None:
        for informer in self.informers:
            informer.start()

    async def wait_for_sync(self) -> None:
        for informer in self.informers:
            await informer.wait_for_sync()

    async def stop(self) -> None:
        for informer in self.informers:
            await informer.stop()

    # ---- StorageView ----------------------------------------------------------------
    def claim(self, namespace: str, name: str) -> Obj | None:
        return self.claims.get(f"{namespace}/{name}")

    def volume(self, name: str) -> Obj | None:
        return self.pvs.get(name)

    def storage_class(self, name: str) -> Obj | None:
        return self.classes.get(name) if name else None

    def volumes(self) -> list[Obj]:
        return self.pvs.list()

    # ---- PreBind --------------------------------------------------------------------
    def _unbound(self, pod: Mapping[str, Any]) -> list[tuple[str, Obj | None]]:
        namespace = (pod.get("metadata") or {}).get("namespace") or ""
        out = []
        for name in pod_claim_names(dict(pod)):
            claim = self.claim(namespace, name)
            if claim is None or (claim.get("status") or {}).get("phase") != "Bound":
                out.append((name, claim))
        return out

    async def prebind(
        self,
        pod: Mapping[str, Any],
        node: str,
        still_wanted: Callable[[], bool],
        timeout: float = DEFAULT_BIND_TIMEOUT,
    ) -> None:
        """Select `node` for the pod's WaitForFirstConsumer claims, then wait until
        every claim of the pod is Bound; VolumeBindingTimeout when that takes too long
        or the pod is no longer `still_wanted` (deleted while it waited)."""
        namespace = (pod.get("metadata") or {}).get("namespace") or ""
        for name, claim in self._unbound(pod):
            if claim is None or (claim.get("spec") or {}).get("volumeName"):
                continue
            if not waits_for_consumer(self.storage_class(volume_class(claim))):
                continue
            annotations = (claim.get("metadata") or {}).get("annotations") or {}
            if annotations.get(SELECTED_NODE) != node:
                patch = {"metadata": {"annotations": {SELECTED_NODE: node}}}
                await self.api.patch(PERSISTENTVOLUMECLAIMS, name, patch, "merge", namespace)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        changed = asyncio.Event()  # set by every storage change from now on
        self._waiters.add(changed)
        try:
            while unbound := self._unbound(pod):
                remaining = deadline - loop.time()
                if not still_wanted():
                    raise VolumeBindingTimeout("binding volumes: the pod is gone")
                if remaining <= 0:
                    names = ", ".join(name for name, _ in unbound)
                    raise VolumeBindingTimeout(f"binding volumes: timed out waiting for {names}")
                try:
                    await asyncio.wait_for(changed.wait(), remaining)
                except TimeoutError:
                    continue
                changed.clear()
        finally:
            self._waiters.discard(changed)
