"""Keeps an authorizer's in-memory index current from the apiserver's own watch cache:
list once, then follow the shared watch, relist when the watch is compacted or fails,
as the informers behind kube-apiserver's RBAC and Node authorizers do. No request
ever lists anything for a decision."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any, Protocol

from api.resources import Resource
from apiserver.storage import Compacted, Storage, prefix_key
from apiserver.watchcache import WatchCache

log = logging.getLogger(__name__)
Obj = dict[str, Any]


class Index(Protocol):
    """What a feed keeps current, by resource plural."""

    def replace(self, plural: str, items: list[Obj]) -> None: ...

    def put(self, plural: str, obj: Obj) -> None: ...

    def remove(self, plural: str, obj: Obj) -> None: ...


class CacheFeed:
    """One task per resource; `start` returns once every resource was listed."""

    def __init__(
        self,
        storage: Storage,
        cache: WatchCache,
        resources: tuple[Resource, ...],
        index: Index,
        name: str,
    ) -> None:
        self.storage = storage
        self.cache = cache
        self.resources = resources
        self.index = index
        self.name = name
        self._tasks: list[asyncio.Task] = []
        self.synced = asyncio.Event()
        self._pending = len(resources)

    async def start(self) -> None:
        for res in self.resources:
            task = asyncio.create_task(self._follow(res), name=f"{self.name} {res.plural}")
            self._tasks.append(task)
        await self.synced.wait()

    async def _follow(self, res: Resource) -> None:
        first = True
        while True:
            try:
                await self.cache.start(res.plural)
                items, revision = await self.storage.list(prefix_key(res.plural))
                self.index.replace(res.plural, items)
                if first:
                    first = False
                    self._pending -= 1
                    if self._pending == 0:
                        self.synced.set()
                async for ev, _ in self.cache.events(res.plural, revision):
                    if ev.type == "DELETED":
                        self.index.remove(res.plural, ev.obj)
                    else:
                        self.index.put(res.plural, ev.obj)
            except asyncio.CancelledError:
                raise
            except Compacted:
                log.info("%s: %s watch compacted; relisting", self.name, res.plural)
            except Exception as err:
                log.warning("%s: following %s failed (%s); relisting", self.name, res.plural, err)
                await asyncio.sleep(1)

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
