"""The HTTP side of watch: newline-delimited JSON events for one client, filtered by
namespace and selectors, with BOOKMARKs and Kubernetes' resourceVersion rules."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from api import errors
from api.resources import Resource
from apiserver import offload, paging
from apiserver.options import ListOptions, is_revision, query_flag
from apiserver.requestinfo import RequestInfo
from apiserver.storage import Compacted, Storage, UnreadableEvent, WatchEvent, prefix_key
from apiserver.watchcache import Snapshot, WatchCache, WatcherTooSlow, trigger_field

log = logging.getLogger(__name__)
Encoder = Callable[[str, dict], bytes]
INITIAL_EVENTS_END = "k8s.io/initial-events-end"  # metav1.InitialEventsAnnotationKey
# The most a watch joins into one write, well under the transport's high-water mark
# (64 KiB), so a slow reader's buffer stays about as small as with one write per event:
# 300 watchers of a 0.5 MB initial state cost the apiserver +31 MB at 16 KiB, +46 at
# 32 KiB, +119 with whole 100-event chunks, +24 with a write per event
# (tests/security/test_watch_memory.py). A burst of small changes still goes in one.
CHUNK_BYTES = 16 * 1024


@dataclass(frozen=True)
class WatchRequest:
    """A watch's parameters, checked before the stream starts so bad ones get a 400."""

    start: int | None
    timeout: float
    bookmarks: bool
    consistent: bool = False  # no resourceVersion: the state as of the request

    @classmethod
    def parse(cls, params: dict[str, str]) -> WatchRequest:
        return cls(
            parse_start(params),
            parse_timeout(params),
            query_flag(params, "allowWatchBookmarks"),
            not params.get("resourceVersion"),
        )


def parse_timeout(params: dict[str, str]) -> float:
    """timeoutSeconds, or Kubernetes' default of a random 30-60 minutes."""
    raw = params.get("timeoutSeconds")
    if raw is None:
        return 1800 * (1 + random.random())
    try:
        return max(0.0, float(raw))
    except ValueError as err:
        raise errors.bad_request(f"invalid timeoutSeconds {raw!r}") from err


def parse_start(params: dict[str, str]) -> int | None:
    """None means 'current state first' (unset or "0"), else the revision to follow."""
    raw = params.get("resourceVersion")
    if raw in (None, "", "0"):
        return None
    if not is_revision(raw):
        raise errors.bad_request(f"invalid resourceVersion {raw!r}")
    return int(raw)


async def stream(
    storage: Storage,
    cache: WatchCache,
    info: RequestInfo,
    opts: ListOptions,
    request: WatchRequest,
    encode: Encoder,
    bookmark_interval: float,
    shared_encoding: str | None = None,
) -> AsyncIterator[bytes]:
    """The watch's lines. `shared_encoding` names `encode`'s output when it depends
    on nothing but the object (the same for every watcher asking for it), so the
    initial events are encoded once for all of them; None when it is per watcher."""
    res = info.resource
    timeout, bookmarks, start = request.timeout, request.bookmarks, request.start
    prefix = prefix_key(res.storage_resource, info.namespace)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout

    streaming_list = opts.send_initial_events
    if streaming_list if streaming_list is not None else start is None:
        # the current state, shared with the other watchers starting now; a streaming
        # list's is at least as new as its resourceVersion, or as the request
        at_least = start or 0
        if streaming_list and request.consistent:
            at_least = await storage.revision()
        snap: Snapshot | None = await cache.snapshot(res.storage_resource, prefix, at_least)
        assert snap is not None
        if snap.revision < at_least:
            yield encode("ERROR", paging.too_large(at_least, snap.revision).status())
            return
        start = snap.revision

        def added(obj: dict) -> bytes:
            return encode("ADDED", _typed(obj, info))

        lines: list[bytes] = []
        size = sent = 0
        for i, obj in enumerate(snap.items):
            if opts.matches(obj):
                line = snap.line(i, shared_encoding, added)
                lines.append(line)
                size += len(line)
                sent += 1
                if size >= CHUNK_BYTES:
                    yield b"".join(lines)  # one write for many small events
                    lines.clear()
                    size = 0
                if sent % offload.EVENTS_PER_TURN == 0:
                    await asyncio.sleep(0)  # let the loop serve others between chunks
        snap = None  # drop our hold: the snapshot lives while some watcher needs it
        if streaming_list and bookmarks:
            lines.append(encode("BOOKMARK", _initial_events_end(res, start)))
        if lines:
            yield b"".join(lines)
    elif start is None:  # sendInitialEvents=false: from now on (etcd's now), nothing before
        start = await storage.revision()

    queue: asyncio.Queue[tuple[WatchEvent, int] | Exception] = asyncio.Queue()

    field = trigger_field(res.storage_resource)
    selector = opts.field_selector
    trigger = selector.exact(field) if field and selector is not None else None

    feed = cache.events(res.storage_resource, start, trigger)

    async def pump() -> None:
        try:
            async for item in feed:
                queue.put_nowait(item)
        except asyncio.CancelledError:
            raise
        except Exception as err:
            queue.put_nowait(err)

    task = asyncio.create_task(pump())
    progress = start
    try:
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            wait = min(remaining, bookmark_interval) if bookmarks else remaining
            try:
                item = await asyncio.wait_for(queue.get(), wait)
            except TimeoutError:
                # A bookmark tells the client it has every change up to its revision
                # (clients skip older ones after it): not while one is still queued.
                if bookmarks and loop.time() < deadline and queue.empty():
                    progress = max(progress, feed.progress())
                    yield encode(
                        "BOOKMARK",
                        {
                            "kind": res.kind,
                            "apiVersion": res.api_version,
                            "metadata": {"resourceVersion": str(progress)},
                        },
                    )
                continue
            # The changes already queued go out in one write (up to CHUNK_BYTES), as
            # kube-apiserver's watch server flushes only when no further event is
            # waiting: a burst costs one send and one read on each side, not one each.
            batch: list[bytes] = []
            size = 0
            while True:
                if isinstance(item, Exception):
                    if batch:
                        yield b"".join(batch)
                    ending = _ending(item, start, res.plural)
                    if ending is not None:
                        yield encode("ERROR", ending)
                    return
                ev, seen = item
                progress = max(progress, seen)
                out = _filter(ev, info, prefix, opts)
                if out is not None:
                    line = encode(out[0], _typed(out[1], info))
                    batch.append(line)
                    size += len(line)
                if queue.empty() or size >= CHUNK_BYTES:
                    break
                item = queue.get_nowait()
            if batch:
                yield b"".join(batch)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task


def _ending(item: Exception, start: int, plural: str) -> dict | None:
    """The ERROR event's Status a watch ends with on `item` (None: it ends quietly)."""
    if isinstance(item, Compacted):
        return errors.gone(
            f"too old resource version: {start} ({item.compacted_revision})"
        ).status()
    if isinstance(item, UnreadableEvent):  # a value encrypted with an unlisted key
        return item.error.status()
    if isinstance(item, WatcherTooSlow):
        return None  # the client resumes from its last resourceVersion
    log.warning("watch of %s failed: %s", plural, item)
    return None


def _initial_events_end(res: Resource, revision: int) -> dict:
    """The BOOKMARK that ends a streaming list's initial events (client-go's reflector
    waits for its annotation, then has the whole state as of `revision`)."""
    return {
        "kind": res.kind,
        "apiVersion": res.api_version,
        "metadata": {
            "resourceVersion": str(revision),
            "annotations": {INITIAL_EVENTS_END: "true"},
        },
    }


def _filter(
    ev: WatchEvent, info: RequestInfo, prefix: str, opts: ListOptions
) -> tuple[str, dict] | None:
    """Kubernetes' selector semantics: an object that starts matching is ADDED, one that
    stops matching is DELETED for this watcher."""
    md = ev.obj.get("metadata") or {}
    if info.namespace and md.get("namespace") != info.namespace:
        return None
    now_matches = ev.type != "DELETED" and opts.matches(ev.obj)
    before = opts.matches(ev.prev) if ev.prev is not None else ev.type != "ADDED"
    if ev.type == "DELETED":
        return ("DELETED", ev.obj) if before else None
    if now_matches and before:
        return ("MODIFIED", ev.obj)
    if now_matches:
        return ("ADDED", ev.obj)
    if before:
        return ("DELETED", ev.obj)
    return None


def _typed(obj: dict, info: RequestInfo) -> dict:
    """`obj` with its kind and apiVersion (a copy when it lacks them: objects are
    shared between watchers and must not change)."""
    if "kind" in obj and "apiVersion" in obj:
        return obj
    return {"kind": info.resource.kind, "apiVersion": info.resource.api_version, **obj}
