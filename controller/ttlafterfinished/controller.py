"""The TTL-after-finished controller: deletes a finished Job once its
`ttlSecondsAfterFinished` has passed, as Kubernetes does: the Job is re-read before
deleting (its TTL may have changed), and deleted with Foreground propagation and a
uid precondition, so its pods go first and a namesake is never hit."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from api.errors import Conflict, NotFound
from api.resources import JOBS
from client.informer import split_key
from controller.ttlafterfinished.expiry import needs_cleanup, time_left
from controller.util.base import Context, Controller

log = logging.getLogger(__name__)

Obj = dict[str, Any]


class TTLAfterFinishedController(Controller):
    name = "ttl-after-finished"

    def __init__(self, ctx: Context, clock: Callable[[], float] = time.time) -> None:
        super().__init__(ctx)
        self.clock = clock
        self.job_informer = ctx.informers.informer(JOBS)
        self.job_informer.add_handler(self._changed, lambda _old, new: self._changed(new))
        self.watched = [self.job_informer]

    def _changed(self, job: Obj) -> None:
        if needs_cleanup(job):
            self.enqueue(job)

    async def reconcile(self, key: str) -> None:
        cached = self.job_informer.get(key)
        if cached is None or not await self._expired(key, cached):
            return
        namespace, name = split_key(key)
        try:
            fresh = await self.api.get(JOBS, name, namespace)
        except NotFound:
            return
        if not await self._expired(key, fresh):
            return
        uid = (fresh.get("metadata") or {}).get("uid")
        log.info("ttl-after-finished: deleting job %s", key)
        try:
            await self.api.delete(
                JOBS,
                name,
                namespace,
                propagation_policy="Foreground",
                preconditions={"uid": uid},
            )
        except (NotFound, Conflict):
            return

    async def _expired(self, key: str, job: Obj) -> bool:
        left = time_left(job, self.clock())
        if left is None:
            return False
        if left > 0:
            self.enqueue_after(key, left + 0.05)
            return False
        return True
