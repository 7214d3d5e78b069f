"""Dynamic provisioning with WaitForFirstConsumer against the real apiserver, the
real controller manager (binder + local-path provisioner) and the real scheduler
(its own --scheduler-name, so it leaves other tests' pods alone), on fake nodes that
advertise a local-path directory: the pod picks the node, the claim gets
`selected-node`, the provisioner makes a volume there, the claim binds, only then
is the pod bound; deleting the claim deletes the volume (reclaim Delete)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.components import manager_and_scheduler
from tests.support.fakenode import FakeCluster
from tests.support.wait import eventually

Obj = dict[str, Any]
SCHEDULER = "volume-test-scheduler"
SC_PATH = "/apis/storage.k8s.io/v1/storageclasses"
MERGE = {"Content-Type": "application/merge-patch+json"}


@pytest.fixture(scope="module")
def control_plane(apiserver, tmp_path_factory) -> Iterator[None]:
    with manager_and_scheduler(apiserver, tmp_path_factory.mktemp("cp"), SCHEDULER):
        yield


@pytest.fixture
def nodes(http, namespace, control_plane, tmp_path) -> Iterator[FakeCluster]:
    with FakeCluster(http, namespace, ["a", "b"]) as fake:
        fake.schedulable = set()  # the real scheduler places the pods
        for short in ("a", "b"):
            name = fake.node_name(short)
            annotations = {"minik.io/local-path-dir": str(tmp_path / short)}
            r = http.patch(
                f"/api/v1/nodes/{name}",
                json={"metadata": {"annotations": annotations}},
                headers=MERGE,
            )
            assert r.status_code == 200, r.text
        yield fake


@pytest.fixture
def storage_class(http, namespace) -> Iterator[str]:
    name = f"{namespace}-local"
    body = {
        "metadata": {"name": name},
        "provisioner": "minik.io/local-path",
        "volumeBindingMode": "WaitForFirstConsumer",
    }
    assert http.post(SC_PATH, json=body).status_code == 201
    yield name
    http.delete(f"{SC_PATH}/{name}")


def test_the_controller_manager_creates_the_default_class(http, control_plane):
    sc = eventually(lambda: (r := http.get(f"{SC_PATH}/standard")).status_code == 200 and r.json())
    assert sc["provisioner"] == "minik.io/local-path"
    assert sc["volumeBindingMode"] == "WaitForFirstConsumer"
    assert sc["reclaimPolicy"] == "Delete"
    assert sc["metadata"]["annotations"]["storageclass.kubernetes.io/is-default-class"] == "true"


def test_wait_for_first_consumer_provisions_on_the_pods_node(
    http, namespace, nodes: FakeCluster, storage_class: str, tmp_path: Path
):
    claims = f"/api/v1/namespaces/{namespace}/persistentvolumeclaims"
    pods = f"/api/v1/namespaces/{namespace}/pods"
    claim = {
        "metadata": {"name": "data"},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": storage_class,
            "resources": {"requests": {"storage": "1Gi"}},
        },
    }
    created = http.post(claims, json=claim).json()

    def waiting_event() -> Obj:
        r = http.get(
            f"/api/v1/namespaces/{namespace}/events",
            params={"fieldSelector": "involvedObject.name=data,reason=WaitForFirstConsumer"},
        )
        items = r.json()["items"]
        assert items, "no WaitForFirstConsumer event yet"
        return items[0]

    assert eventually(waiting_event)["message"] == (
        "waiting for first consumer to be created before binding"
    )
    assert http.get(f"{claims}/data").json()["status"]["phase"] == "Pending"
    pod = {
        "metadata": {"name": "user"},
        "spec": {
            "schedulerName": SCHEDULER,
            "containers": [{"name": "c", "image": "busybox:1"}],
            "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}],
        },
    }
    assert http.post(pods, json=pod).status_code == 201

    def bound_pod() -> Obj:
        p = http.get(f"{pods}/user").json()
        assert p["spec"].get("nodeName"), p.get("status")
        return p

    node = eventually(bound_pod, timeout=30)["spec"]["nodeName"]
    bound = http.get(f"{claims}/data").json()
    assert bound["status"]["phase"] == "Bound"
    assert bound["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] == node
    pv_name = f"pvc-{created['metadata']['uid']}"
    assert bound["spec"]["volumeName"] == pv_name
    pv = http.get(f"/api/v1/persistentvolumes/{pv_name}").json()
    short = "a" if node == nodes.node_name("a") else "b"
    assert pv["spec"]["hostPath"] == {
        "path": str(tmp_path / short / pv_name),
        "type": "DirectoryOrCreate",
    }
    term = pv["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]
    assert term["matchExpressions"][0]["values"] == [node]
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Delete"
    assert pv["metadata"]["annotations"]["pv.kubernetes.io/provisioned-by"] == (
        "minik.io/local-path"
    )
    reasons = {
        e["reason"]
        for e in http.get(
            f"/api/v1/namespaces/{namespace}/events",
            params={"fieldSelector": "involvedObject.name=data"},
        ).json()["items"]
    }
    assert {"ExternalProvisioning", "ProvisioningSucceeded"} <= reasons

    # a second pod of the claim can only go where the volume is
    other = {**pod, "metadata": {"name": "second"}}
    assert http.post(pods, json=other).status_code == 201
    second = eventually(
        lambda: (p := http.get(f"{pods}/second").json())["spec"].get("nodeName") and p, timeout=30
    )
    assert second["spec"]["nodeName"] == node

    # the claim is protected while pods use it; then Delete removes its volume
    http.delete(f"{claims}/data")
    assert http.get(f"{claims}/data").status_code == 200
    for name in ("user", "second"):
        http.delete(f"{pods}/{name}", params={"gracePeriodSeconds": "0"})
    eventually(lambda: http.get(f"{claims}/data").status_code == 404, timeout=30)
    eventually(
        lambda: http.get(f"/api/v1/persistentvolumes/{pv_name}").status_code == 404, timeout=30
    )


def test_unbound_immediate_claim_keeps_the_pod_pending(http, namespace, nodes: FakeCluster):
    pods = f"/api/v1/namespaces/{namespace}/pods"
    pod = {
        "metadata": {"name": "orphan"},
        "spec": {
            "schedulerName": SCHEDULER,
            "containers": [{"name": "c", "image": "busybox:1"}],
            "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "missing"}}],
        },
    }
    assert http.post(pods, json=pod).status_code == 201

    def unschedulable() -> Obj:
        p = http.get(f"{pods}/orphan").json()
        conditions = p["status"].get("conditions") or []
        assert conditions and conditions[0]["reason"] == "Unschedulable", p["status"]
        return conditions[0]

    condition = eventually(unschedulable, timeout=30)
    assert 'persistentvolumeclaim "missing" not found' in condition["message"]
