"""The dashboard's HTTP side without a cluster: the page and its assets, a pod's log as
Server-Sent Events (the apiserver answered by httpx's MockTransport), the hub's
messages to subscribers."""

from __future__ import annotations

import json

import httpx
from starlette.testclient import TestClient

from client.rest import AsyncClient
from dashboard.app import create_app, sse
from dashboard.hub import Hub


def client_for(handler) -> tuple[TestClient, Hub]:  # type: ignore[no-untyped-def]
    api = AsyncClient(server="http://apiserver.test", transport=httpx.MockTransport(handler))
    hub = Hub(api)
    return TestClient(create_app(hub, api)), hub


def events(body: str) -> list[tuple[str, object]]:
    out = []
    for block in body.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        out.append((fields.get("event", "message"), json.loads(fields["data"])))
    return out


def test_the_page_and_its_assets_are_served_from_the_package() -> None:
    client, _ = client_for(lambda request: httpx.Response(404))
    page = client.get("/")
    assert page.status_code == 200 and '<script src="/static/app.js">' in page.text
    for asset in ("app.js", "style.css"):
        assert client.get(f"/static/{asset}").status_code == 200
    assert client.get("/healthz").status_code == 503  # no informer has listed yet


def test_a_pod_log_is_streamed_line_by_line_then_says_it_ended() -> None:
    seen: list[httpx.Request] = []

    def apiserver(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text="one\ntwo <b>\nthree")

    client, _ = client_for(apiserver)
    body = client.get("/api/logs/default/web-1?container=app").text
    assert events(body) == [
        ("message", "one"),
        ("message", "two <b>"),
        ("message", "three"),
        ("end", "the log stream ended (the container stopped?)"),
    ]
    assert seen[0].url.path == "/api/v1/namespaces/default/pods/web-1/log"
    assert dict(seen[0].url.params) == {"follow": "true", "tailLines": "500", "container": "app"}


def test_an_apiserver_error_on_the_log_is_one_failure_event() -> None:
    status = {
        "kind": "Status",
        "apiVersion": "v1",
        "status": "Failure",
        "message": 'container "app" in pod "web-1" is waiting to start: ContainerCreating',
        "reason": "BadRequest",
        "code": 400,
    }
    client, _ = client_for(lambda request: httpx.Response(400, json=status))
    [(kind, text)] = events(client.get("/api/logs/default/web-1").text)
    assert kind == "failure" and "waiting to start: ContainerCreating" in str(text)


def test_a_view_that_did_not_change_is_not_sent_again() -> None:
    _, hub = client_for(lambda request: httpx.Response(404))
    queue = hub.subscribe()
    hub._put("nodes", "n1", {"name": "n1", "ready": True})
    hub._put("nodes", "n1", {"name": "n1", "ready": True})  # a heartbeat: same view
    hub._put("nodes", "n1", {"name": "n1", "ready": False})
    hub._delete("nodes", "n1")
    hub._delete("nodes", "n1")
    got = [queue.get_nowait() for _ in range(queue.qsize())]
    assert [(m["op"], m.get("view")) for m in got if m] == [
        ("put", {"name": "n1", "ready": True}),
        ("put", {"name": "n1", "ready": False}),
        ("delete", None),
    ]
    assert hub.snapshot()["views"]["nodes"] == {}


def test_sse_data_is_one_line_of_json() -> None:
    assert sse({"a": "x\ny"}, "put") == 'event: put\ndata: {"a":"x\\ny"}\n\n'
