"""Leader election through a Lease (client-go's leaderelection with a LeaseLock).

Several copies of a component (controller manager, scheduler) run; only the holder
of the Lease acts. A candidate takes the Lease when it is free or has not been renewed
for its `leaseDurationSeconds`, measured on the candidate's own clock from when it
last saw the Lease change (so clocks need not agree). Every write is conditional on
the resourceVersion read just before, so two candidates never both win. The leader
renews every `retry_period`; if it cannot renew within `renew_deadline` it has lost
the Lease and must stop acting at once — Kubernetes components exit.

    elector = LeaderElector(api, "kube-system", "kube-scheduler", identity)
    await elector.run(start_scheduling, on_stopped_leading=exit_now)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from api.errors import ApiError, NotFound
from api.resources import LEASES
from client.rest import AsyncClient

log = logging.getLogger(__name__)

JITTER_FACTOR = 1.2


def _micro_time() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    """Campaigns for one Lease and runs a callback while holding it."""

    def __init__(
        self,
        api: AsyncClient,
        namespace: str,
        name: str,
        identity: str,
        lease_duration: float = 15.0,
        renew_deadline: float = 10.0,
        retry_period: float = 2.0,
        release_on_cancel: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not lease_duration > renew_deadline > retry_period * JITTER_FACTOR:
            raise ValueError(
                "need lease_duration > renew_deadline > retry_period * 1.2 "
                f"(got {lease_duration}, {renew_deadline}, {retry_period})"
            )
        self.api = api
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.lease_duration = lease_duration
        self.renew_deadline = renew_deadline
        self.retry_period = retry_period
        self.release_on_cancel = release_on_cancel
        self.clock = clock
        self._observed: dict[str, Any] = {}  # the Lease spec we last saw
        self._observed_at = 0.0  # when it last changed, on our clock

    @property
    def holder(self) -> str:
        """Who holds the Lease, as last observed ("" for nobody)."""
        return self._observed.get("holderIdentity") or ""

    @property
    def is_leader(self) -> bool:
        return self.holder == self.identity

    # ---- the campaign ----------------------------------------------------------
    async def run(
        self,
        on_started_leading: Callable[[], Coroutine[Any, Any, object]],
        on_stopped_leading: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        """Wait to become leader, then run `on_started_leading` while renewing. If the
        Lease is lost, the callback is cancelled and `on_stopped_leading` runs; if the
        callback ends (or this is cancelled), the Lease is released."""
        await self._acquire()
        leading = asyncio.create_task(on_started_leading(), name=f"leading-{self.name}")
        renewing = asyncio.create_task(self._keep_renewing(), name=f"renew-{self.name}")
        try:
            done, _ = await asyncio.wait({leading, renewing}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            await self._stop(leading, renewing, release=self.release_on_cancel)
            raise
        if renewing in done:
            log.error("lost lease %s/%s", self.namespace, self.name)
            leading.cancel()
            if on_stopped_leading is not None:
                await on_stopped_leading()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await leading
            return
        await self._stop(leading, renewing, release=True)
        leading.result()

    async def _stop(self, leading: asyncio.Task, renewing: asyncio.Task, release: bool) -> None:
        for task in (leading, renewing):
            task.cancel()
        for task in (leading, renewing):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if release:
            await self.release()

    async def _acquire(self) -> None:
        log.info("attempting to acquire lease %s/%s as %s", self.namespace, self.name,
                 self.identity)  # fmt: skip
        while not await self._try(self.renew_deadline):
            delay = self.retry_period * (1 + random.random() * JITTER_FACTOR)
            await asyncio.sleep(delay)
        log.info("acquired lease %s/%s as %s", self.namespace, self.name, self.identity)

    async def _keep_renewing(self) -> None:
        """Returns when the Lease could not be renewed within the renew deadline."""
        while True:
            deadline = self.clock() + self.renew_deadline
            while True:
                remaining = deadline - self.clock()
                if remaining <= 0:
                    return
                if await self._try(remaining):
                    break
                await asyncio.sleep(min(self.retry_period, max(0.0, deadline - self.clock())))
            await asyncio.sleep(self.retry_period)

    async def _try(self, timeout: float) -> bool:
        try:
            return await asyncio.wait_for(self.try_acquire_or_renew(), timeout)
        except (TimeoutError, ApiError) as err:
            log.info("lease %s/%s: %s", self.namespace, self.name, err or "timed out")
            return False

    # ---- one attempt -----------------------------------------------------------
    async def try_acquire_or_renew(self) -> bool:
        """One read and at most one conditional write; True when we hold the Lease."""
        now_text = _micro_time()
        record = {
            "holderIdentity": self.identity,
            "leaseDurationSeconds": max(1, int(self.lease_duration)),
            "acquireTime": now_text,
            "renewTime": now_text,
            "leaseTransitions": 0,
        }
        try:
            lease = await self.api.get(LEASES, self.name, self.namespace)
        except NotFound:
            body = {
                "apiVersion": LEASES.api_version,
                "kind": LEASES.kind,
                "metadata": {"name": self.name, "namespace": self.namespace},
                "spec": record,
            }
            await self.api.create(LEASES, body, self.namespace)
            self._saw(record)
            return True
        spec = lease.get("spec") or {}
        if spec != self._observed:
            self._saw(spec)
        if self.holder and self.holder != self.identity and self._valid():
            return False
        if self.is_leader:
            record["acquireTime"] = spec.get("acquireTime") or now_text
            record["leaseTransitions"] = int(spec.get("leaseTransitions") or 0)
        else:
            record["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + 1
        written = {**spec, **record}
        await self.api.update(LEASES, {**lease, "spec": written})
        self._saw(written)
        return True

    async def release(self) -> None:
        """Give the Lease up (holder cleared, 1 s duration) so a successor need not wait."""
        if not self.is_leader:
            return
        try:
            lease = await self.api.get(LEASES, self.name, self.namespace)
            spec = lease.get("spec") or {}
            if spec.get("holderIdentity") != self.identity:
                return
            now_text = _micro_time()
            released = {
                **spec,
                "holderIdentity": "",
                "leaseDurationSeconds": 1,
                "acquireTime": now_text,
                "renewTime": now_text,
            }
            await self.api.update(LEASES, {**lease, "spec": released})
            self._saw(released)
            log.info("released lease %s/%s", self.namespace, self.name)
        except ApiError as err:
            log.info("could not release lease %s/%s: %s", self.namespace, self.name, err)

    def _saw(self, spec: dict[str, Any]) -> None:
        self._observed = dict(spec)
        self._observed_at = self.clock()

    def _valid(self) -> bool:
        duration = int(self._observed.get("leaseDurationSeconds") or 0)
        return self._observed_at + duration > self.clock()
