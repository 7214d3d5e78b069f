"""Client and AsyncClient against a scripted transport: paths, params, headers, bodies,
typed errors, pagination and watch-stream parsing. Both clients are driven through the
same cases, since they share every request-building operation."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from api.errors import AlreadyExists, ApiError, Gone, Invalid, NotFound, Unauthorized
from api.resources import lookup
from client import rest
from client.errors import ConnectionFailed
from client.kubeconfig import KubeConfig
from client.rest import ALL_NAMESPACES, AsyncClient, Client, parse_watch_line

PODS = lookup("pods")
DEPLOY = lookup("deployments")
NODES = lookup("nodes")
CONFIG = KubeConfig(server="http://127.0.0.1:9", token="tok", namespace="team")


class Recorder:
    """A fake apiserver: records requests, answers from a routing function."""

    def __init__(self, route: Callable[[httpx.Request], httpx.Response]) -> None:
        self.route = route
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        return self.route(request)

    def sync(self, **kw: Any) -> Client:
        return Client(CONFIG, transport=httpx.MockTransport(self), **kw)

    def asyncc(self, **kw: Any) -> AsyncClient:
        return AsyncClient(CONFIG, transport=httpx.MockTransport(self), **kw)


def ok(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def status(code: int, reason: str, message: str, **details: Any) -> httpx.Response:
    body = {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "code": code,
        "reason": reason,
        "message": message,
    }
    if details:
        body["details"] = details
    return httpx.Response(code, json=body)


def echo(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content) if request.content else {}
    return ok({"kind": "Echo", "method": request.method, "body": body}, 201)


def run_both(rec: Recorder, call: Callable[[Any], Any]) -> tuple[Any, Any]:
    """Run one call with the sync and the async client; return both results."""
    with rec.sync() as c:
        sync_result = call(c)

    async def go() -> Any:
        async with rec.asyncc() as c:
            return await call(c)

    return sync_result, asyncio.run(go())


def test_get_path_headers_and_namespace_default():
    rec = Recorder(lambda r: ok({"kind": "Pod", "metadata": {"name": "a"}}))
    a, b = run_both(rec, lambda c: c.get(PODS, "a"))
    assert a == b == {"kind": "Pod", "metadata": {"name": "a"}}
    for req in rec.requests:
        assert req.method == "GET"
        assert req.url.path == "/api/v1/namespaces/team/pods/a"  # the context's namespace
        assert req.headers["authorization"] == "Bearer tok"
        assert req.headers["accept"] == "application/json"


def test_namespaces_for_each_kind_of_call():
    rec = Recorder(echo)
    with rec.sync() as c:
        c.get(PODS, "a", "other")
        c.get(NODES, "n1", "ignored")  # cluster-scoped
        c.create(PODS, {"metadata": {"name": "x", "namespace": "objns"}})
        c.list(PODS, ALL_NAMESPACES)
        c.list(DEPLOY)
        c.get(DEPLOY, "web", subresource="scale")
    paths = [r.url.path for r in rec.requests]
    assert paths == [
        "/api/v1/namespaces/other/pods/a",
        "/api/v1/nodes/n1",
        "/api/v1/namespaces/objns/pods",
        "/api/v1/pods",
        "/apis/apps/v1/namespaces/team/deployments",
        "/apis/apps/v1/namespaces/team/deployments/web/scale",
    ]


def test_list_follows_continue_tokens():
    pages = {
        None: {"items": [{"n": 1}], "metadata": {"resourceVersion": "10", "continue": "p2"}},
        "p2": {"items": [{"n": 2}], "metadata": {"resourceVersion": "10", "continue": "p3"}},
        "p3": {"items": [{"n": 3}], "metadata": {"resourceVersion": "10"}},
    }

    def route(r: httpx.Request) -> httpx.Response:
        page = pages[r.url.params.get("continue")]
        return ok({"kind": "PodList", "apiVersion": "v1", **json.loads(json.dumps(page))})

    rec = Recorder(route)
    a, b = run_both(rec, lambda c: c.list(PODS, label_selector="app=web", limit=1))
    for result in (a, b):
        assert [i["n"] for i in result["items"]] == [1, 2, 3]
        assert result["metadata"] == {"resourceVersion": "10"}
        assert result["kind"] == "PodList"
    first, second = rec.requests[0].url.params, rec.requests[1].url.params
    assert first["labelSelector"] == "app=web" and first["limit"] == "1"
    assert "continue" not in first
    assert second["continue"] == "p2" and second["labelSelector"] == "app=web"


def test_writes_send_the_right_verbs_types_and_params():
    rec = Recorder(echo)
    obj = {"metadata": {"name": "web", "namespace": "ns"}, "spec": {"replicas": 1}}

    def calls(c: Any) -> list[Any]:
        return [
            c.create(DEPLOY, obj, params={"fieldManager": "me"}),
            c.update(DEPLOY, obj),
            c.update_status(DEPLOY, obj),
            c.patch(DEPLOY, "web", {"spec": {"replicas": 2}}, "strategic", "ns"),
            c.patch(DEPLOY, "web", [{"op": "remove", "path": "/x"}], "json", "ns"),
            c.patch(DEPLOY, "web", obj, "apply", "ns", field_manager="mgr", force=True),
            c.patch(DEPLOY, "web", {"spec": {"replicas": 3}}, namespace="ns", subresource="scale"),
            c.delete(DEPLOY, "web", "ns", propagation_policy="Foreground", grace_period_seconds=0),
            c.delete_collection(PODS, "ns", label_selector="a=b"),
        ]

    with rec.sync() as c:
        calls(c)
    got = [
        (r.method, r.url.path, r.headers.get("content-type"), dict(r.url.params))
        for r in rec.requests
    ]
    base = "/apis/apps/v1/namespaces/ns/deployments"
    assert got == [
        ("POST", base, "application/json", {"fieldManager": "me"}),
        ("PUT", f"{base}/web", "application/json", {}),
        ("PUT", f"{base}/web/status", "application/json", {}),
        ("PATCH", f"{base}/web", "application/strategic-merge-patch+json", {}),
        ("PATCH", f"{base}/web", "application/json-patch+json", {}),
        (
            "PATCH",
            f"{base}/web",
            "application/apply-patch+yaml",
            {"fieldManager": "mgr", "force": "true"},
        ),
        ("PATCH", f"{base}/web/scale", "application/merge-patch+json", {}),
        ("DELETE", f"{base}/web", "application/json", {}),
        ("DELETE", "/api/v1/namespaces/ns/pods", "application/json", {"labelSelector": "a=b"}),
    ]
    assert json.loads(rec.requests[7].content) == {
        "kind": "DeleteOptions",
        "apiVersion": "v1",
        "propagationPolicy": "Foreground",
        "gracePeriodSeconds": 0,
    }


def test_async_client_sends_the_same_requests():
    rec = Recorder(echo)
    obj = {"metadata": {"name": "web", "namespace": "ns"}}

    def calls(c: Any) -> Any:
        return c.patch(DEPLOY, "web", obj, "apply", "ns", field_manager="m")

    run_both(rec, calls)
    a, b = rec.requests
    assert (a.method, a.url, a.headers["content-type"], a.content) == (
        b.method,
        b.url,
        b.headers["content-type"],
        b.content,
    )


def test_apply_patch_needs_a_field_manager_and_types_are_checked():
    rec = Recorder(echo)
    with rec.sync() as c:
        with pytest.raises(ValueError, match="field_manager"):
            c.patch(DEPLOY, "web", {}, "apply")
        with pytest.raises(ValueError, match="unknown patch type"):
            c.patch(DEPLOY, "web", {}, "yaml")
    assert rec.requests == []


@pytest.mark.parametrize(
    ("response", "kind", "code"),
    [
        (status(404, "NotFound", 'pods "a" not found', name="a", kind="pods"), NotFound, 404),
        (status(409, "AlreadyExists", 'pods "a" already exists'), AlreadyExists, 409),
        (status(410, "Expired", "too old resource version"), Gone, 410),
        (status(401, "Unauthorized", "Unauthorized"), Unauthorized, 401),
        (
            status(
                422,
                "Invalid",
                'Pod "a" is invalid: spec.containers: Required value',
                causes=[{"field": "spec.containers", "message": "Required value"}],
            ),
            Invalid,
            422,
        ),
        (httpx.Response(502, text="bad gateway"), ApiError, 502),
    ],
)
def test_errors_are_typed_and_carry_the_status(response, kind, code):
    rec = Recorder(lambda r: response)
    with rec.sync() as c, pytest.raises(kind) as info:
        c.get(PODS, "a")
    assert info.value.code == code
    if code == 422:
        assert info.value.causes == [{"field": "spec.containers", "message": "Required value"}]
    if code == 502:
        assert info.value.message == "bad gateway"


def test_connection_refused_names_the_server():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    client = Client(server=f"http://127.0.0.1:{port}", token="t")
    with pytest.raises(ConnectionFailed) as info:
        client.get(PODS, "a")
    assert f"127.0.0.1:{port}" in str(info.value)
    assert "refused" in str(info.value)
    assert "\n" not in str(info.value)

    async def go() -> None:
        async with AsyncClient(server=f"http://127.0.0.1:{port}") as ac:
            await ac.list(PODS)

    with pytest.raises(ConnectionFailed):
        asyncio.run(go())


def test_server_warnings_are_reported():
    seen: list[str] = []
    rec = Recorder(lambda r: ok({}, headers={"Warning": '299 - "spec.foo: deprecated"'}))
    with rec.sync(on_warning=seen.append) as c:
        c.get(PODS, "a")
    assert seen == ["spec.foo: deprecated"]


WATCH_BODY = (
    b'{"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"5"}}}\n'
    b"\n"
    b'{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"7"}}}\n'
    b'{"type":"DELETED","object":{"metadata":{"name":"a","resourceVersion":"8"}}}\n'
)


def test_watch_streams_events_sync_and_async():
    rec = Recorder(lambda r: httpx.Response(200, content=WATCH_BODY))
    with rec.sync() as c:
        sync_events = list(
            c.watch(
                PODS,
                resource_version="4",
                allow_bookmarks=True,
                timeout_seconds=30,
                label_selector="a=b",
                name="a",
            )
        )

    async def go() -> list:
        async with rec.asyncc() as c:
            return [e async for e in c.watch(PODS, ALL_NAMESPACES, resource_version="4")]

    async_events = asyncio.run(go())
    assert [t for t, _ in sync_events] == ["ADDED", "BOOKMARK", "DELETED"]
    assert sync_events == async_events
    params = rec.requests[0].url.params
    assert dict(params) == {
        "watch": "true",
        "resourceVersion": "4",
        "labelSelector": "a=b",
        "fieldSelector": "metadata.name=a",
        "timeoutSeconds": "30",
        "allowWatchBookmarks": "true",
    }
    assert rec.requests[1].url.path == "/api/v1/pods"


def test_a_bookmarked_watch_has_a_read_timeout_and_others_none():
    rec = Recorder(lambda r: httpx.Response(200, content=WATCH_BODY))
    with rec.sync() as c:
        list(c.watch(PODS, allow_bookmarks=True))
        list(c.watch(PODS))

    async def go() -> None:
        async with rec.asyncc() as c:
            [e async for e in c.watch(PODS, allow_bookmarks=True)]

    asyncio.run(go())
    reads = [r.extensions["timeout"]["read"] for r in rec.requests]
    assert reads == [rest.WATCH_SILENCE_SECONDS, None, rest.WATCH_SILENCE_SECONDS]


def test_a_silent_bookmarked_watch_is_dropped_as_a_lost_connection(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A server that answered, sent one event and then nothing (a cut link): the
    watch fails after the silence allowed, so ResumableWatch resumes it."""
    silent = httpx.Timeout(connect=5.0, read=0.3, write=5.0, pool=5.0)
    monkeypatch.setattr(rest, "_BOOKMARKED_WATCH_TIMEOUT", silent)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        client = Client(server=f"http://127.0.0.1:{port}", token="t")
        done = threading.Event()
        gave_up: list[bool] = []

        def answer_once_then_go_quiet() -> None:
            conn, _ = server.accept()
            with conn:
                conn.recv(65536)
                event = WATCH_BODY.split(b"\n")[0] + b"\n"
                conn.sendall(
                    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                    b"Transfer-Encoding: chunked\r\n\r\n"
                    + f"{len(event):x}\r\n".encode()
                    + event
                    + b"\r\n"
                )
                if not done.wait(10):
                    gave_up.append(True)  # the client never dropped it: closed here

        thread = threading.Thread(target=answer_once_then_go_quiet, daemon=True)
        thread.start()
        events = []
        try:
            with pytest.raises(ConnectionFailed):
                for event in client.watch(PODS, allow_bookmarks=True):
                    events.append(event[0])
        finally:
            done.set()
            thread.join(10)
            client.close()
    assert events == ["ADDED"] and not gave_up


def test_watch_start_error_is_raised():
    rec = Recorder(lambda r: status(410, "Expired", "too old resource version: 1 (50)"))
    with rec.sync() as c, pytest.raises(Gone, match="too old"):
        list(c.watch(PODS, resource_version="1"))


def test_table_accept_header():
    rec = Recorder(lambda r: ok({"kind": "Table", "rows": [], "metadata": {}}))
    with rec.sync() as c:
        c.list(PODS, as_table=True)
    assert "as=Table" in rec.requests[0].headers["accept"]


def test_parse_watch_line():
    assert parse_watch_line(b'{"type":"MODIFIED","object":{"a":1}}') == ("MODIFIED", {"a": 1})
    with pytest.raises(ApiError, match="malformed"):
        parse_watch_line("not json")
    with pytest.raises(ApiError, match="malformed"):
        parse_watch_line('{"type":"ADDED"}')


def test_raw_request_and_get_path():
    rec = Recorder(
        lambda r: (
            httpx.Response(200, text="log line\n")
            if r.url.path.endswith("/log")
            else ok({"gitVersion": "v1.32.0"})
        )
    )
    with rec.sync() as c:
        assert c.get_path("/version") == {"gitVersion": "v1.32.0"}
        resp = c.request("GET", "/api/v1/namespaces/ns/pods/a/log", params={"follow": False})
        assert resp.text == "log line\n"
    assert rec.requests[1].url.params["follow"] == "false"
