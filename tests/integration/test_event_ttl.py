"""Events expire --event-ttl after their last write (kube-apiserver's default: 1h), by
etcd leases: without it every Event stays in etcd for good (a churn soak wrote ~380 a
minute). Watchers see them go as DELETED; other objects do not expire. A cluster of
its own, with --event-ttl=2s."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import httpx
import pytest

from deploy.controlplane import ApiServer
from tests.support.components import etcd_and_apiserver

EVENTS = "/api/v1/namespaces/default/events"
EVENTS_V1 = "/apis/events.k8s.io/v1/namespaces/default/events"
CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


@pytest.fixture(scope="module")
def apiserver() -> Iterator[ApiServer]:
    with etcd_and_apiserver("minik-eventttl-", ["--event-ttl=2s"]) as server:
        yield server


def core_event(name: str) -> dict:
    return {
        "metadata": {"name": name},
        "involvedObject": {"kind": "Pod", "name": "p", "namespace": "default"},
        "reason": "Tested",
        "message": "expires",
        "type": "Normal",
    }


def deleted_names(http: httpx.Client, rv: str, wanted: set[str], timeout: int) -> set[str]:
    """Names of Events a watch from `rv` sees DELETED, until all `wanted` are seen."""
    seen: set[str] = set()
    params = {"watch": "1", "resourceVersion": rv, "timeoutSeconds": str(timeout)}
    with http.stream("GET", EVENTS, params=params, timeout=timeout + 5) as r:
        for line in r.iter_lines():
            if not line.strip():
                continue
            event = json.loads(line)
            if event["type"] == "DELETED":
                seen.add(event["object"]["metadata"]["name"])
                if wanted <= seen:
                    break
    return seen


def test_events_expire_after_the_ttl_and_other_objects_stay(apiserver: ApiServer) -> None:
    with apiserver.http() as http:
        created = http.post(EVENTS, json=core_event("core-1"))
        assert created.status_code == 201, created.text
        v1 = {
            "metadata": {"name": "v1-1"},
            "regarding": {"kind": "Pod", "name": "p", "namespace": "default"},
            "reason": "Tested",
            "note": "expires too",
            "type": "Normal",
            "action": "Testing",
            "reportingController": "minik.test/ttl",
            "reportingInstance": "test",
            "eventTime": "2026-01-01T00:00:00.000000Z",
        }
        assert http.post(EVENTS_V1, json=v1).status_code == 201
        assert http.post(CONFIGMAPS, json={"metadata": {"name": "stays"}}).status_code == 201
        began = time.monotonic()
        rv = str(int(created.json()["metadata"]["resourceVersion"]) - 1)
        assert deleted_names(http, rv, {"core-1", "v1-1"}, timeout=20) == {"core-1", "v1-1"}
        assert time.monotonic() - began >= 1.0  # not at once: when the 2 s lease ended
        assert http.get(f"{EVENTS}/core-1").status_code == 404
        assert http.get(f"{CONFIGMAPS}/stays").status_code == 200


def test_an_update_renews_the_ttl(apiserver: ApiServer) -> None:
    with apiserver.http() as http:
        created = http.post(EVENTS, json=core_event("renewed")).json()
        rv = created["metadata"]["resourceVersion"]
        # keep it alive past its first 2 s: each write (as the recorder's count+1) renews it
        for count in range(2, 6):
            time.sleep(0.8)
            patched = http.patch(
                f"{EVENTS}/renewed",
                json={"count": count},
                headers={"Content-Type": "application/merge-patch+json"},
            )
            assert patched.status_code == 200, (count, patched.text)
        assert deleted_names(http, rv, {"renewed"}, timeout=20) == {"renewed"}
