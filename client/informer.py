"""Informer: a local, watch-fed cache of one resource, with event handlers.

list → watch from the list's resourceVersion → cache keyed `namespace/name` →
`on_add(obj)`, `on_update(old, new)`, `on_delete(obj)`. After a 410 Gone it relists
and diffs the fresh list against the cache, so handlers see the adds, updates and
deletes they missed — never a gap, never a silent drop. Controllers read the cache
instead of the API server, and write back through the client.
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from api.resources import Resource
from client.rest import ALL_NAMESPACES, AsyncClient
from client.watch import RELIST, Backoff, ResumableWatch

log = logging.getLogger(__name__)

Obj = dict[str, Any]
Handler = Callable[..., Any]  # may be a plain function or a coroutine function


def key_of(obj: Obj) -> str:
    """`namespace/name`, or `name` for a cluster-scoped object (client-go's key)."""
    meta = obj.get("metadata") or {}
    ns, name = meta.get("namespace"), meta.get("name", "")
    return f"{ns}/{name}" if ns else name


def split_key(key: str) -> tuple[str | None, str]:
    ns, sep, name = key.partition("/")
    return (ns, name) if sep else (None, ns)


@dataclass
class Handlers:
    on_add: Handler | None = None
    on_update: Handler | None = None
    on_delete: Handler | None = None


class Informer:
    """Keeps `cache` equal to the server's objects that match the selectors."""

    def __init__(
        self,
        client: AsyncClient,
        res: Resource,
        namespace: str | None = ALL_NAMESPACES,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        on_add: Handler | None = None,
        on_update: Handler | None = None,
        on_delete: Handler | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.client = client
        self.res = res
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.backoff = backoff
        self._cache: dict[str, Obj] = {}
        self._handlers: list[Handlers] = []
        self._synced = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._replays: set[asyncio.Task[None]] = set()
        self.resource_version: str | None = None
        if on_add or on_update or on_delete:
            self.add_handler(on_add, on_update, on_delete)

    # ---- reading the cache -------------------------------------------------------
    @property
    def has_synced(self) -> bool:
        return self._synced.is_set()

    async def wait_for_sync(self, timeout: float | None = None) -> bool:
        """True once the first list is in the cache; False on timeout. If the informer
        has died (e.g. 401 Unauthorized) its error is raised instead of waiting forever."""
        return await wait_for_event_or_failure(self._synced, self._task, timeout)

    def get(self, key: str) -> Obj | None:
        return self._cache.get(key)

    def get_by_name(self, name: str, namespace: str | None = None) -> Obj | None:
        return self._cache.get(f"{namespace}/{name}" if namespace else name)

    def list(self) -> list[Obj]:
        return list(self._cache.values())

    def keys(self) -> builtins.list[str]:
        return list(self._cache)

    def __len__(self) -> int:
        return len(self._cache)

    # ---- handlers ----------------------------------------------------------------
    def add_handler(
        self,
        on_add: Handler | None = None,
        on_update: Handler | None = None,
        on_delete: Handler | None = None,
    ) -> None:
        """Register handlers; once synced, the new `on_add` is replayed the current cache
        in the background, as client-go does, so late handlers see every object."""
        handlers = Handlers(on_add, on_update, on_delete)
        self._handlers.append(handlers)
        if self.has_synced and on_add:
            objs = self.list()

            async def replay() -> None:
                for obj in objs:
                    try:
                        await _call(on_add, obj)
                    except Exception:
                        log.exception("informer %s: add handler failed", self.res.plural)

            task = asyncio.get_running_loop().create_task(replay())
            self._replays.add(task)  # hold a reference until it is done
            task.add_done_callback(self._replays.discard)

    # ---- running -----------------------------------------------------------------
    def start(self) -> asyncio.Task[None]:
        """Run in the background (idempotent); returns the task."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self.run(), name=f"informer-{self.res.plural}"
            )
        return self._task

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run(self) -> None:
        """List, then watch forever, keeping the cache and calling handlers."""
        watch = ResumableWatch(
            self.client,
            self.res,
            self.namespace,
            label_selector=self.label_selector,
            field_selector=self.field_selector,
            backoff=self.backoff,
        )
        async for event_type, obj in watch:
            if event_type == RELIST:
                await self._replace(obj.get("items") or [])
                self._synced.set()
            elif event_type in ("ADDED", "MODIFIED"):
                await self._upsert(obj)
            elif event_type == "DELETED":
                await self._remove(obj)
            self.resource_version = watch.resource_version

    async def _replace(self, items: builtins.list[Obj]) -> None:
        """Swap in a fresh list, telling handlers what changed since the cache."""
        fresh = {key_of(o): o for o in items}
        for key in [k for k in self._cache if k not in fresh]:
            await self._dispatch("delete", self._cache.pop(key))
        for key, obj in fresh.items():
            await self._upsert(obj, key)

    async def _upsert(self, obj: Obj, key: str | None = None) -> None:
        key = key or key_of(obj)
        old = self._cache.get(key)
        self._cache[key] = obj
        if old is None:
            await self._dispatch("add", obj)
        elif _rv(old) != _rv(obj) or not _rv(obj):
            await self._dispatch("update", old, obj)

    async def _remove(self, obj: Obj) -> None:
        old = self._cache.pop(key_of(obj), None)
        if old is not None:
            await self._dispatch("delete", obj)

    async def _dispatch(self, what: str, *args: Obj) -> None:
        for h in list(self._handlers):
            fn = {"add": h.on_add, "update": h.on_update, "delete": h.on_delete}[what]
            if fn is not None:
                try:
                    await _call(fn, *args)
                except Exception:  # a handler's bug must not stop the cache
                    log.exception("informer %s: %s handler failed", self.res.plural, what)


async def _call(fn: Handler, *args: Any) -> None:
    result = fn(*args)
    if inspect.isawaitable(result):
        await result


def _rv(obj: Obj) -> str | None:
    return (obj.get("metadata") or {}).get("resourceVersion")


async def wait_for_event_or_failure(
    event: asyncio.Event, task: asyncio.Task[Any] | None, timeout: float | None
) -> bool:
    """True once `event` is set; False on timeout. If `task` (what sets it) has died,
    its error is raised instead of waiting forever."""
    waited = asyncio.ensure_future(event.wait())
    waiting: set[asyncio.Future[Any]] = {waited}
    if task is not None:
        waiting.add(task)
    try:
        await asyncio.wait(waiting, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waited.cancel()
    if event.is_set():
        return True
    if task is not None and task.done() and not task.cancelled():
        task.result()  # raises its error
    return False
