"""Streaming lists (a watch with sendInitialEvents, Kubernetes' WatchList, on by default
in a 1.32 apiserver): the current state as ADDED events, a BOOKMARK annotated
`k8s.io/initial-events-end` at the state's resourceVersion, then the changes; and the
option checks kube-apiserver makes (real apiserver, real etcd)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import httpx
import pytest

from tests.support.wait import eventually

POD_PATH = "/api/v1/namespaces/{ns}/pods"
END = "k8s.io/initial-events-end"


def pod(name: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {"containers": [{"name": "main", "image": "busybox:1.36"}]},
    }


def events(http: httpx.Client, path: str, **params: str) -> Iterator[dict]:
    with http.stream("GET", path, params={"watch": "1", "timeoutSeconds": "10", **params}) as r:
        assert r.status_code == 200, r.read()
        for line in r.iter_lines():
            if line:
                yield json.loads(line)


def streaming(resource_version: str | None = None, **more: str) -> dict[str, str]:
    params = {
        "sendInitialEvents": "true",
        "resourceVersionMatch": "NotOlderThan",
        "allowWatchBookmarks": "true",
        **more,
    }
    if resource_version is not None:
        params["resourceVersion"] = resource_version
    return params


@pytest.mark.parametrize("from_version", [False, True], ids=["consistent", "not-older-than"])
def test_initial_state_then_the_end_bookmark_then_changes(http, namespace, from_version):
    path = POD_PATH.format(ns=namespace)
    written = [http.post(path, json=pod(n)).json() for n in ("a", "b")]
    newest = max(int(o["metadata"]["resourceVersion"]) for o in written)
    rv = written[0]["metadata"]["resourceVersion"] if from_version else None
    stream = events(http, path, **streaming(rv))
    first = [next(stream), next(stream)]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in first] == [
        ("ADDED", "a"),
        ("ADDED", "b"),
    ]
    end = next(stream)
    assert end["type"] == "BOOKMARK"
    assert end["object"]["kind"] == "Pod" and end["object"]["apiVersion"] == "v1"
    assert end["object"]["metadata"]["annotations"] == {END: "true"}
    assert int(end["object"]["metadata"]["resourceVersion"]) >= newest
    assert http.post(path, json=pod("c")).status_code == 201
    change = next(e for e in stream if e["type"] != "BOOKMARK")
    assert (change["type"], change["object"]["metadata"]["name"]) == ("ADDED", "c")
    stream.close()


def test_without_initial_events_a_watch_starts_now(http, namespace):
    """sendInitialEvents=false and no resourceVersion: nothing from before, no end
    bookmark, the changes from the moment the watch began (pods are created until one
    is seen: when the server began is not visible to the client)."""
    path = POD_PATH.format(ns=namespace)
    assert http.post(path, json=pod("old")).status_code == 201
    seen: list[tuple[str, str]] = []

    def read() -> None:
        params = streaming(sendInitialEvents="false", timeoutSeconds="8")
        for e in events(http, path, **params):
            seen.append((e["type"], e["object"]["metadata"].get("name", "")))
            if e["type"] == "ADDED":
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    created = iter(range(40))

    def a_new_pod_was_seen() -> bool:
        name = f"new-{next(created)}"
        assert http.post(path, json=pod(name)).status_code == 201
        return any(kind == "ADDED" for kind, _ in seen)

    eventually(a_new_pod_was_seen, timeout=8, interval=0.2)
    reader.join(timeout=10)
    added = [name for kind, name in seen if kind != "BOOKMARK"]
    assert len(added) == 1 and added[0].startswith("new-"), seen


def test_a_resource_version_etcd_has_not_reached_ends_in_an_error_event(http, namespace):
    path = POD_PATH.format(ns=namespace)
    rv = http.get(path).json()["metadata"]["resourceVersion"]
    future = str(int(rv) + 100_000)
    stream = events(http, path, **streaming(future))
    error = next(stream)
    assert error["type"] == "ERROR"
    assert error["object"]["code"] == 504
    assert error["object"]["details"]["causes"][0]["reason"] == "ResourceVersionTooLarge"
    stream.close()


@pytest.mark.parametrize(
    ("params", "says"),
    [
        (
            {"sendInitialEvents": "true"},
            "resourceVersionMatch: Forbidden: sendInitialEvents requires setting "
            "resourceVersionMatch to NotOlderThan",
        ),
        (
            {"resourceVersionMatch": "NotOlderThan", "resourceVersion": "1"},
            "resourceVersionMatch is forbidden for watch unless sendInitialEvents is provided",
        ),
        (
            {"sendInitialEvents": "true", "resourceVersionMatch": "Exact"},
            'resourceVersionMatch: Unsupported value: "Exact": supported values: "NotOlderThan"',
        ),
    ],
)
def test_bad_watch_options_are_a_422(http, namespace, params, says):
    r = http.get(POD_PATH.format(ns=namespace), params={"watch": "1", **params})
    assert r.status_code == 422, r.text
    status = r.json()
    assert status["reason"] == "Invalid" and says in status["message"]
    assert (status["details"]["kind"], status["details"]["group"]) == ("ListOptions", "meta.k8s.io")


def test_the_official_python_client_streams_a_list(apiserver, namespace):
    """kubernetes (the official client) asks for a streaming list with its own
    parameters and sees the end bookmark."""
    kubernetes = pytest.importorskip("kubernetes")
    with apiserver.http() as http:
        assert http.post(POD_PATH.format(ns=namespace), json=pod("x")).status_code == 201
    api_client = kubernetes.config.new_client_from_config(str(apiserver.kubeconfig))
    try:
        core = kubernetes.client.CoreV1Api(api_client)
        seen = []
        for event in kubernetes.watch.Watch().stream(
            core.list_namespaced_pod,
            namespace,
            send_initial_events=True,
            resource_version_match="NotOlderThan",
            allow_watch_bookmarks=True,
            timeout_seconds=5,
        ):
            if event["type"] == "BOOKMARK":
                annotations = event["raw_object"]["metadata"].get("annotations") or {}
                seen.append(("BOOKMARK", annotations.get(END)))
                break
            seen.append((event["type"], event["object"].metadata.name))
    finally:
        api_client.close()
    assert seen == [("ADDED", "x"), ("BOOKMARK", "true")]
