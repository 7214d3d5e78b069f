"""Namespace lifecycle: the built-in namespaces exist from the start, and deleting a
namespace marks it Terminating, deletes everything in it, then removes it. The work
resumes after an apiserver restart because its only state is the namespace object."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from api import errors
from api.resources import INITIAL_NAMESPACES, NAMESPACES, RESOURCES, Resource
from api.timefmt import rfc3339
from apiserver.options import DeleteOptions, WriteOptions
from apiserver.requestinfo import RequestInfo
from apiserver.storage import KeyMissing, Storage, object_key, prefix_key

log = logging.getLogger(__name__)
PROTECTED = ("default", "kube-system", "kube-public")


class Store(Protocol):
    """What the lifecycle needs of the REST store (apiserver.registry.Registry), named
    here so this module does not import the store that calls it."""

    storage: Storage

    def key(self, info: RequestInfo) -> str: ...

    async def create(self, info: RequestInfo, body: Any, opts: WriteOptions) -> dict: ...

    async def delete(self, info: RequestInfo, opts: DeleteOptions) -> dict: ...


class NamespaceLifecycle:
    def __init__(self, registry: Store) -> None:
        self.registry = registry
        self._tasks: dict[str, asyncio.Task] = {}
        # The resources learnt at run time (CRDs'), set by the apiserver.
        self.extra_resources: Callable[[], Sequence[Resource]] = tuple

    async def bootstrap(self) -> None:
        for name in INITIAL_NAMESPACES:
            info = RequestInfo(NAMESPACES, None, None, None)
            try:
                await self.registry.create(
                    info, {"metadata": {"name": name}}, WriteOptions(field_manager="minik")
                )
            except errors.AlreadyExists:
                pass
        namespaces, _ = await self.registry.storage.list(prefix_key("namespaces"))
        for ns in namespaces:
            if ns["metadata"].get("deletionTimestamp"):
                self._start(ns["metadata"]["name"])

    async def begin_delete(self, info: RequestInfo, ns: dict) -> dict:
        name = ns["metadata"]["name"]
        if name in PROTECTED:
            raise errors.forbidden(
                f'namespaces "{name}" is forbidden: this namespace may not be deleted'
            )
        if not ns["metadata"].get("deletionTimestamp"):

            def mark(current: dict) -> dict | None:
                if current["metadata"].get("deletionTimestamp"):
                    return None
                current["metadata"]["deletionTimestamp"] = rfc3339()
                current["metadata"]["deletionGracePeriodSeconds"] = 0
                current.setdefault("status", {})["phase"] = "Terminating"
                return current

            ns = await self.registry.storage.guaranteed_update(self.registry.key(info), mark)
        self._start(name)
        return ns

    def _start(self, name: str) -> None:
        task = self._tasks.get(name)
        if task is None or task.done():
            self._tasks[name] = asyncio.create_task(self._finalize(name), name=f"ns {name}")

    async def _finalize(self, name: str) -> None:
        delay = 0.2
        while True:
            try:
                remaining = 0
                seen: set[str] = set()
                for res in (*RESOURCES, *self.extra_resources()):
                    if not res.namespaced or res.storage_resource in seen:
                        continue
                    seen.add(res.storage_resource)
                    items, _ = await self.registry.storage.list(
                        prefix_key(res.storage_resource, name)
                    )
                    remaining += len(items)
                    for item in items:
                        if item["metadata"].get("deletionTimestamp") and res.kind != "Pod":
                            continue
                        info = RequestInfo(res, name, item["metadata"]["name"], None)
                        with contextlib.suppress(errors.NotFound):
                            await self.registry.delete(
                                info, DeleteOptions(propagation_policy="Background")
                            )
                if remaining == 0:
                    await self._remove(name)
                    return
            except asyncio.CancelledError:
                raise
            except Exception as err:  # keep trying: etcd may be briefly away
                log.warning("finalizing namespace %s: %s", name, err)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)

    async def _remove(self, name: str) -> None:
        key = object_key("namespaces", None, name)

        def drop_finalizer(ns: dict) -> dict | None:
            spec = ns.setdefault("spec", {})
            if "kubernetes" not in (spec.get("finalizers") or []):
                return None
            spec["finalizers"] = [f for f in spec["finalizers"] if f != "kubernetes"]
            return ns

        try:
            ns = await self.registry.storage.guaranteed_update(key, drop_finalizer)
            if not ns["metadata"].get("finalizers") and not ns["spec"].get("finalizers"):
                await self.registry.storage.delete(key, int(ns["metadata"]["resourceVersion"]))
        except KeyMissing:
            pass

    async def stop(self) -> None:
        for task in self._tasks.values():
            task.cancel()
        for task in self._tasks.values():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
