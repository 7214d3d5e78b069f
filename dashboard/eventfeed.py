"""Events for the page without a cache of them: a watch whose changes go straight to
the hub, which keeps only the views it shows (the newest few hundred).

An Informer would keep every Event the apiserver holds (an hour of them by default,
--event-ttl) as full objects, while the page shows 300: the dashboard's memory grew
with the cluster's history. This feed has the Informer's running surface (start,
stop, has_synced, wait_for_sync) so the hub drives it like the others, and hands each
list, change and deletion on without holding the objects.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from api.resources import EVENTS
from client.informer import wait_for_event_or_failure
from client.rest import ALL_NAMESPACES, AsyncClient
from client.watch import RELIST, Backoff, ResumableWatch

Obj = dict[str, Any]


class EventFeed:
    def __init__(
        self,
        api: AsyncClient,
        on_list: Callable[[list[Obj]], None],
        on_change: Callable[[Obj], None],
        on_delete: Callable[[Obj], None],
        backoff: Backoff | None = None,
    ) -> None:
        self.api = api
        self.on_list, self.on_change, self.on_delete = on_list, on_change, on_delete
        self.backoff = backoff
        self._synced = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @property
    def has_synced(self) -> bool:
        return self._synced.is_set()

    async def wait_for_sync(self, timeout: float | None = None) -> bool:
        """True once the first list went to the hub; the feed's error if it died."""
        return await wait_for_event_or_failure(self._synced, self._task, timeout)

    def start(self) -> asyncio.Task[None]:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.run(), name="dashboard-events")
        return self._task

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def run(self) -> None:
        watch = ResumableWatch(self.api, EVENTS, ALL_NAMESPACES, backoff=self.backoff)
        async for event_type, obj in watch:
            if event_type == RELIST:
                self.on_list(obj.get("items") or [])
                self._synced.set()
            elif event_type in ("ADDED", "MODIFIED"):
                self.on_change(obj)
            elif event_type == "DELETED":
                self.on_delete(obj)
            del obj  # (a list, say) not held until the next change
