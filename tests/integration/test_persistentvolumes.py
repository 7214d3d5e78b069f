"""PersistentVolumes, PersistentVolumeClaims and StorageClasses against the real
apiserver and the real controller manager (`python -m controller`): static binding
(smallest fit, selectors, access modes, volumeName), the reclaim policies, the
protection finalizers, the DefaultStorageClass admission, and kubectl
get/describe/explain with the machine's kubectl and 1.27 and 1.33."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.kubectl import MINORS, Kubectl, installed_kubectl
from tests.support.wait import eventually

Obj = dict[str, Any]
PV_PATH = "/api/v1/persistentvolumes"
SC_PATH = "/apis/storage.k8s.io/v1/storageclasses"


class Storage:
    """Creates PVs named after the test's namespace, of a class of that name (PVs are
    cluster-scoped and the apiserver is shared), and removes them afterwards."""

    def __init__(self, http: httpx.Client, namespace: str) -> None:
        self.http, self.namespace = http, namespace
        self.volumes: list[str] = []

    def pv_name(self, name: str) -> str:
        return f"{self.namespace}-{name}"

    def create_pv(
        self,
        name: str,
        size: str,
        modes: tuple[str, ...] = ("ReadWriteOnce",),
        class_name: str = "",
        **spec: Any,
    ) -> Obj:
        labels = spec.pop("labels", None)
        body = {
            "metadata": {"name": self.pv_name(name), **({"labels": labels} if labels else {})},
            "spec": {
                "capacity": {"storage": size},
                "accessModes": list(modes),
                "storageClassName": class_name or self.namespace,
                "hostPath": {"path": f"/tmp/minik-pv/{name}"},
                **spec,
            },
        }
        r = self.http.post(PV_PATH, json=body)
        assert r.status_code == 201, r.text
        self.volumes.append(self.pv_name(name))
        return r.json()

    def create_pvc(
        self,
        name: str,
        size: str,
        modes: tuple[str, ...] = ("ReadWriteOnce",),
        class_name: str | None = None,
        **spec: Any,
    ) -> Obj:
        body_spec: Obj = {
            "accessModes": list(modes),
            "resources": {"requests": {"storage": size}},
            **spec,
        }
        body_spec["storageClassName"] = self.namespace if class_name is None else class_name
        r = self.http.post(self.claims_path(), json={"metadata": {"name": name}, "spec": body_spec})
        assert r.status_code == 201, r.text
        return r.json()

    def claims_path(self, name: str = "") -> str:
        base = f"/api/v1/namespaces/{self.namespace}/persistentvolumeclaims"
        return f"{base}/{name}" if name else base

    def pv(self, name: str) -> Obj | None:
        r = self.http.get(f"{PV_PATH}/{self.pv_name(name)}")
        return r.json() if r.status_code == 200 else None

    def pvc(self, name: str) -> Obj | None:
        r = self.http.get(self.claims_path(name))
        return r.json() if r.status_code == 200 else None

    def bound(self, claim: str) -> Obj:
        def check() -> Obj:
            pvc = self.pvc(claim)
            assert pvc is not None and pvc["status"].get("phase") == "Bound", pvc
            return pvc

        return eventually(check, timeout=20)

    def events(self, name: str) -> list[Obj]:
        r = self.http.get(
            f"/api/v1/namespaces/{self.namespace}/events",
            params={"fieldSelector": f"involvedObject.name={name}"},
        )
        return r.json()["items"]

    def cleanup(self) -> None:
        r = self.http.get(self.claims_path())
        for pvc in r.json().get("items", []):
            self.http.delete(self.claims_path(pvc["metadata"]["name"]))
        for name in self.volumes:
            self.http.delete(f"{PV_PATH}/{name}")
            self.http.patch(
                f"{PV_PATH}/{name}",
                json={"metadata": {"finalizers": None}},
                headers={"Content-Type": "application/merge-patch+json"},
            )


@pytest.fixture
def storage(http, namespace, manager) -> Iterator[Storage]:
    store = Storage(http, namespace)
    yield store
    store.cleanup()


def test_claim_binds_to_the_smallest_volume_that_fits(storage: Storage):
    storage.create_pv("small", "1Gi")
    storage.create_pv("medium", "5Gi")
    storage.create_pv("large", "10Gi")
    storage.create_pv("rwx", "3Gi", modes=("ReadWriteMany",))
    for name in ("small", "medium", "large", "rwx"):  # all candidates, or the first one wins
        eventually(lambda n=name: storage.pv(n)["status"]["phase"] == "Available", timeout=10)
    pvc = storage.create_pvc("data", "2Gi")
    assert pvc["metadata"]["finalizers"] == ["kubernetes.io/pvc-protection"]
    pvc = storage.bound("data")
    assert pvc["spec"]["volumeName"] == storage.pv_name("medium")
    assert pvc["status"]["capacity"] == {"storage": "5Gi"}
    assert pvc["status"]["accessModes"] == ["ReadWriteOnce"]
    assert pvc["metadata"]["annotations"]["pv.kubernetes.io/bind-completed"] == "yes"
    assert pvc["metadata"]["annotations"]["pv.kubernetes.io/bound-by-controller"] == "yes"
    pv = eventually(
        lambda: (v := storage.pv("medium")) and v["status"]["phase"] == "Bound" and v, timeout=10
    )
    assert pv["spec"]["claimRef"]["name"] == "data"
    assert pv["spec"]["claimRef"]["uid"] == pvc["metadata"]["uid"]
    assert pv["metadata"]["finalizers"] == ["kubernetes.io/pv-protection"]
    for name in ("small", "large"):
        eventually(lambda n=name: storage.pv(n)["status"]["phase"] == "Available", timeout=10)


def test_selector_access_modes_and_volume_name(storage: Storage):
    # the claims come first: the volumes that appear later are matched then
    storage.create_pvc("picky", "1Gi", selector={"matchLabels": {"tier": "slow"}})
    storage.create_pvc("many", "1Gi", modes=("ReadOnlyMany",))
    storage.create_pvc("exact", "1Gi", volumeName=storage.pv_name("named"))
    storage.create_pv("fast", "1Gi", labels={"tier": "fast"})
    storage.create_pv("slow", "1Gi", labels={"tier": "slow"})
    storage.create_pv("shared", "1Gi", modes=("ReadWriteMany", "ReadOnlyMany"))
    storage.create_pv("named", "8Gi")
    assert storage.bound("picky")["spec"]["volumeName"] == storage.pv_name("slow")
    assert storage.bound("many")["spec"]["volumeName"] == storage.pv_name("shared")
    exact = storage.bound("exact")
    assert exact["spec"]["volumeName"] == storage.pv_name("named")
    assert "pv.kubernetes.io/bound-by-controller" not in exact["metadata"]["annotations"]


def test_unmatched_claim_stays_pending_with_an_event(storage: Storage):
    storage.create_pvc("lonely", "1Gi", class_name="")

    def failed_binding() -> Obj:
        events = [e for e in storage.events("lonely") if e["reason"] == "FailedBinding"]
        assert events, storage.events("lonely")
        return events[0]

    event = eventually(failed_binding, timeout=20)
    assert event["message"] == (
        "no persistent volumes available for this claim and no storage class is set"
    )
    assert storage.pvc("lonely")["status"]["phase"] == "Pending"


def test_retain_releases_and_protection_holds_a_used_claim(storage: Storage, http):
    storage.create_pv("kept", "1Gi")
    storage.create_pvc("used", "1Gi")
    storage.bound("used")
    node = f"{storage.namespace}-node"  # a node that exists, so pod GC leaves the pod be
    assert http.post("/api/v1/nodes", json={"metadata": {"name": node}}).status_code == 201
    pod = {
        "metadata": {"name": "user"},
        "spec": {
            "nodeName": node,
            "containers": [{"name": "c", "image": "busybox:1"}],
            "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "used"}}],
        },
    }
    pods = f"/api/v1/namespaces/{storage.namespace}/pods"
    assert http.post(pods, json=pod).status_code == 201
    http.delete(storage.claims_path("used"))
    # the claim is held while a pod uses it, and its volume while it is bound
    pvc = storage.pvc("used")
    assert pvc is not None and pvc["metadata"].get("deletionTimestamp")
    http.delete(f"{PV_PATH}/{storage.pv_name('kept')}")
    assert storage.pv("kept")["metadata"].get("deletionTimestamp")
    assert storage.pvc("used") is not None
    http.delete(f"{pods}/user", params={"gracePeriodSeconds": "0"})
    eventually(lambda: storage.pvc("used") is None, timeout=20)
    # Retain: Released, then the pending delete of the PV goes through
    eventually(lambda: storage.pv("kept") is None, timeout=20)
    http.delete(f"/api/v1/nodes/{node}")


def test_retained_volume_is_released(storage: Storage, http):
    storage.create_pv("retained", "1Gi")
    storage.create_pvc("gone", "1Gi")
    storage.bound("gone")
    http.delete(storage.claims_path("gone"))
    pv = eventually(
        lambda: (v := storage.pv("retained")) and v["status"]["phase"] == "Released" and v,
        timeout=20,
    )
    assert pv["spec"]["claimRef"]["name"] == "gone"


def test_static_delete_policy_fails_without_a_provisioner(storage: Storage, http):
    storage.create_pv("doomed", "1Gi", persistentVolumeReclaimPolicy="Delete")
    storage.create_pvc("short", "1Gi")
    storage.bound("short")
    http.delete(storage.claims_path("short"))
    pv = eventually(
        lambda: (v := storage.pv("doomed")) and v["status"]["phase"] == "Failed" and v,
        timeout=20,
    )
    assert "no deletable volume plugin matched" in pv["status"]["message"]


def test_default_storage_class_admission(http, namespace):
    name = f"{namespace}-default"
    body = {
        "metadata": {
            "name": name,
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
        },
        "provisioner": "example.com/none",
    }
    assert http.post(SC_PATH, json=body).status_code == 201
    try:
        claims = f"/api/v1/namespaces/{namespace}/persistentvolumeclaims"
        spec = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
        r = http.post(claims, json={"metadata": {"name": "a"}, "spec": spec})
        assert r.json()["spec"]["storageClassName"] == name
        r = http.post(
            claims, json={"metadata": {"name": "b"}, "spec": {**spec, "storageClassName": ""}}
        )
        assert r.json()["spec"]["storageClassName"] == ""
        for claim in ("a", "b"):
            http.delete(f"{claims}/{claim}")
    finally:
        http.delete(f"{SC_PATH}/{name}")


# ---- kubectl ---------------------------------------------------------------------------


@pytest.fixture(params=MINORS, ids=lambda minor: minor or "default")
def any_kubectl(request: pytest.FixtureRequest, apiserver, tmp_path: Path) -> Kubectl:
    return installed_kubectl(request.param, apiserver.kubeconfig, tmp_path / "cache")


def manifest(namespace: str) -> str:
    return f"""
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: {namespace}-sc
provisioner: example.com/none
allowVolumeExpansion: true
---
apiVersion: v1
kind: PersistentVolume
metadata:
  name: {namespace}-pv
spec:
  capacity: {{storage: 2Gi}}
  accessModes: [ReadWriteOnce, ReadOnlyMany]
  storageClassName: {namespace}-sc
  hostPath: {{path: /tmp/minik-pv/{namespace}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
  namespace: {namespace}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: {namespace}-sc
  resources: {{requests: {{storage: 1Gi}}}}
"""


def test_kubectl_get_describe_explain(any_kubectl: Kubectl, namespace: str, manager, storage):
    kubectl = any_kubectl
    storage.volumes.append(f"{namespace}-pv")
    kubectl.run("apply", "-f", "-", input=manifest(namespace))
    try:
        storage.bound("data")
        pvc = kubectl.run("get", "pvc", "-n", namespace).stdout.splitlines()
        assert pvc[0].split() == [
            "NAME",
            "STATUS",
            "VOLUME",
            "CAPACITY",
            "ACCESS",
            "MODES",
            "STORAGECLASS",
            "VOLUMEATTRIBUTESCLASS",
            "AGE",
        ]
        row = ["data", "Bound", f"{namespace}-pv", "2Gi", "RWO,ROX", f"{namespace}-sc"]
        assert pvc[1].split()[:6] == row
        pv = kubectl.run("get", "pv", f"{namespace}-pv").stdout.splitlines()
        assert pv[0].split()[:8] == [
            "NAME",
            "CAPACITY",
            "ACCESS",
            "MODES",
            "RECLAIM",
            "POLICY",
            "STATUS",
            "CLAIM",
        ]
        assert pv[1].split()[:6] == [
            f"{namespace}-pv",
            "2Gi",
            "RWO,ROX",
            "Retain",
            "Bound",
            f"{namespace}/data",
        ]
        wide = kubectl.run("get", "pv", f"{namespace}-pv", "-o", "wide").stdout
        assert "VOLUMEMODE" in wide and "Filesystem" in wide
        sc = kubectl.run("get", "sc", f"{namespace}-sc").stdout.splitlines()
        assert sc[0].split() == [
            "NAME",
            "PROVISIONER",
            "RECLAIMPOLICY",
            "VOLUMEBINDINGMODE",
            "ALLOWVOLUMEEXPANSION",
            "AGE",
        ]
        assert sc[1].split()[:5] == [
            f"{namespace}-sc",
            "example.com/none",
            "Delete",
            "Immediate",
            "true",
        ]
        described = kubectl.run("describe", "pvc", "data", "-n", namespace).stdout
        assert "Status:" in described and "Bound" in described
        assert "kubernetes.io/pvc-protection" in described
        described = kubectl.run("describe", "pv", f"{namespace}-pv").stdout
        assert "HostPath" in described and f"{namespace}/data" in described
        described = kubectl.run("describe", "sc", f"{namespace}-sc").stdout
        assert "example.com/none" in described
        for kind, word in (
            ("pv.spec.claimRef", "claimRef"),
            ("pvc.spec.volumeName", "volumeName"),
            ("sc.volumeBindingMode", "volumeBindingMode"),
        ):
            assert word in kubectl.run("explain", kind).stdout
        kubectl.run("delete", "pvc", "data", "-n", namespace, "--timeout=20s")
        kubectl.run("delete", "sc", f"{namespace}-sc")
    finally:
        kubectl.run("delete", "sc", f"{namespace}-sc", "--ignore-not-found")


def test_the_example_is_accepted(apiserver, namespace: str, tmp_path: Path):
    kubectl = Kubectl(apiserver.kubeconfig, tmp_path / "cache")
    example = Path(__file__).parents[2] / "examples" / "pvc.yaml"
    out = kubectl.run("apply", "-n", namespace, "--dry-run=server", "-f", str(example)).stdout
    assert "persistentvolumeclaim/counter-data created (server dry run)" in out
    assert "pod/counter created (server dry run)" in out
