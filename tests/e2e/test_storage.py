"""Storage end to end with real Docker: a claim of the default class (`standard`,
local-path, WaitForFirstConsumer) is provisioned on the node its first pod is
scheduled to; data a pod writes there is read by the next pod after the first is
deleted; deleting the claim deletes its volume and the kubelet removes the volume's
directory. The controller manager and the scheduler run as real processes (the
scheduler under its own name, so other tests' pods are not its business)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import KubeletProcess, create_pod, get_pod, wait_pod
from tests.support.components import manager_and_scheduler
from tests.support.wait import eventually

SCHEDULER = "storage-e2e-scheduler"


@pytest.fixture(scope="module")
def control_plane(apiserver, tmp_path_factory) -> Iterator[None]:
    with manager_and_scheduler(apiserver, tmp_path_factory.mktemp("storage-cp"), SCHEDULER):
        yield


@pytest.fixture(scope="module")
def node(kubelet_factory: Callable[..., KubeletProcess], busybox: str) -> KubeletProcess:
    return kubelet_factory("storage")


def pod_with_claim(name: str, node: str, image: str, script: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {
            "schedulerName": SCHEDULER,
            "nodeSelector": {"kubernetes.io/hostname": node},
            "restartPolicy": "Never",
            "terminationGracePeriodSeconds": 1,
            "containers": [
                {
                    "name": "c",
                    "image": image,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["sh", "-c", script],
                    "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                }
            ],
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "data"}}],
        },
    }


def phase_is(wanted: str) -> Callable[[dict[str, Any]], bool]:
    return lambda pod: (pod.get("status") or {}).get("phase") == wanted


def delete_pod(api: httpx.Client, namespace: str, name: str) -> None:
    api.delete(f"/api/v1/namespaces/{namespace}/pods/{name}")
    eventually(lambda: get_pod(api, namespace, name) is None, timeout=30, interval=0.2)


def test_data_outlives_the_pod_and_goes_with_the_claim(
    control_plane, node: KubeletProcess, api: httpx.Client, namespace: str, busybox: str
) -> None:
    claims = f"/api/v1/namespaces/{namespace}/persistentvolumeclaims"
    claim = {
        "metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}},
    }
    r = api.post(claims, json=claim)
    assert r.status_code == 201, r.text
    # At admission when the controller manager has made its default class by then;
    # else later, by the binder's retroactive assignment (CI met the second case).
    eventually(
        lambda: api.get(f"{claims}/data").json()["spec"].get("storageClassName") == "standard",
        timeout=30,
        interval=0.2,
    )

    writer = pod_with_claim("writer", node.node, busybox, "echo kept > /data/file")
    create_pod(api, namespace, writer)
    wait_pod(api, namespace, "writer", phase_is("Succeeded"), what="wrote the file")
    bound = api.get(f"{claims}/data").json()
    assert bound["status"]["phase"] == "Bound"
    pv_name = bound["spec"]["volumeName"]
    directory = Path(node.root_dir) / "local-path" / pv_name
    assert (directory / "file").read_text() == "kept\n"
    delete_pod(api, namespace, "writer")

    reader = pod_with_claim("reader", node.node, busybox, 'test "$(cat /data/file)" = kept')
    create_pod(api, namespace, reader)
    wait_pod(api, namespace, "reader", phase_is("Succeeded"), what="read the file back")
    delete_pod(api, namespace, "reader")

    api.delete(f"{claims}/data")
    eventually(
        lambda: api.get(f"/api/v1/persistentvolumes/{pv_name}").status_code == 404,
        timeout=30,
        interval=0.2,
    )
    eventually(lambda: not directory.exists(), timeout=30, interval=0.2)


def test_a_pod_waits_for_its_claim_and_mounts_it_read_only(
    control_plane,
    node: KubeletProcess,
    api: httpx.Client,
    namespace: str,
    busybox: str,
    tmp_path: Path,
) -> None:
    claims = f"/api/v1/namespaces/{namespace}/persistentvolumeclaims"
    pv_name = f"{namespace}-static"
    spec = {
        "accessModes": ["ReadOnlyMany"],
        "storageClassName": "",
        "volumeName": pv_name,
        "resources": {"requests": {"storage": "1Mi"}},
    }
    assert api.post(claims, json={"metadata": {"name": "data"}, "spec": spec}).status_code == 201
    script = 'test "$(cat /data/f)" = static && ! touch /data/g'
    pod = pod_with_claim("ro", node.node, busybox, script)
    pod["spec"].pop("schedulerName")
    pod["spec"]["nodeName"] = node.node
    pod["spec"]["volumes"][0]["persistentVolumeClaim"]["readOnly"] = True
    create_pod(api, namespace, pod)

    def failed_mount() -> dict[str, Any]:
        r = api.get(
            f"/api/v1/namespaces/{namespace}/events",
            params={"fieldSelector": "involvedObject.name=ro,reason=FailedMount"},
        )
        items = r.json()["items"]
        assert items, "no FailedMount event yet"
        return items[0]

    message = eventually(failed_mount, timeout=30, interval=0.2)["message"]
    assert message == (
        "Unable to attach or mount volumes: unmounted volumes=[data]: "
        f"error processing PVC {namespace}/data: PVC is not bound"
    )
    waiting = get_pod(api, namespace, "ro")
    assert waiting is not None and waiting["status"]["phase"] == "Pending"

    (tmp_path / "f").write_text("static")
    volume = {
        "metadata": {"name": pv_name},
        "spec": {
            "capacity": {"storage": "1Mi"},
            "accessModes": ["ReadOnlyMany"],
            "hostPath": {"path": str(tmp_path), "type": "Directory"},
        },
    }
    assert api.post("/api/v1/persistentvolumes", json=volume).status_code == 201
    try:
        wait_pod(api, namespace, "ro", phase_is("Succeeded"), what="read the static volume")
        assert not (tmp_path / "g").exists()
    finally:
        delete_pod(api, namespace, "ro")
        api.delete(f"{claims}/data")
        api.delete(f"/api/v1/persistentvolumes/{pv_name}")
        eventually(
            lambda: api.get(f"/api/v1/persistentvolumes/{pv_name}").status_code == 404,
            timeout=30,
            interval=0.2,
        )
