"""The pod lifecycle event generator: Docker's state, relisted, as a cache.

Every 5 s while Docker's event stream is open, every second while it is not — and
at once when Docker reports that one of this node's containers vanished (its event
stream; the periodic relist stays as the safety net, as in Kubernetes' evented PLEG,
whose relist is every 300 s) — one `docker ps -a` (filtered by this node's label) is
compared with the cache; only containers that appeared or changed state are
inspected, and the pods they belong to are woken up. A container Docker reports
dead is known at once from the event itself (its exit code and time), with no
inspect and no relist. Pod workers read the cache
instead of asking Docker, and refresh the containers they have just acted on, so a
sync always sees what it did.

A container about to be started is cached as running before the start call (from
what the pod worker knows of it), and the worker then waits for its inspect or its
end, whichever Docker reports first: Docker answers the inspect of a container that
already ended (a Job pod's `true`) only once it has torn the container down, ~0.6 s
under load, while its `die` event comes before that.

Relists and refreshes inspect concurrently, so their answers can arrive out of
order. Each record is stamped with the moment its inspect began (`updated`), and the
cache never replaces a record with an older one, nor revives a container dropped
after that moment: a relist that inspected a container just before a pod worker
started it cannot put the stale "created" back and make the worker start a second
one. A relist never drops a record stamped after it began (it may postdate the list),
so a container just created is not forgotten for a moment.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

from kubelet import metrics
from kubelet.dockerlabels import node_filter
from kubelet.records import EXITED, ContainerRecord, PodRuntime, from_inspect
from kubelet.runtime import DockerRuntime, RuntimeFailure
from kubelet.volumes import read_termination_message

log = logging.getLogger(__name__)

RELIST_PERIOD = 1.0  # seconds, while Docker's event stream is not open
# While it is, a relist only catches what its events missed (Docker drops events for a
# subscriber that falls behind): an idle node's `docker ps -a` every second was about
# half of its kubelet's CPU.
EVENTED_RELIST_PERIOD = 5.0
EVENT_COALESCE = 0.05  # seconds: a burst of events (5 kills at once) is one relist
EVENTS_RETRY = 2.0  # seconds before reopening Docker's event stream after it failed
# What the kubelet did not do itself: its own creates and starts are refreshed by
# the pod worker that made them.
WAKING_EVENTS = ["die", "oom", "destroy"]
# A `start` event wakes nobody: its time is the StartedAt of a container whose end
# is then known from its `die` event alone.
EVENTS = [*WAKING_EVENTS, "start"]
STARTS_REMEMBERED = 4096
# Seconds a worker that just started a container waits for its `start` event before
# asking Docker (inspect) instead; Docker sends the event before it answers the start.
START_EVENT_WAIT = 0.5
UNHEALTHY_AFTER = 180.0  # Kubernetes: a PLEG that has not relisted for 3 min is unhealthy
FALLBACK_LOG_LINES = 80
FALLBACK_LOG_BYTES = 2048


class RuntimeCache:
    """This node's containers as last seen, by id."""

    def __init__(self) -> None:
        self.records: dict[str, ContainerRecord] = {}
        self.listed_state: dict[str, str] = {}  # id → Docker's State in the last list
        self.dropped: dict[str, float] = {}  # id → when it was dropped (monotonic)

    def pod(self, uid: str) -> PodRuntime:
        return PodRuntime.of(uid, [r for r in self.records.values() if r.pod_uid == uid])

    def pod_uids(self) -> set[str]:
        return {r.pod_uid for r in self.records.values()}

    def get(self, container_id: str) -> ContainerRecord | None:
        return self.records.get(container_id)

    def newer(self, record: ContainerRecord) -> bool:
        """Whether the record was read after everything the cache knows of it."""
        old = self.records.get(record.id)
        if old is not None and record.updated < old.updated:
            return False
        return record.updated >= self.dropped.get(record.id, float("-inf"))

    def upsert(self, record: ContainerRecord) -> bool:
        """Store a record unless it is older than what the cache has; True if that
        changed the cache."""
        if not self.newer(record):
            return False
        old = self.records.get(record.id)
        self.records[record.id] = record
        self.dropped.pop(record.id, None)
        return old != record

    def drop(self, container_id: str) -> ContainerRecord | None:
        self.listed_state.pop(container_id, None)
        self.dropped[container_id] = time.monotonic()
        return self.records.pop(container_id, None)

    def forget_dropped(self, before: float, listed: Iterable[str]) -> None:
        """Tombstones are needed only while an older inspect may still be answered."""
        keep = set(listed)
        for cid, when in list(self.dropped.items()):
            if when < before and cid not in keep:
                del self.dropped[cid]


class Pleg:
    def __init__(
        self,
        runtime: DockerRuntime,
        cache: RuntimeCache,
        node: str,
        network: str,
        on_change: Callable[[set[str]], None],
        period: float = RELIST_PERIOD,
        on_recovered: Callable[[], None] | None = None,
        evented_period: float = EVENTED_RELIST_PERIOD,
    ) -> None:
        self.runtime = runtime
        self.on_recovered = on_recovered  # the runtime answers again after failing
        self.cache = cache
        self.node = node
        self.network = network
        self.on_change = on_change
        self.period = period
        self.evented_period = evented_period
        self.events_open = False  # Docker's event stream is open: the longer period
        self.last_relist: float | None = None  # monotonic time of the last good relist
        self.last_error: str = ""
        self._poked = asyncio.Event()
        self._event_tasks: set[asyncio.Task[None]] = set()
        self._oom_killed: set[str] = set()  # ids with an `oom` event, until they are gone
        self._started_at: dict[str, float] = {}  # id → its `start` event's time
        self._end_waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._start_waiters: dict[str, list[asyncio.Future[None]]] = {}
        self._background: set[asyncio.Task[set[str]]] = set()

    def healthy(self) -> bool:
        last = self.last_relist
        return last is not None and time.monotonic() - last < UNHEALTHY_AFTER

    async def relist(self) -> set[str]:
        """One relist; returns the uids of pods whose containers changed."""
        began = time.monotonic()
        summaries = await self.runtime.list_containers(node_filter(self.node))
        listed = {s["Id"]: s.get("State") or "" for s in summaries}
        stale = [
            cid
            for cid, state in listed.items()
            if cid not in self.cache.records or self.cache.listed_state.get(cid) != state
        ]
        changed: set[str] = set()
        if stale:
            loaded = await asyncio.gather(*(self._load(cid) for cid in stale))
            for cid, (record, _) in zip(stale, loaded, strict=True):
                if record is None or not self.cache.newer(record):
                    continue  # gone, or a pod worker has read it since
                self.cache.listed_state[cid] = listed[cid]
                if self.cache.upsert(record):
                    changed.add(record.pod_uid)
        for cid in [c for c in self.cache.records if c not in listed]:
            record = self.cache.records[cid]
            if record.updated < began:
                self.cache.drop(cid)
                changed.add(record.pod_uid)
        self.cache.forget_dropped(began, listed)
        self._oom_killed.intersection_update(listed.keys() | self.cache.records.keys())
        self.last_relist = time.monotonic()
        if self.last_error:
            log.info("container runtime is back (it failed: %s)", self.last_error)
            self.last_error = ""
            if self.on_recovered is not None:
                self.on_recovered()
        return changed

    def runtime_down(self) -> str:
        """Why the node is not Ready because of its runtime, or "" (kubelet's
        runtime-status check: the last relist failed, or none succeeded for 3 min)."""
        if self.last_error:
            return f"container runtime is down: {self.last_error}"
        if self.last_relist is None:
            return "container runtime is down: not relisted yet"
        if not self.healthy():
            ago = time.monotonic() - self.last_relist
            return (
                f"PLEG is not healthy: pleg was last seen active {ago:.0f}s ago; "
                f"threshold is {UNHEALTHY_AFTER:.0f}s"
            )
        return ""

    async def refresh(self, container_ids: Iterable[str]) -> set[str]:
        """Re-inspect some containers now (after acting on them)."""
        ids = list(dict.fromkeys(container_ids))
        changed: set[str] = set()
        loaded = await asyncio.gather(*(self._load(cid) for cid in ids))
        for cid, (record, docker_state) in zip(ids, loaded, strict=True):
            if record is None:
                old = self.cache.drop(cid)
                if old is not None:
                    changed.add(old.pod_uid)
                continue
            # What `docker ps` will say: the next relist need not inspect it again.
            self.cache.listed_state[cid] = docker_state
            if self.cache.upsert(record):
                changed.add(record.pod_uid)
        return changed

    def starting(self, record: ContainerRecord) -> None:
        """A container about to be started, cached as running (stamped before the
        start call: any inspect or event after it wins). Its `die` event can then be
        read from the cache alone, however early it comes."""
        self.cache.upsert(record)

    async def refresh_started(self, container_id: str, ip: str | None = None) -> None:
        """After a start: return once the container's inspect is answered or its end
        is in the cache, whichever comes first. An inspect still pending lands
        later, and only where it is newer than what the cache holds.

        `ip`: what the worker knows of the container's address (a solo container's
        fixed pod IP; "" for one that joined a sandbox, which has none of its own).
        Then Docker's `start` event completes the record (its time is the container's
        start) and nothing is inspected: under a burst of starts an inspect queues
        behind the other pods' creates and starts, and the pod's Running waited for
        it. Without the event in START_EVENT_WAIT, the inspect as above."""
        if (record := self.cache.get(container_id)) is not None and record.exited:
            return
        if ip is not None and await self._started_from_event(container_id, ip):
            return
        loop = asyncio.get_running_loop()
        ended: asyncio.Future[None] = loop.create_future()
        self._end_waiters.setdefault(container_id, []).append(ended)
        inspect = loop.create_task(self.refresh([container_id]))
        try:
            either: set[asyncio.Future[Any]] = {inspect, ended}
            await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        finally:
            waiters = self._end_waiters.get(container_id, [])
            if ended in waiters:
                waiters.remove(ended)
            if not waiters:
                self._end_waiters.pop(container_id, None)
            if not inspect.done():
                self._background.add(inspect)
                inspect.add_done_callback(self._background_done)
        if inspect.done():
            inspect.result()

    async def _started_from_event(self, container_id: str, ip: str) -> bool:
        """Complete a just-started container's record from its `start` event (or its
        end); False when neither came in time, or the record is not ours to complete."""
        if container_id not in self._started_at:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._start_waiters.setdefault(container_id, []).append(waiter)
            try:
                await asyncio.wait_for(asyncio.shield(waiter), START_EVENT_WAIT)
            except TimeoutError:
                pass
            finally:
                waiters = self._start_waiters.get(container_id, [])
                if waiter in waiters:
                    waiters.remove(waiter)
                if not waiters:
                    self._start_waiters.pop(container_id, None)
        record = self.cache.get(container_id)
        if record is not None and record.exited:
            return True  # its `die` event came first and said it all
        started = self._started_at.get(container_id)
        if record is None or not record.running or started is None:
            return False
        if record.started_at is None or (ip and not record.ip):
            completed = replace(
                record,
                started_at=record.started_at or started,
                ip=record.ip or ip,
                updated=time.monotonic(),
            )
            if self.cache.upsert(completed):
                self.cache.listed_state[container_id] = "running"  # as `docker ps` says
        return True

    def _wake_start_waiters(self, container_id: str) -> None:
        for waiter in self._start_waiters.pop(container_id, []):
            if not waiter.done():
                waiter.set_result(None)

    def _background_done(self, task: asyncio.Task[set[str]]) -> None:
        self._background.discard(task)
        if task.cancelled():
            return
        error = task.exception()
        if error is not None:
            log.warning("inspect after a start: %s", error)
            self.poke()  # the relist is the safety net
        elif changed := task.result():
            self.on_change(changed)

    def _ended(self, container_id: str) -> None:
        self._wake_start_waiters(container_id)
        for waiter in self._end_waiters.pop(container_id, []):
            if not waiter.done():
                waiter.set_result(None)

    async def _load(self, container_id: str) -> tuple[ContainerRecord | None, str]:
        """The container's record and Docker's state word for it (as `docker ps`)."""
        began = time.monotonic()
        try:
            data = await self.runtime.inspect(container_id)
        except RuntimeFailure as err:
            log.warning("inspect %s: %s", container_id[:12], err)
            return None, ""
        if data is None:
            return None, ""
        docker_state = (data.get("State") or {}).get("Status") or ""
        record = from_inspect(data, self.network)
        if record is not None:
            oom_killed = record.oom_killed or container_id in self._oom_killed
            record = replace(record, updated=began, oom_killed=oom_killed)
        if record is None or record.state != EXITED or record.sandbox:
            return record, docker_state
        old = self.cache.get(container_id)
        if old is not None and old.exited and old.finished_at == record.finished_at:
            message = old.message
        else:
            message = await self._termination_message(record)
        return _with_message(record, message), docker_state

    async def _termination_message(self, record: ContainerRecord) -> str:
        message = read_termination_message(record.termination_log)
        if message or record.message_policy != "FallbackToLogsOnError" or record.exit_code == 0:
            return message
        try:
            chunks = [
                chunk async for chunk in self.runtime.logs(record.id, tail=FALLBACK_LOG_LINES)
            ]
        except RuntimeFailure:
            return ""
        return b"".join(chunks)[-FALLBACK_LOG_BYTES:].decode(errors="replace")

    def poke(self) -> None:
        """Relist now rather than at the next period."""
        self._poked.set()

    async def relist_once(self) -> None:
        """A relist whose failure is recorded (the node's runtime condition), not raised."""
        began = time.perf_counter()
        try:
            changed = await self.relist()
            if changed:
                self.on_change(changed)
        except RuntimeFailure as err:
            self.last_error = str(err)
            log.warning("relist failed: %s", err)
        except Exception as err:
            self.last_error = str(err) or type(err).__name__
            log.exception("relist failed")
        finally:
            metrics.PLEG_RELIST.observe(time.perf_counter() - began)

    async def run(self) -> None:
        """Relist forever, waking the pods that changed."""
        while True:
            await self.relist_once()
            period = self.evented_period if self.events_open else self.period
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poked.wait(), period)
            if self._poked.is_set():
                await asyncio.sleep(EVENT_COALESCE)
                self._poked.clear()

    async def watch_events(self) -> None:
        """Act whenever Docker reports one of this node's containers died, was
        OOM-killed or removed (by anyone: `docker kill`, a crash, or simply its end)."""
        filters = {**node_filter(self.node), "type": ["container"], "event": EVENTS}
        while True:
            try:
                async for event in self.runtime.events(filters, on_open=self._events_opened):
                    self._on_event(event)
            except RuntimeFailure as err:
                log.warning("docker events: %s; relisting every %.0fs meanwhile", err, self.period)
            self.events_open = False
            self.poke()  # what the stream's end hid, and the shorter period from now
            await asyncio.sleep(EVENTS_RETRY)

    def _events_opened(self) -> None:
        """Docker sends every event from now on: relist once for what happened
        before, then only as the safety net."""
        self.events_open = True
        self.poke()

    def _on_event(self, event: dict[str, Any]) -> None:
        """A container that died is inspected at once, alone (as Kubernetes' evented
        PLEG acts on the event's container): no `docker ps` of the whole node stands
        between a container's end and its pod's status. One that vanished needs the
        relist, which notices what is gone."""
        action = event.get("Action") or event.get("status") or ""
        cid = event.get("id") or (event.get("Actor") or {}).get("ID") or ""
        if action == "start":
            if cid and event.get("timeNano"):
                self._remember_start(cid, int(event["timeNano"]) / 1e9)
            return
        if action not in ("die", "oom") or not cid:
            self.poke()
            return
        if action == "oom":
            self._oom_killed.add(cid)
            if self._oom_after_end(cid):
                return
        task = asyncio.get_running_loop().create_task(self._container_ended(cid, action, event))
        self._event_tasks.add(task)
        task.add_done_callback(self._event_tasks.discard)

    async def _container_ended(self, container_id: str, action: str, event: dict[str, Any]) -> None:
        """The record of a container that died, from the event itself when the cache
        knows it running: Docker answers an inspect of a container that just exited
        only once it has torn the container down (its network endpoint too), ~0.8 s
        under load on this machine, while the event already says how it ended."""
        try:
            record = self._died(container_id, event) if action == "die" else None
            if record is None:
                changed = await self.refresh([container_id])
            else:
                record = _with_message(record, await self._termination_message(record))
                self.cache.listed_state[container_id] = "exited"  # as `docker ps` says
                changed = {record.pod_uid} if self.cache.upsert(record) else set()
        except Exception:
            log.exception("reading %s after its %s event", container_id[:12], action)
            self.poke()
            return
        if action == "die":
            self._ended(container_id)
        if changed:
            self.on_change(changed)

    def _oom_after_end(self, container_id: str) -> bool:
        """An `oom` event after the container's `die`: containerd can publish the
        exit before the OOM (two watchers), and Docker then never sets OOMKilled.
        Kubernetes' runtime marks the container OOM-killed whenever the event comes,
        so the cached end is amended and the pod woken. False when the cache has no
        ended record of it (an inspect decides, with the mark applied)."""
        old = self.cache.get(container_id)
        if old is None or not old.exited:
            return False
        if not old.oom_killed:
            amended = replace(old, oom_killed=True, updated=time.monotonic())
            if self.cache.upsert(amended):
                self.on_change({amended.pod_uid})
        return True

    def _remember_start(self, container_id: str, at: float) -> None:
        self._started_at[container_id] = at
        while len(self._started_at) > STARTS_REMEMBERED:
            del self._started_at[next(iter(self._started_at))]
        self._wake_start_waiters(container_id)

    def _died(self, container_id: str, event: dict[str, Any]) -> ContainerRecord | None:
        """The cached running record, ended as the `die` event says; None when the
        cache has no running record of it (then it is inspected)."""
        started = self._started_at.pop(container_id, None)
        old = self.cache.get(container_id)
        attributes = (event.get("Actor") or {}).get("Attributes") or {}
        code = attributes.get("exitCode")
        if old is None or not old.running or code is None or not str(code).isdigit():
            return None
        nanos = event.get("timeNano")
        finished = int(nanos) / 1e9 if nanos else time.time()
        return replace(
            old,
            started_at=old.started_at if old.started_at is not None else started,
            state=EXITED,
            exit_code=int(code),
            oom_killed=container_id in self._oom_killed or old.oom_killed,
            finished_at=finished,
            updated=time.monotonic(),
        )


def _with_message(record: ContainerRecord, message: str) -> ContainerRecord:
    return record if message == record.message else replace(record, message=message)
