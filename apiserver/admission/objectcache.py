"""A watch-fed copy of one resource's objects by namespace, for admission plugins that
read them on every write (Kubernetes' plugins read informers for the same reason):
LimitRanger's LimitRanges, ResourceQuota's question "does this namespace have any
quota at all?", the namespace of every create (NamespaceLifecycle; cluster-scoped
objects sit under namespace "") and Priority's PriorityClasses. Until its first list
has arrived, and after losing its watch until it has listed again, it reads etcd
directly, so it is never emptier than the store except for the instant between a
commit and its watch event; `get` reads etcd on a miss, and `observe` takes what this
process just wrote."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from apiserver.storage import Storage, object_key, prefix_key

log = logging.getLogger(__name__)

RETRY_SECONDS = 1.0


class NamespacedObjects:
    def __init__(self, storage: Storage, plural: str) -> None:
        self.storage = storage
        self.plural = plural
        self._by_namespace: dict[str, dict[str, dict]] = {}
        self._ready = False
        self._task: asyncio.Task[None] | None = None

    async def list(self, namespace: str) -> list[dict]:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"admission-cache-{self.plural}")
        if not self._ready:
            items, _ = await self.storage.list(prefix_key(self.plural, namespace))
            return items
        return list((self._by_namespace.get(namespace) or {}).values())

    async def get(self, namespace: str, name: str) -> dict | None:
        """One object: from the cache, else (not listed yet, or just created and its
        watch event not here yet) from etcd, as Kubernetes' lookups fall back to a
        live read."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"admission-cache-{self.plural}")
        if self._ready and (obj := (self._by_namespace.get(namespace) or {}).get(name)):
            return obj
        return await self.storage.get(object_key(self.plural, namespace, name))

    async def _run(self) -> None:
        while True:
            try:
                await self._list_and_watch()
            except asyncio.CancelledError:
                raise
            except Exception as err:  # compaction, a lost etcd connection: list again
                log.info("admission cache of %s: %s; relisting", self.plural, err)
            self._ready = False
            await asyncio.sleep(RETRY_SECONDS)

    async def _list_and_watch(self) -> None:
        items, revision = await self.storage.list(prefix_key(self.plural))
        by_namespace: dict[str, dict[str, dict]] = {}
        for obj in items:
            md = obj.get("metadata") or {}
            by_namespace.setdefault(md.get("namespace", ""), {})[md.get("name", "")] = obj
        self._by_namespace = by_namespace
        self._ready = True
        async for ev in self.storage.watch(prefix_key(self.plural), revision + 1):
            md = ev.obj.get("metadata") or {}
            group = self._by_namespace.setdefault(md.get("namespace", ""), {})
            name = md.get("name", "")
            if _revision(group.get(name)) > ev.revision:
                continue  # this process already wrote a newer state (observe)
            if ev.type == "DELETED":
                group.pop(name, None)
            else:
                group[name] = ev.obj

    def observe(self, obj: dict) -> None:
        """A state this process just wrote, taken before its watch event arrives (so
        this apiserver reads its own writes); an older one than held is ignored."""
        if not self._ready:
            return
        md = obj.get("metadata") or {}
        group = self._by_namespace.setdefault(md.get("namespace", ""), {})
        if _revision(obj) >= _revision(group.get(md.get("name", ""))):
            group[md.get("name", "")] = obj

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None


def _revision(obj: dict | None) -> int:
    rv = ((obj or {}).get("metadata") or {}).get("resourceVersion")
    return int(rv) if rv and str(rv).isdigit() else -1
