"""Watch over HTTP: ordered events from a resourceVersion, selector transitions,
bookmarks, timeouts, resuming across an apiserver restart, and 410 after compaction."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from deploy.controlplane import make_workdir, remove_workdir, start_apiserver


def pod(name: str, labels: dict | None = None) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels or {"app": "w"}},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    }


def watch_lines(http: httpx.Client, path: str, **params) -> Iterator[dict]:
    with http.stream("GET", path, params={"watch": "true", **params}, timeout=30) as r:
        assert r.status_code == 200, r.read()
        for line in r.iter_lines():
            if line.strip():
                yield json.loads(line)


def collect(http, path, count: int, **params) -> list[dict]:
    out: list[dict] = []
    for ev in watch_lines(http, path, **params):
        out.append(ev)
        if len(out) >= count:
            break
    return out


def in_background(fn, *args) -> threading.Thread:
    t = threading.Thread(target=fn, args=args, daemon=True)
    t.start()
    return t


def test_watch_from_list_revision_sees_changes_in_order(http, namespace):
    path = f"/api/v1/namespaces/{namespace}/pods"
    http.post(path, json=pod("before"))
    rv = http.get(path).json()["metadata"]["resourceVersion"]

    def writes():
        time.sleep(0.3)
        http.post(path, json=pod("a"))
        current = http.get(f"{path}/a").json()
        current["metadata"]["labels"]["v"] = "2"
        http.put(f"{path}/a", json=current)
        http.delete(f"{path}/a")

    in_background(writes)
    events = collect(http, path, 3, resourceVersion=rv, timeoutSeconds=15)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "a"),
        ("MODIFIED", "a"),
        ("DELETED", "a"),
    ]
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert rvs == sorted(rvs) and rvs[0] > int(rv)
    assert all(e["object"]["kind"] == "Pod" for e in events)


def test_watch_without_resource_version_starts_with_current_state(http, namespace):
    path = f"/api/v1/namespaces/{namespace}/pods"
    for name in ("x", "y"):
        http.post(path, json=pod(name))
    for rv in (None, "0"):
        params = (
            {"timeoutSeconds": 5} if rv is None else {"resourceVersion": rv, "timeoutSeconds": 5}
        )
        events = collect(http, path, 2, **params)
        assert sorted(e["object"]["metadata"]["name"] for e in events) == ["x", "y"]
        assert {e["type"] for e in events} == {"ADDED"}


def test_label_selector_watch_sees_objects_enter_and_leave(http, namespace):
    path = f"/api/v1/namespaces/{namespace}/pods"
    rv = http.get(path).json()["metadata"]["resourceVersion"]

    def writes():
        time.sleep(0.3)
        http.post(path, json=pod("m", {"app": "other"}))
        obj = http.get(f"{path}/m").json()
        obj["metadata"]["labels"] = {"app": "chosen"}
        obj = http.put(f"{path}/m", json=obj).json()
        obj["metadata"]["labels"] = {"app": "gone"}
        http.put(f"{path}/m", json=obj)

    in_background(writes)
    events = collect(
        http, path, 2, resourceVersion=rv, labelSelector="app=chosen", timeoutSeconds=15
    )
    assert [e["type"] for e in events] == ["ADDED", "DELETED"]


def test_timeout_ends_the_stream_and_bookmarks_arrive(http, namespace):
    path = f"/api/v1/namespaces/{namespace}/pods"
    rv = http.get(path).json()["metadata"]["resourceVersion"]
    start = time.monotonic()
    events = list(watch_lines(http, path, resourceVersion=rv, timeoutSeconds=2))
    assert 1.5 < time.monotonic() - start < 8 and events == []
    bookmarks = collect(
        http, path, 1, resourceVersion=rv, timeoutSeconds=20, allowWatchBookmarks="true"
    )
    assert bookmarks[0]["type"] == "BOOKMARK"
    assert int(bookmarks[0]["object"]["metadata"]["resourceVersion"]) >= int(rv)


def test_invalid_resource_version_is_a_bad_request(http, namespace):
    r = http.get(
        f"/api/v1/namespaces/{namespace}/pods", params={"watch": "true", "resourceVersion": "abc"}
    )
    assert r.status_code == 400


@pytest.fixture
def own_apiserver(etcd):
    """An apiserver of this test's own, to restart without disturbing the others."""
    workdir = make_workdir("minik-watch-")
    server = start_apiserver(etcd, workdir)
    yield server
    server.stop()
    remove_workdir(workdir)


def test_resume_after_apiserver_restart_has_no_gap_and_no_duplicate(own_apiserver):
    ns = "resume"
    with own_apiserver.http() as http:
        http.post("/api/v1/namespaces", json={"metadata": {"name": ns}})
        path = f"/api/v1/namespaces/{ns}/pods"
        rv = http.get(path).json()["metadata"]["resourceVersion"]
        for i in range(3):
            http.post(path, json=pod(f"first-{i}"))
        events = collect(http, path, 2, resourceVersion=rv, timeoutSeconds=10)
        last_rv = events[-1]["object"]["metadata"]["resourceVersion"]
    own_apiserver.restart()
    with own_apiserver.http() as http:
        for i in range(2):
            http.post(path, json=pod(f"second-{i}"))
        resumed = collect(http, path, 3, resourceVersion=last_rv, timeoutSeconds=10)
        names = [e["object"]["metadata"]["name"] for e in resumed]
        assert names == ["first-2", "second-0", "second-1"]
        http.delete(f"/api/v1/namespaces/{ns}")


def test_compacted_resource_version_gets_410_expired(own_apiserver, etcd):
    import asyncio

    from apiserver.storage import Storage

    with own_apiserver.http() as http:
        path = "/api/v1/namespaces/default/endpoints"
        created = http.post(path, json={"metadata": {"name": "compact-me"}}).json()
        old_rv = created["metadata"]["resourceVersion"]
        for i in range(3):
            current = http.get(f"{path}/compact-me").json()
            current["metadata"]["labels"] = {"i": str(i)}
            http.put(f"{path}/compact-me", json=current)

        async def compact() -> None:
            storage = Storage([etcd.url])
            await storage.connect()
            await storage.compact(await storage.revision())
            await storage.close()

        asyncio.run(compact())
        own_apiserver.restart()  # a fresh watch cache: the old revision is only in etcd
    with own_apiserver.http() as http:
        events = collect(http, path, 1, resourceVersion=old_rv, timeoutSeconds=10)
        assert events[0]["type"] == "ERROR"
        status = events[0]["object"]
        assert status["code"] == 410 and status["reason"] == "Expired"
        http.delete(f"{path}/compact-me")
