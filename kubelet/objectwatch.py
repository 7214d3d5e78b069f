"""The ConfigMaps and Secrets the pods of this node use, each watched on its own, as
Kubernetes' kubelet does with its default "Watch" change-detection strategy: a
list+watch of one name (`fieldSelector=metadata.name=<name>` in its namespace),
started with the first pod that refers to the object and stopped with the last.
So a kubelet reads only what its pods use, which is all the Node authorizer lets it
read; a change to a watched object calls `on_change(kind, object)`."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from api.resources import CONFIGMAPS, SECRETS
from client.informer import Informer
from client.rest import AsyncClient

Obj = dict[str, Any]
Key = tuple[str, str, str]  # (kind, namespace, name)
KINDS = {"ConfigMap": CONFIGMAPS, "Secret": SECRETS}


class ObjectWatches:
    def __init__(self, api: AsyncClient, on_change: Callable[[str, Obj], None]) -> None:
        self.api = api
        self.on_change = on_change
        self.watches: dict[Key, Informer] = {}
        self.users: dict[Key, set[str]] = {}  # object -> uids of the pods using it
        self.used_by: dict[str, set[Key]] = {}  # pod uid -> objects it uses
        self._stopping: set[asyncio.Task[None]] = set()

    def track(self, uid: str, namespace: str, refs: set[tuple[str, str]]) -> None:
        """Pod `uid` now uses `refs` ((kind, name) in its namespace); other kinds are
        ignored. Watches start for new objects and stop for ones nobody uses now."""
        wanted = {(kind, namespace, name) for kind, name in refs if kind in KINDS}
        before = self.used_by.get(uid, set())
        for key in wanted - before:
            self.users.setdefault(key, set()).add(uid)
            if key not in self.watches:
                self._start(key)
        for key in before - wanted:
            self._release(key, uid)
        if wanted:
            self.used_by[uid] = wanted
        else:
            self.used_by.pop(uid, None)

    def untrack(self, uid: str) -> None:
        for key in self.used_by.pop(uid, set()):
            self._release(key, uid)

    def cached(self, kind: str, namespace: str, name: str) -> Obj | None:
        """The watched object, if its watch has it (None: unknown or not yet listed)."""
        watch = self.watches.get((kind, namespace, name))
        return watch.get_by_name(name, namespace) if watch is not None else None

    def _start(self, key: Key) -> None:
        kind, namespace, name = key

        def changed(obj: Obj) -> None:
            self.on_change(kind, obj)

        watch = Informer(
            self.api,
            KINDS[kind],
            namespace,
            field_selector=f"metadata.name={name}",
            on_add=changed,
            on_update=lambda _old, obj: changed(obj),
            on_delete=changed,
        )
        self.watches[key] = watch
        watch.start()

    def _release(self, key: Key, uid: str) -> None:
        users = self.users.get(key)
        if users is None:
            return
        users.discard(uid)
        if users:
            return
        del self.users[key]
        watch = self.watches.pop(key, None)
        if watch is not None:
            task = asyncio.get_running_loop().create_task(watch.stop())
            self._stopping.add(task)
            task.add_done_callback(self._stopping.discard)

    async def stop(self) -> None:
        watches, self.watches = list(self.watches.values()), {}
        for watch in watches:
            with contextlib.suppress(Exception):
                await watch.stop()
        for task in list(self._stopping):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
