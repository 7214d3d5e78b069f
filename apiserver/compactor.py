"""etcd history compaction, as kube-apiserver does it every --etcd-compaction-interval
(5 minutes): each turn compacts to the revision seen one turn earlier, so watchers keep
at least one interval of history to resume from, and etcd's history (which otherwise
grows until its space quota refuses every write) stays bounded. Several apiservers
share the work through a compare-and-swap on one key (see Storage.compact_turn)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from apiserver.storage import Storage

log = logging.getLogger(__name__)


class Compactor:
    def __init__(self, storage: Storage, interval: float) -> None:
        self.storage = storage
        self.interval = interval
        self._task: asyncio.Task | None = None

    def start(self) -> None:
        if self.interval > 0 and self._task is None:
            self._task = asyncio.create_task(self._run(), name="etcd compactor")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        version, revision = 0, 0
        while True:
            try:
                compacted = revision
                version, revision = await self.storage.compact_turn(version, revision)
                if compacted:
                    log.debug("compacted etcd history up to revision %d", compacted)
            except asyncio.CancelledError:
                raise
            except Exception as err:  # etcd away or already compacted further: next turn
                log.warning("etcd compaction failed: %s", err)
            await asyncio.sleep(self.interval)
