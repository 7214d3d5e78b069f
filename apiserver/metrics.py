"""The apiserver's Prometheus metrics, with kube-apiserver's names and labels.

- `apiserver_request_total` (verb, dry_run, group, version, resource, subresource,
  scope, component, code) and `apiserver_request_duration_seconds` (the same but
  code), recorded by `RequestMetrics`, the outermost ASGI layer, so a refused (401)
  request counts too;
- `apiserver_current_inflight_requests` (request_kind mutating/readOnly; long-running
  requests are not in flight, as Kubernetes' max-in-flight filter counts them);
- `apiserver_longrunning_requests` (watches, exec/attach/port-forward, logs);
- `etcd_request_duration_seconds` (operation, type: the resource of the key);
- `apiserver_storage_transformation_operations_total` (transformation_type
  to_storage/from_storage, transformer_prefix `k8s:enc:aescbc:v1:` or `identity`,
  status): values of encrypted resources (`--encryption-provider-config`) only.

Verbs are Kubernetes' reported ones: GET on one object, LIST on a collection, WATCH,
POST, PUT, PATCH, APPLY (a server-side apply patch), DELETE (also a collection's),
CONNECT (exec, attach, portforward). Labels come from the path alone (no registry
lookup), so a request for an unknown resource is recorded under the resource it
named. With `--workers N` each worker process counts its own requests: a scrape
answers one worker's figures (Kubernetes runs one process; so does minik by default).
"""

from __future__ import annotations

import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from componentbase.loopmetrics import (
    Counter,
    CounterValue,
    Gauge,
    Histogram,
    HistogramValue,
    register,
)

COMPONENT = "apiserver"
# kube-apiserver's buckets for apiserver_request_duration_seconds
REQUEST_BUCKETS = (
    0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20,
    30, 45, 60,
)  # fmt: skip
# etcd_request_duration_seconds' buckets (k8s.io/apiserver/pkg/storage/etcd3/metrics)
ETCD_BUCKETS = (
    0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20,
    30, 45, 60,
)  # fmt: skip
LABELS = ("verb", "dry_run", "group", "version", "resource", "subresource", "scope", "component")

REQUESTS = Counter(
    "apiserver_request_total",
    "Counter of apiserver requests broken out for each verb, dry run value, group, "
    "version, resource, scope, component, and HTTP response code.",
    [*LABELS, "code"],
)
DURATION = Histogram(
    "apiserver_request_duration_seconds",
    "Response latency distribution in seconds for each verb, dry run value, group, "
    "version, resource, subresource, scope and component.",
    LABELS,
    buckets=REQUEST_BUCKETS,
)
INFLIGHT = Gauge(
    "apiserver_current_inflight_requests",
    "Maximal number of currently used inflight request limit of this apiserver per "
    "request kind in last second.",
    ["request_kind"],
)
LONGRUNNING = Gauge(
    "apiserver_longrunning_requests",
    "Gauge of all active long-running apiserver requests broken out by verb, group, "
    "version, resource, scope and component. Not all requests are tracked this way.",
    ["verb", "group", "version", "resource", "subresource", "scope", "component"],
)
ETCD = Histogram(
    "etcd_request_duration_seconds",
    "Etcd request latency in seconds for each operation and object type.",
    ["operation", "type"],
    buckets=ETCD_BUCKETS,
)
TRANSFORMATIONS = Counter(
    "apiserver_storage_transformation_operations_total",
    "Total number of transformations. Successful transformation will have a status 'OK' "
    "and a varied status string when the transformation fails.",
    ["transformation_type", "transformer_prefix", "status"],
)
# Lock-free families (componentbase/loopmetrics.py): they are only touched on the
# event loop's thread, and prometheus_client's locks cost microseconds per request.
register(REQUESTS, DURATION, INFLIGHT, LONGRUNNING, ETCD, TRANSFORMATIONS)

MUTATING = INFLIGHT.labels("mutating")
READ_ONLY = INFLIGHT.labels("readOnly")
INFLIGHT_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
CONNECT_SUBRESOURCES = frozenset({"exec", "attach", "portforward", "proxy"})
LONG_RUNNING_SUBRESOURCES = CONNECT_SUBRESOURCES | {"log"}
APPLY_CONTENT_TYPE = b"application/apply-patch+yaml"
REQUEST_KIND = "minik.request-kind"  # scope key: "longrunning", "mutating" or ""


def request_labels(
    method: str, path: str, query: bytes, content_type: bytes = b""
) -> tuple[str, ...]:
    """(verb, dry_run, group, version, resource, subresource, scope, component) for
    a request, as kube-apiserver's metrics label it."""
    parts = path.strip("/").split("/")
    if parts[0] == "api" and len(parts) >= 2:
        group, version, rest = "", parts[1], parts[2:]
    elif parts[0] == "apis" and len(parts) >= 3:
        group, version, rest = parts[1], parts[2], parts[3:]
    else:  # a non-resource URL: /healthz, /openapi/v2, discovery
        return (_nonresource_verb(method), "", "", "", "", "", "", COMPONENT)
    watch = False
    if rest and rest[0] == "watch":
        watch, rest = True, rest[1:]
    namespace = ""
    if len(rest) >= 3 and rest[0] == "namespaces":
        namespace, rest = rest[1], rest[2:]
    if not rest or not rest[0]:  # /apis/<group>/<version>: discovery
        return (_nonresource_verb(method), "", "", "", "", "", "", COMPONENT)
    resource = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    subresource = rest[2] if len(rest) > 2 else ""
    if name or method == "POST":
        scope = "resource"  # Kubernetes' CleanScope: a create is about one object too
    elif namespace:
        scope = "namespace"
    else:
        scope = "cluster"
    dry_run = "All" if b"dryRun=All" in query else ""
    if subresource in CONNECT_SUBRESOURCES:
        verb = "CONNECT"
    elif method in ("GET", "HEAD") and (watch or _watch_param(query)):
        verb = "WATCH"
    elif method in ("GET", "HEAD"):
        verb = "GET" if name else "LIST"
    elif method == "PATCH" and content_type.startswith(APPLY_CONTENT_TYPE):
        verb = "APPLY"
    else:
        verb = method
    return (verb, dry_run, group, version, resource, subresource, scope, COMPONENT)


def _nonresource_verb(method: str) -> str:
    return "GET" if method == "HEAD" else method


def _watch_param(query: bytes) -> bool:
    if b"watch=" not in query:
        return False
    for pair in query.split(b"&"):
        key, _, value = pair.partition(b"=")
        if key == b"watch":
            return value.lower() in (b"true", b"1", b"t")
    return False


def is_long_running(labels: tuple[str, ...]) -> bool:
    """Kubernetes' long-running check: watches and the streaming subresources."""
    return labels[0] in ("WATCH", "CONNECT") or labels[5] in LONG_RUNNING_SUBRESOURCES


class _Series:
    """The children of one label set, looked up once."""

    __slots__ = ("codes", "duration", "labels", "longrunning")

    def __init__(self, labels: tuple[str, ...]) -> None:
        self.labels = labels
        self.duration = DURATION.labels(*labels)
        self.codes: dict[int, CounterValue] = {}
        self.longrunning = LONGRUNNING.labels(*labels[:1], *labels[2:])

    def count(self, code: int) -> None:
        child = self.codes.get(code)
        if child is None:
            child = self.codes[code] = REQUESTS.labels(*self.labels, str(code))
        child.inc()


_series: dict[tuple[str, ...], _Series] = {}
MAX_SERIES = 20000  # label sets cached; beyond, children are looked up each time


def series(labels: tuple[str, ...]) -> _Series:
    found = _series.get(labels)
    if found is None:
        found = _Series(labels)
        if len(_series) < MAX_SERIES:
            _series[labels] = found
    return found


class RequestMetrics:
    """Pure ASGI (no task per request): counts, times and tracks every HTTP request
    and WebSocket/SPDY upgrade."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        method = scope.get("method", "GET") if kind == "http" else "GET"
        content_type = b""
        if method == "PATCH":
            for name, value in scope["headers"]:
                if name == b"content-type":
                    content_type = value
                    break
        found = series(request_labels(method, scope["path"], scope["query_string"], content_type))
        code = 0

        async def record_status(message: Message) -> None:
            nonlocal code
            kind = message["type"]
            if kind == "http.response.start" or kind == "websocket.http.response.start":
                code = message["status"]
            elif kind == "websocket.accept":
                code = 101
            elif kind == "websocket.close" and not code:
                code = 403  # the upgrade was refused before any answer
            await send(message)

        long_running = is_long_running(found.labels)
        mutating = method in INFLIGHT_METHODS
        # for the max-in-flight filter (apiserver/inflight.py), classified once
        scope[REQUEST_KIND] = "longrunning" if long_running else ("mutating" if mutating else "")
        gauge = found.longrunning if long_running else (MUTATING if mutating else READ_ONLY)
        gauge.inc()
        began = time.perf_counter()
        try:
            await self.app(scope, receive, record_status)
        finally:
            gauge.dec()
            found.duration.observe(time.perf_counter() - began)
            found.count(code or 500)


# ---- etcd ---------------------------------------------------------------------------
def key_type(key: str) -> str:
    """The resource a storage key belongs to: /registry/pods/default/web -> pods."""
    if not key.startswith("/registry/"):
        return ""
    return key[10:].split("/", 1)[0]


_etcd_children: dict[tuple[str, str], HistogramValue] = {}


class etcd_request:
    """Times one etcd request as `etcd_request_duration_seconds{operation, type}` (a
    class, not @contextmanager: a generator per etcd call is measurable)."""

    __slots__ = ("began", "key", "operation")

    def __init__(self, operation: str, key: str) -> None:
        self.operation = operation
        self.key = key

    def __enter__(self) -> None:
        self.began = time.perf_counter()

    def __exit__(self, *exc: object) -> None:
        labels = (self.operation, key_type(self.key))
        child = _etcd_children.get(labels)
        if child is None:
            child = _etcd_children[labels] = ETCD.labels(*labels)
        child.observe(time.perf_counter() - self.began)
