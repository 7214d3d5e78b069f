"""A watch that survives: resumes after lost connections, relists after 410 Gone.

`ResumableWatch` yields the same `(type, object)` events as `Client.watch`, plus a
synthetic `(RELIST, list)` event whenever it had to (re)list — first of all when it
starts without a resourceVersion, and after the server answers 410 Gone (its
history no longer reaches back to where we were). The caller replaces its view with
that list. Between relists the stream has no gap and no duplicate: each reconnect
resumes from the last resourceVersion seen (events and BOOKMARKs alike) and events
not newer than it are dropped.

The decisions live in `WatchCursor` (no I/O); `ResumableWatch` only drives it,
blocking (`for ev in w`, with a `Client`) or asyncio (`async for ev in w`, with an
`AsyncClient`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

from api.errors import ApiError, Gone
from api.resources import Resource
from client.rest import ALL_NAMESPACES, AsyncClient, Client

log = logging.getLogger(__name__)

RELIST = "RELIST"  # synthetic event type: the object is a fresh List; replace your view
Event = tuple[str, dict[str, Any]]

# Client errors that retrying cannot fix; everything else (connection loss, 5xx,
# 429, timeouts) is retried with back-off.
_FATAL_CODES = {400, 401, 403, 404, 405, 406, 415, 422}


@dataclass
class Backoff:
    """Exponential back-off with jitter, reset after progress."""

    initial: float = 0.2
    factor: float = 2.0
    maximum: float = 30.0
    jitter: float = 0.1
    _next: float = 0.0

    def next(self) -> float:
        delay = self._next or self.initial
        self._next = min(delay * self.factor, self.maximum)
        return delay * (1 + random.uniform(0, self.jitter))

    def reset(self) -> None:
        self._next = 0.0


def resource_version_of(obj: dict[str, Any]) -> str | None:
    """An event object's resourceVersion (a Table event may carry it in its one row)."""
    rv = (obj.get("metadata") or {}).get("resourceVersion")
    if not rv and obj.get("kind") == "Table" and obj.get("rows"):
        rv = ((obj["rows"][-1].get("object") or {}).get("metadata") or {}).get("resourceVersion")
    return rv or None


def is_newer(rv: str, than: str | None) -> bool:
    """resourceVersions are etcd revisions in minik, so compare them as integers."""
    if not than:
        return True
    try:
        return int(rv) > int(than)
    except ValueError:
        return rv != than


class WatchCursor:
    """Where a resumable watch stands, and what each event means for it."""

    EMIT, SKIP, RELIST = "emit", "skip", "relist"

    def __init__(self, resource_version: str | None = None) -> None:
        self.resource_version = resource_version or None
        self.needs_relist = not self.resource_version
        self._history_gone = False

    @property
    def list_version(self) -> str | None:
        """The resourceVersion to list at, as client-go's reflector picks it: "0" (any
        recent state: the server's watch cache answers, not etcd) unless the last
        watch found its history gone, then the newest (None: a consistent read)."""
        return None if self._history_gone else "0"

    def relisted(self, listing: dict[str, Any]) -> None:
        self.resource_version = (listing.get("metadata") or {}).get("resourceVersion") or None
        self.needs_relist = False
        self._history_gone = False

    def observe(self, event_type: str, obj: dict[str, Any]) -> str:
        """EMIT, SKIP or RELIST for one event; raises ApiError for a fatal ERROR event."""
        if event_type == "ERROR":
            err = ApiError.from_status(int(obj.get("code") or 500), obj)
            if isinstance(err, Gone):
                self.needs_relist = self._history_gone = True
                return self.RELIST
            raise err
        rv = resource_version_of(obj)
        if event_type == "BOOKMARK":
            if rv and is_newer(rv, self.resource_version):
                self.resource_version = rv
            return self.SKIP
        if rv and not is_newer(rv, self.resource_version):
            return self.SKIP  # already seen: a replay after reconnecting
        if rv:
            self.resource_version = rv
        return self.EMIT

    def failed(self, err: Exception, backoff: Backoff) -> float:
        """The delay before retrying after `err`; re-raises what retrying cannot fix."""
        if isinstance(err, Gone):
            self.needs_relist = self._history_gone = True
            return 0.0
        if isinstance(err, ApiError) and err.code in _FATAL_CODES:
            raise err
        delay = backoff.next()
        log.info("watch interrupted (%s); retrying in %.1fs", err, delay)
        return delay


class ResumableWatch:
    """Iterate (sync or async, matching the client) over a never-ending watch."""

    def __init__(
        self,
        client: Client | AsyncClient,
        res: Resource,
        namespace: str | None = ALL_NAMESPACES,
        *,
        resource_version: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        timeout_seconds: int | None = 300,
        backoff: Backoff | None = None,
        as_table: bool = False,
    ) -> None:
        self.client = client
        self.as_table = as_table
        self.res = res
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.timeout_seconds = timeout_seconds
        self.backoff = backoff or Backoff()
        self.cursor = WatchCursor(resource_version)

    @property
    def resource_version(self) -> str | None:
        return self.cursor.resource_version

    def _list_args(self) -> dict[str, Any]:
        return {
            "label_selector": self.label_selector,
            "field_selector": self.field_selector,
            "as_table": self.as_table,
        }

    def _relist_args(self) -> dict[str, Any]:
        return {"resource_version": self.cursor.list_version, **self._list_args()}

    def _watch_args(self) -> dict[str, Any]:
        timeout = self.timeout_seconds
        if timeout:  # spread reconnects of many watchers, as client-go does
            timeout = int(timeout * random.uniform(1.0, 2.0))
        return {
            "resource_version": self.cursor.resource_version,
            "allow_bookmarks": True,
            "timeout_seconds": timeout,
            **self._list_args(),
        }

    def __iter__(self) -> Iterator[Event]:
        client = self.client
        if not isinstance(client, Client):
            raise TypeError("use `async for` with an AsyncClient")
        while True:
            started = time.monotonic()
            try:
                if self.cursor.needs_relist:
                    listing = client.list(self.res, self.namespace, **self._relist_args())
                    self.cursor.relisted(listing)
                    yield RELIST, listing
                    del listing  # not held while watching: a caller may keep less of it
                with contextlib.closing(
                    client.watch(self.res, self.namespace, **self._watch_args())
                ) as stream:
                    for event_type, obj in stream:
                        verdict = self.cursor.observe(event_type, obj)
                        if verdict == WatchCursor.RELIST:
                            break
                        self.backoff.reset()
                        if verdict == WatchCursor.EMIT:
                            yield event_type, obj
                if time.monotonic() - started < 1.0 and not self.cursor.needs_relist:
                    time.sleep(self.backoff.next())  # a server ending streams at once
            except ApiError as err:
                time.sleep(self.cursor.failed(err, self.backoff))

    async def __aiter__(self) -> AsyncIterator[Event]:
        client = self.client
        if not isinstance(client, AsyncClient):
            raise TypeError("use a plain `for` with a blocking Client")
        while True:
            started = time.monotonic()
            try:
                if self.cursor.needs_relist:
                    listing = await client.list(self.res, self.namespace, **self._relist_args())
                    self.cursor.relisted(listing)
                    yield RELIST, listing
                    del listing  # not held while watching: a caller may keep less of it
                stream = client.watch(self.res, self.namespace, **self._watch_args())
                try:
                    async for event_type, obj in stream:
                        verdict = self.cursor.observe(event_type, obj)
                        if verdict == WatchCursor.RELIST:
                            break
                        self.backoff.reset()
                        if verdict == WatchCursor.EMIT:
                            yield event_type, obj
                finally:
                    await stream.aclose()  # type: ignore[attr-defined]
                if time.monotonic() - started < 1.0 and not self.cursor.needs_relist:
                    await asyncio.sleep(self.backoff.next())
            except ApiError as err:
                await asyncio.sleep(self.cursor.failed(err, self.backoff))
