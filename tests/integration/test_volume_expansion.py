"""Storage rules of Kubernetes 1.29+ against a real etcd and apiserver: a bound claim
may grow only when its StorageClass allows volume expansion (PersistentVolumeClaimResize
admission), never shrink; a PersistentVolume's `status.lastPhaseTransitionTime` moves
with every phase change and only then."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

Obj = dict[str, Any]
SC_PATH = "/apis/storage.k8s.io/v1/storageclasses"
PV_PATH = "/api/v1/persistentvolumes"
MERGE = {"Content-Type": "application/merge-patch+json"}


@pytest.fixture
def http(apiserver) -> Iterator[httpx.Client]:
    with apiserver.http() as client:
        yield client


@pytest.fixture
def classes(http: httpx.Client, namespace: str) -> Iterator[dict[bool, str]]:
    """Two classes named after the test's namespace: one that allows expansion."""
    names = {True: f"{namespace}-grows", False: f"{namespace}-fixed"}
    for allow, name in names.items():
        body = {
            "metadata": {"name": name},
            "provisioner": "example.com/none",
            "allowVolumeExpansion": allow,
        }
        assert http.post(SC_PATH, json=body).status_code == 201
    yield names
    for name in names.values():
        http.delete(f"{SC_PATH}/{name}")


def bound_claim(http: httpx.Client, namespace: str, name: str, class_name: str) -> str:
    path = f"/api/v1/namespaces/{namespace}/persistentvolumeclaims"
    body = {
        "metadata": {"name": name},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": class_name,
            "resources": {"requests": {"storage": "1Gi"}},
        },
    }
    r = http.post(path, json=body)
    assert r.status_code == 201, r.text
    claim = r.json()
    claim["status"] = {"phase": "Bound", "capacity": {"storage": "1Gi"}}
    r = http.put(f"{path}/{name}/status", json=claim)
    assert r.status_code == 200, r.text
    return f"{path}/{name}"


def resize(http: httpx.Client, path: str, size: str) -> httpx.Response:
    patch = {"spec": {"resources": {"requests": {"storage": size}}}}
    return http.patch(path, json=patch, headers=MERGE)


def test_claim_grows_only_when_its_class_allows_it(
    http: httpx.Client, namespace: str, classes: dict[bool, str]
):
    fixed = bound_claim(http, namespace, "fixed", classes[False])
    r = resize(http, fixed, "2Gi")
    assert r.status_code == 403, r.text
    assert r.json()["message"] == (
        'persistentvolumeclaims "fixed" is forbidden: only dynamically provisioned pvc can be '
        "resized and the storageclass that provisions the pvc must support resize"
    )

    grows = bound_claim(http, namespace, "grows", classes[True])
    r = resize(http, grows, "2Gi")
    assert r.status_code == 200, r.text
    assert r.json()["spec"]["resources"]["requests"]["storage"] == "2Gi"

    r = resize(http, grows, "1Gi")
    assert r.status_code == 422
    assert r.json()["details"]["causes"] == [
        {
            "field": "spec.resources.requests.storage",
            "message": "Forbidden: field can not be less than previous value",
            "reason": "FieldValueForbidden",
        }
    ]


def test_volume_phase_transition_time(http: httpx.Client, namespace: str):
    name = f"{namespace}-pv"
    body = {
        "metadata": {"name": name},
        "spec": {
            "capacity": {"storage": "1Gi"},
            "accessModes": ["ReadWriteOnce"],
            "hostPath": {"path": f"/tmp/minik-pv/{name}"},
        },
    }
    r = http.post(PV_PATH, json=body)
    assert r.status_code == 201, r.text
    try:
        pv = r.json()
        assert pv["status"]["phase"] == "Pending"
        assert pv["status"]["lastPhaseTransitionTime"].endswith("Z")

        # Same phase, a time the writer chose: kept as written.
        pv["status"] = {"phase": "Pending", "lastPhaseTransitionTime": "2020-01-01T00:00:00Z"}
        pv = http.put(f"{PV_PATH}/{name}/status", json=pv).json()
        assert pv["status"]["lastPhaseTransitionTime"] == "2020-01-01T00:00:00Z"

        # Same phase, no time: the old one stays.
        pv["status"] = {"phase": "Pending", "message": "waiting"}
        pv = http.put(f"{PV_PATH}/{name}/status", json=pv).json()
        assert pv["status"]["lastPhaseTransitionTime"] == "2020-01-01T00:00:00Z"

        # A new phase: now.
        pv["status"] = {"phase": "Available", "lastPhaseTransitionTime": "2020-01-01T00:00:00Z"}
        pv = http.put(f"{PV_PATH}/{name}/status", json=pv).json()
        assert pv["status"]["phase"] == "Available"
        assert pv["status"]["lastPhaseTransitionTime"] != "2020-01-01T00:00:00Z"
    finally:
        http.delete(f"{PV_PATH}/{name}")
