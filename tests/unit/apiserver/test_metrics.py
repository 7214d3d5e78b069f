"""The apiserver's request metrics: Kubernetes' verb, scope and resource labels from
the path alone, and the ASGI layer that counts, times and tracks requests."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import REGISTRY
from starlette.types import Receive, Scope, Send

from apiserver.metrics import RequestMetrics, is_long_running, key_type, request_labels

APPLY = b"application/apply-patch+yaml"


@pytest.mark.parametrize(
    ("method", "path", "query", "content_type", "expected"),
    [
        (
            "GET",
            "/api/v1/namespaces/default/pods",
            b"",
            b"",
            ("LIST", "", "v1", "pods", "", "namespace"),
        ),
        ("GET", "/api/v1/pods", b"limit=500", b"", ("LIST", "", "v1", "pods", "", "cluster")),
        (
            "GET",
            "/api/v1/namespaces/default/pods/web",
            b"",
            b"",
            ("GET", "", "v1", "pods", "", "resource"),
        ),
        (
            "GET",
            "/api/v1/namespaces/default/pods",
            b"watch=true&resourceVersion=5",
            b"",
            ("WATCH", "", "v1", "pods", "", "namespace"),
        ),
        (
            "GET",
            "/api/v1/watch/namespaces/default/pods",
            b"",
            b"",
            ("WATCH", "", "v1", "pods", "", "namespace"),
        ),
        (
            "GET",
            "/api/v1/namespaces/default/pods",
            b"watch=false",
            b"",
            ("LIST", "", "v1", "pods", "", "namespace"),
        ),
        (
            "POST",
            "/api/v1/namespaces/default/pods",
            b"",
            b"",
            ("POST", "", "v1", "pods", "", "resource"),
        ),
        (
            "POST",
            "/api/v1/namespaces/default/pods/web/binding",
            b"",
            b"",
            ("POST", "", "v1", "pods", "binding", "resource"),
        ),
        (
            "PUT",
            "/apis/apps/v1/namespaces/ns/deployments/d/status",
            b"",
            b"",
            ("PUT", "apps", "v1", "deployments", "status", "resource"),
        ),
        (
            "PATCH",
            "/apis/apps/v1/namespaces/ns/deployments/d",
            b"fieldManager=kubectl",
            APPLY,
            ("APPLY", "apps", "v1", "deployments", "", "resource"),
        ),
        (
            "PATCH",
            "/apis/apps/v1/namespaces/ns/deployments/d",
            b"",
            b"application/merge-patch+json",
            ("PATCH", "apps", "v1", "deployments", "", "resource"),
        ),
        (
            "DELETE",
            "/api/v1/namespaces/default/pods",
            b"",
            b"",
            ("DELETE", "", "v1", "pods", "", "namespace"),
        ),
        (
            "GET",
            "/api/v1/namespaces/default/pods/web/exec",
            b"command=ls",
            b"",
            ("CONNECT", "", "v1", "pods", "exec", "resource"),
        ),
        (
            "GET",
            "/api/v1/namespaces/default/pods/web/log",
            b"follow=true",
            b"",
            ("GET", "", "v1", "pods", "log", "resource"),
        ),
        ("GET", "/api/v1/nodes/n1", b"", b"", ("GET", "", "v1", "nodes", "", "resource")),
        (
            "GET",
            "/api/v1/namespaces/kube-system",
            b"",
            b"",
            ("GET", "", "v1", "namespaces", "", "resource"),
        ),
    ],
)
def test_request_labels(method, path, query, content_type, expected):
    verb, dry_run, group, version, resource, subresource, scope, component = request_labels(
        method, path, query, content_type
    )
    assert (verb, group, version, resource, subresource, scope) == expected
    assert (dry_run, component) == ("", "apiserver")


@pytest.mark.parametrize(
    "path", ["/healthz", "/api", "/apis", "/api/v1", "/apis/apps/v1", "/metrics"]
)
def test_non_resource_urls_have_no_resource(path):
    assert request_labels("GET", path, b"") == ("GET", "", "", "", "", "", "", "apiserver")


def test_dry_run_and_long_running():
    labels = request_labels("POST", "/api/v1/namespaces/a/pods", b"dryRun=All")
    assert labels[1] == "All"
    assert not is_long_running(labels)
    assert is_long_running(request_labels("GET", "/api/v1/pods", b"watch=1"))
    assert is_long_running(request_labels("GET", "/api/v1/namespaces/a/pods/p/log", b""))
    assert is_long_running(request_labels("POST", "/api/v1/namespaces/a/pods/p/portforward", b""))


def test_key_type():
    assert key_type("/registry/pods/default/web") == "pods"
    assert key_type("/registry/nodes/") == "nodes"
    assert key_type("compact_rev_key") == ""


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_requests_are_counted_timed_and_in_flight_while_served():
    seen_in_flight: list[float] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen_in_flight.append(
            sample("apiserver_current_inflight_requests", request_kind="mutating")
        )
        status = 201 if scope["method"] == "POST" else 404
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"{}"})

    async def call(method: str, path: str) -> None:
        scope = {"type": "http", "method": method, "path": path, "query_string": b"", "headers": []}

        async def receive():
            return {"type": "http.request", "body": b""}

        async def send(_message):
            return None

        await RequestMetrics(app)(scope, receive, send)

    labels = {
        "verb": "POST", "dry_run": "", "group": "", "version": "v1", "resource": "configmaps",
        "subresource": "", "scope": "resource", "component": "apiserver",
    }  # fmt: skip
    before = sample("apiserver_request_total", **labels, code="201")
    base = sample("apiserver_current_inflight_requests", request_kind="mutating")
    count_before = sample("apiserver_request_duration_seconds_count", **labels)
    asyncio.run(call("POST", "/api/v1/namespaces/m/configmaps"))
    asyncio.run(call("GET", "/api/v1/namespaces/m/configmaps/missing"))
    assert sample("apiserver_request_total", **labels, code="201") == before + 1
    assert sample("apiserver_request_duration_seconds_count", **labels) == count_before + 1
    get = {**labels, "verb": "GET", "code": "404"}
    assert sample("apiserver_request_total", **get) >= 1
    assert seen_in_flight[0] == base + 1
    assert sample("apiserver_current_inflight_requests", request_kind="mutating") == base


def test_a_watch_is_long_running_not_in_flight():
    seen: list[tuple[float, float]] = []
    watch = {
        "verb": "WATCH", "group": "", "version": "v1", "resource": "secrets",
        "subresource": "", "scope": "cluster", "component": "apiserver",
    }  # fmt: skip

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(
            (
                sample("apiserver_longrunning_requests", **watch),
                sample("apiserver_current_inflight_requests", request_kind="readOnly"),
            )
        )
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def call() -> None:
        scope = {
            "type": "http", "method": "GET", "path": "/api/v1/secrets",
            "query_string": b"watch=true", "headers": [],
        }  # fmt: skip

        async def receive():
            return {"type": "http.request", "body": b""}

        async def send(_message):
            return None

        await RequestMetrics(app)(scope, receive, send)

    read_only = sample("apiserver_current_inflight_requests", request_kind="readOnly")
    asyncio.run(call())
    assert seen == [(1.0, read_only)]
    assert sample("apiserver_longrunning_requests", **watch) == 0
