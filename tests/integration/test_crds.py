"""apiextensions.k8s.io/v1 CustomResourceDefinitions against the real apiserver and etcd:
the CRD's status, discovery within a second, full REST on its objects (every verb,
every patch type, server-side apply, selectors, watch, status and scale subresources),
schema pruning, defaulting and validation, two served versions over one storage
version, name conflicts, and deletion of the CRD taking its objects with it.

Every test makes its own CRD in a group of its own, so tests never see each other's."""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.support.wait import eventually

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def widget_crd(group: str, scope: str = "Namespaced") -> dict:
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "required": ["image"],
                "x-kubernetes-validations": [
                    {
                        "rule": "!has(self.tags) || size(self.tags) <= 2",
                        "message": "two tags at most",
                    }
                ],
                "properties": {
                    "image": {"type": "string", "minLength": 1},
                    "replicas": {"type": "integer", "minimum": 0, "maximum": 10, "default": 1},
                    "color": {"type": "string", "enum": ["red", "blue"]},
                    "port": {"x-kubernetes-int-or-string": True},
                    "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                    "tags": {
                        "type": "array",
                        "items": {"type": "string"},
                        "x-kubernetes-list-type": "set",
                    },
                    "selector": {"type": "string"},
                },
            },
            "status": {
                "type": "object",
                "properties": {
                    "replicas": {"type": "integer"},
                    "selector": {"type": "string"},
                    "phase": {"type": "string"},
                },
            },
        },
    }
    columns = [
        {"name": "Image", "type": "string", "jsonPath": ".spec.image"},
        {"name": "Replicas", "type": "integer", "jsonPath": ".spec.replicas"},
        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
    ]
    version = {
        "served": True,
        "selectableFields": [{"jsonPath": ".spec.color"}],
        "schema": {"openAPIV3Schema": schema},
        "subresources": {
            "status": {},
            "scale": {
                "specReplicasPath": ".spec.replicas",
                "statusReplicasPath": ".status.replicas",
                "labelSelectorPath": ".status.selector",
            },
        },
        "additionalPrinterColumns": columns,
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"widgets.{group}"},
        "spec": {
            "group": group,
            "scope": scope,
            "names": {
                "plural": "widgets",
                "singular": "widget",
                "kind": "Widget",
                "shortNames": ["wdg"],
                "categories": ["all"],
            },
            "versions": [
                {"name": "v1", "storage": True, **version},
                {"name": "v1beta1", "storage": False, **version},
            ],
        },
    }


@pytest.fixture
def group(http: httpx.Client) -> Iterator[str]:
    name = f"t{secrets.token_hex(4)}.example.com"
    yield name
    http.delete(f"{CRDS}/widgets.{name}")


@pytest.fixture
def crd(http: httpx.Client, group: str) -> dict:
    r = http.post(CRDS, json=widget_crd(group))
    assert r.status_code == 201, r.text
    return r.json()


def widget(name: str, group: str, version: str = "v1", **spec) -> dict:
    return {
        "apiVersion": f"{group}/{version}",
        "kind": "Widget",
        "metadata": {"name": name},
        "spec": {"image": "nginx", **spec},
    }


def test_crd_status_and_discovery(http: httpx.Client, group: str):
    """Established in the create's answer and served by discovery at once: nothing polls."""
    r = http.post(CRDS, json=widget_crd(group))
    assert r.status_code == 201, r.text
    status = r.json()["status"]
    conditions = {c["type"]: c["status"] for c in status["conditions"]}
    assert conditions == {"NamesAccepted": "True", "Established": "True"}
    assert status["acceptedNames"]["kind"] == "Widget"
    assert status["acceptedNames"]["listKind"] == "WidgetList"
    assert status["storedVersions"] == ["v1"]
    assert "customresourcecleanup.apiextensions.k8s.io" in r.json()["metadata"]["finalizers"]

    listed = http.get(f"/apis/{group}/v1").json()
    names = {r["name"]: r for r in listed["resources"]}
    assert names["widgets"]["kind"] == "Widget"
    assert names["widgets"]["shortNames"] == ["wdg"]
    assert names["widgets"]["categories"] == ["all"]
    assert names["widgets"]["namespaced"] is True
    assert set(names) == {"widgets", "widgets/status", "widgets/scale"}
    groups = {g["name"]: g for g in http.get("/apis").json()["groups"]}
    assert groups[group]["preferredVersion"]["version"] == "v1"
    assert [v["version"] for v in groups[group]["versions"]] == ["v1", "v1beta1"]
    aggregated = http.get(
        "/apis",
        headers={"Accept": "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"},
    ).json()
    mine = [g for g in aggregated["items"] if g["metadata"]["name"] == group]
    assert mine and mine[0]["versions"][0]["resources"][0]["resource"] == "widgets"


def test_crd_validation(http: httpx.Client, group: str):
    bad = widget_crd(group)
    bad["spec"]["versions"][1]["storage"] = True
    r = http.post(CRDS, json=bad)
    assert r.status_code == 422
    assert "must have exactly one version marked as storage version" in r.text
    bad = widget_crd(group)
    bad["metadata"]["name"] = "other.example.com"
    r = http.post(CRDS, json=bad)
    assert r.status_code == 422
    assert 'must be spec.names.plural+"."+spec.group' in r.json()["message"]
    bad = widget_crd(group)
    bad["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"].pop("type")
    r = http.post(CRDS, json=bad)
    assert r.status_code == 422
    fields = [c["field"] for c in r.json()["details"]["causes"]]
    assert "spec.versions[0].schema.openAPIV3Schema.properties[spec].type" in fields
    bad = widget_crd(group.replace(".example.com", ""))
    r = http.post(CRDS, json=bad)
    assert r.status_code == 422 and "should be a domain with at least one dot" in r.text


def test_name_conflict_refused(http: httpx.Client, group: str, crd: dict):
    other = widget_crd(group)
    other["metadata"]["name"] = f"gadgets.{group}"
    other["spec"]["names"] = {"plural": "gadgets", "kind": "Gadget", "shortNames": ["wdg"]}
    r = http.post(CRDS, json=other)
    assert r.status_code == 422, r.text
    assert 'shortName "wdg" is already in use' in r.json()["message"]
    http.delete(f"{CRDS}/gadgets.{group}")


def test_rest_verbs(http: httpx.Client, group: str, crd: dict, namespace: str):
    base = f"/apis/{group}/v1/namespaces/{namespace}/widgets"
    r = http.post(base, json=widget("a", group, color="red", port="http"))
    assert r.status_code == 201, r.text
    obj = r.json()
    assert obj["spec"]["replicas"] == 1  # defaulted
    assert obj["metadata"]["generation"] == 1
    http.post(base, json={**widget("b", group), "metadata": {"name": "b", "labels": {"x": "y"}}})
    # get, list, label and field selectors
    assert http.get(f"{base}/a").json()["spec"]["color"] == "red"
    assert [i["metadata"]["name"] for i in http.get(base).json()["items"]] == ["a", "b"]
    assert http.get(base).json()["kind"] == "WidgetList"
    only_b = http.get(base, params={"labelSelector": "x=y"}).json()["items"]
    assert [i["metadata"]["name"] for i in only_b] == ["b"]
    only_a = http.get(base, params={"fieldSelector": "metadata.name=a"}).json()["items"]
    assert [i["metadata"]["name"] for i in only_a] == ["a"]
    red = http.get(base, params={"fieldSelector": "spec.color=red"}).json()["items"]
    assert [i["metadata"]["name"] for i in red] == ["a"]
    r = http.get(base, params={"fieldSelector": "spec.image=nginx"})
    assert r.status_code == 400 and "field label not supported" in r.json()["message"]
    everywhere = http.get(f"/apis/{group}/v1/widgets").json()["items"]
    assert {i["metadata"]["namespace"] for i in everywhere} == {namespace}
    # update, merge / strategic (a merge for custom kinds) / json patches
    a = http.get(f"{base}/a").json()
    a["spec"]["replicas"] = 2
    r = http.put(f"{base}/a", json=a)
    assert r.status_code == 200 and r.json()["metadata"]["generation"] == 2
    for content_type in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
        r = http.patch(
            f"{base}/a",
            content=json.dumps({"spec": {"tags": ["x", "y"]}}),
            headers={"Content-Type": content_type},
        )
        assert r.status_code == 200, r.text
        assert r.json()["spec"]["tags"] == ["x", "y"]
    r = http.patch(
        f"{base}/a",
        content=json.dumps([{"op": "replace", "path": "/spec/image", "value": "busybox"}]),
        headers={"Content-Type": "application/json-patch+json"},
    )
    assert r.status_code == 200 and r.json()["spec"]["image"] == "busybox"
    # server-side apply creates, then owns fields
    applied = widget("c", group, color="blue")
    r = http.patch(
        f"{base}/c",
        params={"fieldManager": "me"},
        content=json.dumps(applied),
        headers={"Content-Type": "application/apply-patch+yaml"},
    )
    assert r.status_code == 201, r.text
    assert r.json()["metadata"]["managedFields"][0]["manager"] == "me"
    # delete with a finalizer waits for it; deletecollection
    r = http.patch(
        f"{base}/b",
        content=json.dumps({"metadata": {"finalizers": ["example.com/hold"]}}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 200, r.text
    r = http.delete(f"{base}/b")
    assert r.status_code == 200 and r.json()["metadata"]["deletionTimestamp"]
    http.patch(
        f"{base}/b",
        content=json.dumps({"metadata": {"finalizers": None}}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert http.get(f"{base}/b").status_code == 404
    r = http.delete(base)
    assert r.status_code == 200, r.text
    assert http.get(base).json()["items"] == []


def test_schema_pruning_and_validation(http: httpx.Client, group: str, crd: dict, namespace: str):
    base = f"/apis/{group}/v1/namespaces/{namespace}/widgets"
    body = widget("p", group, unknown=1, extra={"anything": {"goes": True}})
    r = http.post(base, json=body)
    assert r.status_code == 201, r.text
    assert "unknown" not in r.json()["spec"]
    assert r.json()["spec"]["extra"] == {"anything": {"goes": True}}
    assert 'unknown field \\"spec.unknown\\"' in r.headers.get("warning", "")
    r = http.post(base, params={"fieldValidation": "Strict"}, json=widget("q", group, nope=1))
    assert r.status_code == 400 and 'unknown field "spec.nope"' in r.json()["message"]
    bad = widget("r", group, replicas=11, color="green", port=[1], tags=["a", "a"])
    bad["spec"]["image"] = ""
    r = http.post(base, json=bad)
    assert r.status_code == 422, r.text
    causes = {c["field"]: c["message"] for c in r.json()["details"]["causes"]}
    assert causes["spec.replicas"] == (
        "Invalid value: 11: spec.replicas in body should be less than or equal to 10"
    )
    assert causes["spec.color"] == 'Unsupported value: "green": supported values: "red", "blue"'
    assert "spec.port" in causes and "spec.image" in causes and "spec.tags[1]" in causes
    r = http.post(base, json=widget("t", group, tags=["a", "b", "c"]))  # a CEL rule
    assert r.status_code == 422, r.text
    assert r.json()["details"]["causes"] == [
        {
            "field": "spec",
            "reason": "FieldValueInvalid",
            "message": 'Invalid value: "object": two tags at most',
        }
    ]
    r = http.post(base, json={**widget("s", group), "spec": {"replicas": "two"}})
    assert r.status_code == 422
    causes = {c["field"]: c["message"] for c in r.json()["details"]["causes"]}
    assert causes["spec.image"] == "Required value"
    assert "must be of type integer" in causes["spec.replicas"]


def test_status_and_scale_subresources(http: httpx.Client, group: str, crd: dict, namespace: str):
    base = f"/apis/{group}/v1/namespaces/{namespace}/widgets"
    r = http.post(base, json={**widget("w", group, replicas=2), "status": {"phase": "x"}})
    assert "status" not in r.json()  # status is the subresource's
    w = r.json()
    w["status"] = {"replicas": 2, "selector": "app=w", "phase": "Running"}
    r = http.put(f"{base}/w/status", json=w)
    assert r.status_code == 200 and r.json()["status"]["phase"] == "Running"
    w = r.json()
    w["status"]["phase"] = "Ignored"
    w["spec"]["replicas"] = 3
    r = http.put(f"{base}/w", json=w)
    assert r.json()["status"]["phase"] == "Running" and r.json()["spec"]["replicas"] == 3
    scale = http.get(f"{base}/w/scale").json()
    assert scale["kind"] == "Scale" and scale["spec"]["replicas"] == 3
    assert scale["status"] == {"replicas": 2, "selector": "app=w"}
    r = http.patch(
        f"{base}/w/scale",
        content=json.dumps({"spec": {"replicas": 5}}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 200, r.text
    assert http.get(f"{base}/w").json()["spec"]["replicas"] == 5


def test_versions_share_storage(http: httpx.Client, group: str, crd: dict, namespace: str):
    r = http.post(
        f"/apis/{group}/v1beta1/namespaces/{namespace}/widgets", json=widget("v", group, "v1beta1")
    )
    assert r.status_code == 201, r.text
    assert r.json()["apiVersion"] == f"{group}/v1beta1"
    got = http.get(f"/apis/{group}/v1/namespaces/{namespace}/widgets/v").json()
    assert got["apiVersion"] == f"{group}/v1"
    listed = http.get(f"/apis/{group}/v1beta1/namespaces/{namespace}/widgets").json()
    assert listed["apiVersion"] == f"{group}/v1beta1"
    assert listed["items"][0]["apiVersion"] == f"{group}/v1beta1"


def test_cluster_scoped(http: httpx.Client, group: str):
    r = http.post(CRDS, json=widget_crd(group, "Cluster"))
    assert r.status_code == 201, r.text
    r = http.post(f"/apis/{group}/v1/widgets", json=widget("c1", group))
    assert r.status_code == 201, r.text
    assert "namespace" not in r.json()["metadata"]
    assert http.get(f"/apis/{group}/v1/namespaces/default/widgets").status_code == 404
    assert http.get(f"/apis/{group}/v1/widgets/c1").status_code == 200


def test_watch(apiserver, http: httpx.Client, group: str, crd: dict, namespace: str):
    base = f"/apis/{group}/v1/namespaces/{namespace}/widgets"
    rv = http.get(base).json()["metadata"]["resourceVersion"]
    events: list[dict] = []

    def watch() -> None:
        with (
            apiserver.http() as client,
            client.stream(
                "GET", base, params={"watch": "true", "resourceVersion": rv, "timeoutSeconds": "5"}
            ) as stream,
        ):
            for line in stream.iter_lines():
                if line:
                    events.append(json.loads(line))
                if len(events) >= 3:
                    return

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    time.sleep(0.3)
    http.post(base, json=widget("x", group))
    http.patch(
        f"{base}/x",
        content=json.dumps({"spec": {"replicas": 4}}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    http.delete(f"{base}/x")
    t.join(10)
    assert [e["type"] for e in events] == ["ADDED", "MODIFIED", "DELETED"]
    assert events[1]["object"]["spec"]["replicas"] == 4
    assert events[0]["object"]["apiVersion"] == f"{group}/v1"


def test_delete_crd_deletes_objects(http: httpx.Client, group: str, crd: dict, namespace: str):
    base = f"/apis/{group}/v1/namespaces/{namespace}/widgets"
    for name in ("d1", "d2"):
        assert http.post(base, json=widget(name, group)).status_code == 201
    r = http.patch(  # an object with a finalizer holds the CRD's deletion up
        f"{base}/d1",
        content=json.dumps({"metadata": {"finalizers": ["example.com/hold"]}}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 200
    r = http.delete(f"{CRDS}/widgets.{group}")
    assert r.status_code == 200
    assert r.json()["metadata"]["deletionTimestamp"]

    def refused() -> bool:
        return http.post(base, json=widget("d3", group)).status_code == 405

    eventually(refused, timeout=5)

    def cleaning() -> bool:
        held = http.get(f"{base}/d1").json()["metadata"].get("deletionTimestamp")
        return bool(held) and http.get(f"{base}/d2").status_code == 404

    eventually(cleaning, timeout=5)
    conditions = http.get(f"{CRDS}/widgets.{group}").json()["status"]["conditions"]
    assert {c["type"]: c["reason"] for c in conditions}["Terminating"] == (
        "InstanceDeletionInProgress"
    )
    http.patch(
        f"{base}/d1",
        content=json.dumps({"metadata": {"finalizers": None}}),
        headers={"Content-Type": "application/merge-patch+json"},
    )

    def gone() -> bool:
        assert http.get(f"{CRDS}/widgets.{group}").status_code == 404
        assert http.get(f"/apis/{group}/v1").status_code == 404
        return group not in {g["name"] for g in http.get("/apis").json()["groups"]}

    eventually(gone, timeout=10)
    # created again, the kind starts empty: its objects went with the old CRD
    assert http.post(CRDS, json=widget_crd(group)).status_code == 201
    assert http.get(base).json()["items"] == []


@pytest.fixture
def second_apiserver(etcd) -> Iterator:
    """Another apiserver process on the same etcd: it learns CRDs by its own watch."""
    from deploy.controlplane import make_workdir, remove_workdir, start_apiserver

    workdir = make_workdir("minik-apiserver-b-")
    server = start_apiserver(etcd, workdir)
    yield server
    server.stop()
    remove_workdir(workdir)


def test_another_apiserver_learns_crds_from_its_watch(
    http: httpx.Client, second_apiserver, group: str, namespace: str
):
    """The other apiserver serves the new group from its watch on CRDs: there is no
    periodic re-read to wait for (the bound allows for a loaded CI machine)."""
    with second_apiserver.http() as other:
        assert http.post(CRDS, json=widget_crd(group)).status_code == 201
        eventually(lambda: other.get(f"/apis/{group}/v1").status_code == 200, timeout=3)
        base = f"/apis/{group}/v1/namespaces/{namespace}/widgets"
        assert other.post(base, json=widget("b", group)).status_code == 201
        assert http.get(f"{base}/b").json()["metadata"]["name"] == "b"
        assert other.delete(f"{CRDS}/widgets.{group}").status_code == 200
        eventually(lambda: http.get(f"/apis/{group}/v1").status_code == 404, timeout=10)
        assert http.get(base).status_code == 404
