"""events.k8s.io/v1 serves the same Events as core/v1 in its own shape, as Kubernetes
does: written through one, read through the other, with its stricter create rules,
its field labels, watches, patches, kubectl and the official client's EventsV1Api."""

from __future__ import annotations

import json

import httpx
from kubernetes import client as k8s

from deploy.controlplane import ApiServer
from tests.support.kubectl import Kubectl

NOW = "2026-12-06T04:00:00.000000Z"


def new_event(name: str, namespace: str, pod: str = "web-0", **extra: object) -> dict:
    return {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        "metadata": {"name": name},
        "eventTime": NOW,
        "reportingController": "example.com/operator",
        "reportingInstance": "operator-1",
        "action": "Reconcile",
        "reason": "Synced",
        "type": "Normal",
        "note": "all good",
        "regarding": {"kind": "Pod", "name": pod, "apiVersion": "v1", "namespace": namespace},
        **extra,
    }


def test_written_as_events_v1_read_as_core_and_back(http: httpx.Client, namespace: str) -> None:
    v1 = f"/apis/events.k8s.io/v1/namespaces/{namespace}/events"
    core = f"/api/v1/namespaces/{namespace}/events"
    r = http.post(v1, json=new_event("a", namespace))
    assert r.status_code == 201, r.text
    created = r.json()
    assert created["apiVersion"] == "events.k8s.io/v1" and created["note"] == "all good"
    assert "message" not in created and "involvedObject" not in created
    as_core = http.get(f"{core}/a").json()
    assert as_core["message"] == "all good"
    assert as_core["involvedObject"]["name"] == "web-0"
    assert as_core["reportingComponent"] == "example.com/operator"

    old_style = {
        "metadata": {"name": "b"},
        "involvedObject": {"kind": "Pod", "name": "web-1", "namespace": namespace},
        "reason": "Pulled",
        "message": "pulled it",
        "type": "Normal",
        "source": {"component": "kubelet"},
        "count": 2,
    }
    assert http.post(core, json=old_style).status_code == 201
    seen = http.get(f"{v1}/b").json()
    assert seen["note"] == "pulled it" and seen["regarding"]["name"] == "web-1"
    assert seen["deprecatedSource"] == {"component": "kubelet"} and seen["deprecatedCount"] == 2

    listed = http.get(v1, params={"fieldSelector": "regarding.name=web-1"}).json()
    assert listed["kind"] == "EventList" and listed["apiVersion"] == "events.k8s.io/v1"
    assert [e["metadata"]["name"] for e in listed["items"]] == ["b"]

    r = http.patch(
        f"{v1}/a",
        content=json.dumps({"note": "patched"}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 200 and r.json()["note"] == "patched"
    assert http.get(f"{core}/a").json()["message"] == "patched"

    with http.stream("GET", v1, params={"watch": "1", "timeoutSeconds": 2}) as watch:
        first = json.loads(next(watch.iter_lines()))
    assert first["object"]["apiVersion"] == "events.k8s.io/v1" and "note" in first["object"]


def test_events_v1_create_rules_name_their_fields(http: httpx.Client, namespace: str) -> None:
    v1 = f"/apis/events.k8s.io/v1/namespaces/{namespace}/events"
    bad = new_event("c", namespace)
    del bad["eventTime"], bad["action"]
    r = http.post(v1, json=bad)
    assert r.status_code == 422, r.text
    fields = {c["field"] for c in r.json()["details"]["causes"]}
    assert fields == {"eventTime", "action"}
    assert http.get(f"{v1}/c").status_code == 404  # nothing written


def test_kubectl_and_the_official_client(
    apiserver: ApiServer, http: httpx.Client, kubectl: Kubectl, namespace: str
) -> None:
    v1 = f"/apis/events.k8s.io/v1/namespaces/{namespace}/events"
    assert http.post(v1, json=new_event("d", namespace, pod="api-0")).status_code == 201
    out = kubectl.run("-n", namespace, "get", "events.v1.events.k8s.io").stdout
    assert "Synced" in out and "pod/api-0" in out and "all good" in out

    config = k8s.Configuration(host=apiserver.url)
    config.api_key = {"authorization": f"Bearer {apiserver.token}"}
    config.ssl_ca_cert = str(apiserver.ca_file)
    with k8s.ApiClient(config) as api_client:
        events = k8s.EventsV1Api(api_client)
        names = [e.metadata.name for e in events.list_namespaced_event(namespace).items]
        assert "d" in names
        body = k8s.EventsV1Event(
            metadata=k8s.V1ObjectMeta(name="e"),
            event_time=NOW,
            reporting_controller="example.com/c",
            reporting_instance="i",
            action="Act",
            reason="Done",
            type="Warning",
            note="from the client",
            regarding=k8s.V1ObjectReference(kind="Pod", name="x", namespace=namespace),
        )
        made = events.create_namespaced_event(namespace, body)
        assert made.note == "from the client" and made.type == "Warning"
