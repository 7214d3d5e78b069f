"""Recording Kubernetes Events (`kubectl describe` shows them). Repeats of the same
event for the same object are aggregated into one Event with a rising `count`, as
client-go's EventRecorder does, so a crash loop does not flood the apiserver."""

from __future__ import annotations

import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

from api.errors import ApiError, NotFound
from api.resources import EVENTS
from api.timefmt import rfc3339
from client.rest import AsyncClient

log = logging.getLogger(__name__)
CACHE_SIZE = 4096
NORMAL, WARNING = "Normal", "Warning"


def object_reference(obj: dict[str, Any], field_path: str | None = None) -> dict[str, Any]:
    md = obj.get("metadata") or {}
    ref = {
        "kind": obj.get("kind"),
        "apiVersion": obj.get("apiVersion"),
        "name": md.get("name"),
        "namespace": md.get("namespace"),
        "uid": md.get("uid"),
        "resourceVersion": md.get("resourceVersion"),
    }
    if field_path:
        ref["fieldPath"] = field_path
    return {k: v for k, v in ref.items() if v}


class EventRecorder:
    """Writes Events for one component (`source.component`, e.g. "kubelet")."""

    def __init__(
        self,
        api: AsyncClient,
        component: str,
        host: str | None = None,
        cache_seconds: float = 600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.api = api
        self.source = {"component": component, **({"host": host} if host else {})}
        # key -> (namespace, event name, last time), least recently seen first
        self._seen: OrderedDict[tuple, tuple[str, str, float]] = OrderedDict()
        self._cache_seconds = cache_seconds
        self._clock = clock

    def forget(self, uid: str) -> None:
        """Drop the aggregation entries of an object that is gone (its uid)."""
        for key in [k for k in self._seen if k[0] == uid]:
            del self._seen[key]

    def __len__(self) -> int:
        return len(self._seen)

    def _expire(self, now: float) -> None:
        """Drop the entries last seen `cache_seconds` ago or more: a repeat that late
        gets a new Event anyway, so they only held memory (a churn soak's controller
        manager kept ~4096 per controller: every new object's first Event)."""
        while self._seen:
            key, (_ns, _name, last) = next(iter(self._seen.items()))
            if now - last < self._cache_seconds:
                return
            del self._seen[key]

    async def record(
        self,
        obj: dict[str, Any],
        event_type: str,
        reason: str,
        message: str,
        field_path: str | None = None,
        *,
        related: dict[str, Any] | None = None,
        action: str | None = None,
    ) -> None:
        """Never raises: an Event that cannot be written is logged and dropped.
        `related` is a second object the Event concerns (the preemptor of a preempted
        pod), `action` what was done (events.k8s.io's fields, shown in core/v1 too)."""
        try:
            await self._record(obj, event_type, reason, message, field_path, related, action)
        except ApiError as err:
            log.debug("event %s for %s dropped: %s", reason, object_reference(obj), err)

    async def _record(
        self,
        obj: dict[str, Any],
        event_type: str,
        reason: str,
        message: str,
        field_path: str | None,
        related: dict[str, Any] | None = None,
        action: str | None = None,
    ) -> None:
        ref = object_reference(obj, field_path)
        namespace = ref.get("namespace") or "default"
        key = (ref.get("uid") or ref.get("name"), field_path, event_type, reason, message)
        now_wall, now = rfc3339(), self._clock()
        self._expire(now)
        seen = self._seen.get(key)
        if seen and now - seen[2] < self._cache_seconds:
            try:
                current = await self.api.get(EVENTS, seen[1], seen[0])
                await self.api.patch(
                    EVENTS,
                    seen[1],
                    {"count": int(current.get("count") or 1) + 1, "lastTimestamp": now_wall},
                    "merge",
                    seen[0],
                )
                self._seen[key] = (seen[0], seen[1], now)
                self._seen.move_to_end(key)
                return
            except NotFound:
                pass
        name = f"{ref.get('name', 'object')}.{secrets.token_hex(8)}"
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": name, "namespace": namespace},
            "involvedObject": ref,
            "reason": reason,
            "message": message,
            "type": event_type,
            "source": self.source,
            "count": 1,
            "firstTimestamp": now_wall,
            "lastTimestamp": now_wall,
            "reportingComponent": self.source["component"],
            "reportingInstance": self.source.get("host", ""),
        }
        if related is not None:
            event["related"] = object_reference(related)
        if action:
            event["action"] = action
        await self.api.create(EVENTS, event, namespace)
        self._seen[key] = (namespace, name, now)
        self._seen.move_to_end(key)
        while len(self._seen) > CACHE_SIZE:  # least recently seen go first
            self._seen.popitem(last=False)
