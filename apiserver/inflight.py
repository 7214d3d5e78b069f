"""kube-apiserver's max-in-flight filter (WithMaxInFlightLimit): at most
--max-requests-inflight read-only and --max-mutating-requests-inflight mutating
requests at once; one more gets 429 with `Retry-After: 1` at once instead of
queueing, so a flood costs the server a refusal each, not a growing backlog.

As in Kubernetes: long-running requests (watches; exec, attach, port-forward, proxy
and log) are not counted, members of system:masters are never refused, a limit of
0 means none. Kubernetes writes the refusal as plain text; minik writes the same
message as a Status (reason TooManyRequests), which every client understands."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from api import errors
from apiserver import codec
from apiserver.authn import MASTERS
from apiserver.metrics import INFLIGHT_METHODS, REQUEST_KIND, is_long_running, request_labels

RETRY_AFTER = "1"
MESSAGE = "Too many requests, please try again later."


def too_many_requests() -> errors.ApiError:
    return errors.ApiError(429, MESSAGE, "TooManyRequests", {"retryAfterSeconds": 1})


class MaxInFlight:
    """Pure ASGI, inside authentication (it needs the user) and outside the app."""

    def __init__(self, app: ASGIApp, max_read_only: int, max_mutating: int) -> None:
        self.app = app
        self.limits = {"": max_read_only, "mutating": max_mutating}
        self.inflight = {"": 0, "mutating": 0}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # upgrades (exec, attach, port-forward) run long
            await self.app(scope, receive, send)
            return
        kind = scope.get(REQUEST_KIND)
        if kind is None:
            kind = _classify(scope)
        limit = self.limits.get(kind, 0)
        if not limit:
            await self.app(scope, receive, send)
            return
        if self.inflight[kind] >= limit:
            user = scope.get("minik.user")
            if user is not None and MASTERS in user.groups:
                await self.app(scope, receive, send)
                return
            response = codec.error_response(too_many_requests())
            response.headers["Retry-After"] = RETRY_AFTER
            await response(scope, receive, send)
            return
        self.inflight[kind] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.inflight[kind] -= 1


def _classify(scope: Scope) -> str:
    method = scope.get("method", "GET")
    labels = request_labels(method, scope["path"], scope.get("query_string", b""))
    if is_long_running(labels):
        return "longrunning"
    return "mutating" if method in INFLIGHT_METHODS else ""
