"""One etcd watch per resource, fanned out to every HTTP watcher.

Each resource keeps a window of its most recent changes. A watcher that starts at a
revision inside the window is served from it and then live; one that starts before
the window (e.g. a client resuming after an apiserver restart) gets its own etcd
watch from that revision, so it sees etcd's full history with no gap, or a 410 when
that history has been compacted.

Pods' watchers are indexed by the spec.nodeName their field selector pins (Kubernetes'
cacher "trigger"): a change reaches the watchers of the node it was on and the node it
is on, and the watchers without that pin, not every kubelet of the cluster. Without
the index each change woke all N kubelets' watches to be filtered out there: 1,000
nodes made every pod write cost the apiserver ~1,000 wake-ups."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import weakref
from collections import deque
from collections.abc import AsyncIterator, Callable

from api.fields import Getter, selectable_fields
from apiserver.meta import namespaced_name
from apiserver.storage import Compacted, Storage, UnreadableEvent, WatchEvent, prefix_key

log = logging.getLogger(__name__)

# The changes kept per resource: always the last WINDOW, and those younger than
# FRESH_SECONDS (Kubernetes' watch cache keeps 75 s of history, eventFreshDuration) up
# to MAX_WINDOW. A burst of writes must not push out the revision an informer listed
# at before its watch starts: every such watcher would replay etcd's history alone.
WINDOW = 2000
FRESH_SECONDS = 75.0
MAX_WINDOW = 20000
QUEUE_LIMIT = 20000  # a watcher this far behind is closed (it resumes from its last RV)


# The field whose exact value in a watcher's field selector indexes it, by stored
# resource: Kubernetes' triggers (pods by node, what every kubelet selects on).
TRIGGER_FIELDS = {"pods": "spec.nodeName"}


class WatcherTooSlow(Exception):
    pass


def trigger_field(plural: str) -> str | None:
    return TRIGGER_FIELDS.get(plural)


class Snapshot:
    """The objects under one prefix at one revision, shared by every watcher that
    starts from "now" (resourceVersion unset or 0) while any of them still sends it:
    300 such watchers hold one list, not 300. `lines` keeps each item's encoded
    event per encoding, so a shared encoding is done once too. Read-only."""

    __slots__ = ("__weakref__", "items", "lines", "revision")

    def __init__(self, items: list[dict], revision: int) -> None:
        self.items = items
        self.revision = revision
        self.lines: dict[str, list[bytes | None]] = {}

    def line(self, i: int, encoding: str | None, encode: Callable[[dict], bytes]) -> bytes:
        """encode(items[i]), remembered under `encoding` (None: not shared)."""
        if encoding is None:
            return encode(self.items[i])
        lines = self.lines.get(encoding)
        if lines is None:
            lines = self.lines[encoding] = [None] * len(self.items)
        line = lines[i]
        if line is None:
            line = lines[i] = encode(self.items[i])
        return line


class Subscription:
    """A watcher's view of the shared stream: a queue of events after its start.
    `trigger` is the trigger field's value it selects on (None: every change)."""

    def __init__(self, shared: SharedWatch, backlog: list[WatchEvent], trigger: str | None) -> None:
        self._shared = shared
        self.trigger = trigger
        self.queue: asyncio.Queue[WatchEvent | Exception] = asyncio.Queue()
        for ev in backlog:
            self.queue.put_nowait(ev)

    def push(self, item: WatchEvent | Exception) -> None:
        if self.queue.qsize() >= QUEUE_LIMIT:
            self._shared.unsubscribe(self)
            self.queue.put_nowait(WatcherTooSlow())
            return
        self.queue.put_nowait(item)

    @property
    def progress(self) -> int:
        """The newest revision the shared stream has seen (events or not for us)."""
        return self._shared.progress

    def close(self) -> None:
        self._shared.unsubscribe(self)


class SharedWatch:
    """The single etcd watch of one resource prefix."""

    def __init__(self, storage: Storage, plural: str) -> None:
        self._storage = storage
        self._prefix = prefix_key(plural)
        self._window: deque[WatchEvent] = deque()
        self._recorded: deque[float] = deque()  # when each change of the window came
        self._latest: dict[tuple[str, str], dict] = {}  # each key's newest object in it
        self._subscribers: set[Subscription] = set()  # every change, whatever its value
        self._by_value: dict[str, set[Subscription]] = {}
        field = trigger_field(plural)
        self._trigger: Getter | None = selectable_fields(plural)[field] if field else None
        self._task: asyncio.Task | None = None
        self.since = 0  # every change with revision > since is in the window or to come
        self.progress = 0
        self._started = asyncio.Event()

    async def ensure_started(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name=f"watch {self._prefix}")
        await self._started.wait()

    def subscribe(self, after_revision: int, trigger: str | None = None) -> Subscription | None:
        """Events with revision > after_revision, or None if the window does not reach
        back that far; with `trigger`, only those whose object had or has that value
        of the trigger field. Synchronous, so no change can slip between backlog and
        live."""
        if after_revision < self.since:
            return None
        if self._trigger is None:
            trigger = None
        backlog = [
            ev
            for ev in self._window
            if ev.revision > after_revision and (trigger is None or trigger in self._values(ev))
        ]
        sub = Subscription(self, backlog, trigger)
        if trigger is None:
            self._subscribers.add(sub)
        else:
            self._by_value.setdefault(trigger, set()).add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        if sub.trigger is None:
            self._subscribers.discard(sub)
            return
        subs = self._by_value.get(sub.trigger)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._by_value[sub.trigger]

    def _values(self, ev: WatchEvent) -> set[str]:
        """The trigger field's values before and after the change."""
        assert self._trigger is not None
        values = {self._trigger(ev.obj)}
        if ev.prev is not None:
            values.add(self._trigger(ev.prev))
        return values

    def _all_subscribers(self) -> list[Subscription]:
        subs = list(self._subscribers)
        for indexed in self._by_value.values():
            subs.extend(indexed)
        return subs

    def _subscribers_of(self, ev: WatchEvent) -> list[Subscription]:
        subs = list(self._subscribers)
        if self._by_value:
            for value in self._values(ev):
                subs.extend(self._by_value.get(value, ()))
        return subs

    async def _run(self) -> None:
        backoff = 0.1
        while True:
            try:
                if not self._started.is_set():
                    self.since = self.progress = await self._storage.revision()
                    self._started.set()
                async for ev in self._storage.watch(self._prefix, self.progress + 1):
                    backoff = 0.1
                    self._record(ev)
            except asyncio.CancelledError:
                raise
            except Compacted as err:
                # We fell behind etcd's history (e.g. a long etcd outage): start afresh
                # and make every watcher relist.
                log.warning("shared watch of %s compacted: %s", self._prefix, err)
                self._end_watchers(err, await self._storage.revision())
            except UnreadableEvent as err:
                # A value no configured provider opens (encryption at rest): its watchers
                # end with the 500 and relist; the stream goes on after it.
                log.error("shared watch of %s: %s", self._prefix, err)
                self._end_watchers(err, err.revision)
            except Exception as err:
                log.warning(
                    "shared watch of %s lost (%s); resuming from %d",
                    self._prefix,
                    err,
                    self.progress + 1,
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)

    def _end_watchers(self, err: Exception, resume_at: int) -> None:
        """Every watcher ends with `err` (and relists); the shared stream starts again
        after `resume_at` with an empty window."""
        for sub in self._all_subscribers():
            sub.push(err)
        self._subscribers.clear()
        self._by_value.clear()
        self._window.clear()
        self._recorded.clear()
        self._latest.clear()
        self.since = self.progress = resume_at

    def _record(self, ev: WatchEvent) -> None:
        now = time.monotonic()
        self._share_prev(ev)
        self._window.append(ev)
        self._recorded.append(now)
        self.progress = ev.revision
        window, recorded, latest = self._window, self._recorded, self._latest
        while len(window) > WINDOW and (
            len(window) > MAX_WINDOW or now - recorded[0] > FRESH_SECONDS
        ):
            dropped = window.popleft()
            recorded.popleft()
            self.since = dropped.revision
            key = namespaced_name(dropped.obj)
            if latest.get(key) is dropped.obj:
                del latest[key]
        for sub in self._subscribers_of(ev):
            sub.push(ev)

    def _share_prev(self, ev: WatchEvent) -> None:
        """An update's previous state is the object of the key's last change in the
        window: the window keeps that one object, not a second decoded copy of it."""
        key = namespaced_name(ev.obj)
        last = self._latest.get(key)
        if ev.prev is not None and last is not None and _revision(last) == _revision(ev.prev):
            ev.prev = last
        if ev.type == "DELETED":
            self._latest.pop(key, None)
        else:
            self._latest[key] = ev.obj

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None


def _revision(obj: dict) -> str | None:
    return (obj.get("metadata") or {}).get("resourceVersion")


class Feed:
    """One watcher's changes from the shared stream (WatchCache.events), and how far it
    has been handed them: a bookmark must not name a revision whose change the watcher
    has yet to get, since clients skip changes older than a bookmark."""

    def __init__(
        self,
        cache: WatchCache,
        storage: Storage,
        plural: str,
        after_revision: int,
        trigger: str | None,
    ) -> None:
        self._cache, self._storage = cache, storage
        self._plural, self._trigger = plural, trigger
        self._after = self._handed = after_revision
        self._sub: Subscription | None = None

    def __aiter__(self) -> AsyncIterator[tuple[WatchEvent, int]]:
        return self._changes()

    def progress(self) -> int:
        """A revision every change up to which has been handed out: the shared
        stream's when nothing waits in this watcher's queue (a change recorded but not
        yet taken would be older than it), else the newest handed out."""
        sub = self._sub
        if sub is not None and sub.queue.empty():
            return max(self._handed, sub.progress)
        return self._handed

    async def _changes(self) -> AsyncIterator[tuple[WatchEvent, int]]:
        shared = await self._cache.start(self._plural)
        after = self._after
        sub = shared.subscribe(after, self._trigger)
        if sub is None:
            async for ev in self._storage.watch(prefix_key(self._plural), after + 1):
                self._handed = ev.revision
                yield ev, ev.revision
            return
        self._sub = sub
        try:
            while True:
                item = await sub.queue.get()
                if isinstance(item, Exception):
                    raise item
                if item.revision <= after:
                    continue  # asked from a revision the shared stream had not reached
                # every change up to the stream's progress was queued before it: taken
                # in this same step, with no wait, until the queue is empty
                self._handed = max(item.revision, sub.progress)
                yield item, self._handed
        finally:
            self._sub = None
            sub.close()


class WatchCache:
    """The shared watches of all resources, created on first use."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._shared: dict[str, SharedWatch] = {}
        self._snapshots: dict[str, weakref.ref[Snapshot]] = {}
        self._listing: dict[str, asyncio.Future[Snapshot]] = {}

    async def snapshot(self, plural: str, prefix: str, at_least: int = 0) -> Snapshot:
        """The objects under `prefix` (one of `plural`'s) at a revision the shared
        watch still reaches back to, so events from there on follow with no gap, and
        not older than `at_least` (one below it means etcd has not reached it).
        Watchers arriving together share one etcd list; a snapshot lives as long as
        some watcher still holds it."""
        shared = await self.start(plural)
        ref = self._snapshots.get(prefix)
        snap = ref() if ref is not None else None
        if snap is not None and snap.revision >= max(shared.since, at_least):
            return snap
        listed = await self._shared_list(prefix)
        if listed.revision < at_least:  # a list already under way began too early
            listed = await self._shared_list(prefix)
        return listed

    async def _shared_list(self, prefix: str) -> Snapshot:
        """The list of `prefix` under way, or a new one: callers arriving together
        share one etcd read."""
        pending = self._listing.get(prefix)
        if pending is None:
            pending = asyncio.ensure_future(self._list(prefix))
            self._listing[prefix] = pending
            pending.add_done_callback(lambda _f: self._listing.pop(prefix, None))
        return await asyncio.shield(pending)

    async def _list(self, prefix: str) -> Snapshot:
        items, revision = await self._storage.list(prefix)
        snap = Snapshot(items, revision)
        self._snapshots[prefix] = weakref.ref(snap)
        return snap

    def events(self, plural: str, after_revision: int, trigger: str | None = None) -> Feed:
        """Changes of `plural` after `after_revision`, each with the stream's progress
        (for bookmarks); with `trigger` (the value a watcher's selector pins the
        resource's trigger field to), at least those whose object had or has it.
        Iterating raises Compacted when the history is gone."""
        return Feed(self, self._storage, plural, after_revision, trigger)

    async def start(self, plural: str) -> SharedWatch:
        shared = self._shared.get(plural)
        if shared is None:
            shared = self._shared[plural] = SharedWatch(self._storage, plural)
        await shared.ensure_started()
        return shared

    async def stop(self) -> None:
        for shared in self._shared.values():
            await shared.stop()
