"""Retroactive default StorageClass assignment (GA in Kubernetes 1.28): a claim made
while no class is default (e.g. before the local-path provisioner has made `standard`)
gets the default class once there is one, instead of waiting forever. A control plane
of its own: the session's already has a default class."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from deploy.controlplane import make_workdir, remove_workdir, start_apiserver, start_etcd
from tests.support.controllermanager import ManagerProcess
from tests.support.wait import eventually

CLAIMS = "/api/v1/namespaces/default/persistentvolumeclaims"


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    workdir = make_workdir("minik-retroactive-")
    etcd = start_etcd(workdir)
    apiserver = start_apiserver(etcd, workdir / "apiserver")
    manager = ManagerProcess(apiserver, workdir, "--controllers=persistentvolume-binder").start()
    try:
        with apiserver.http() as client:
            yield client
    finally:
        manager.stop()
        apiserver.stop()
        etcd.stop()
        remove_workdir(workdir)


def claim(name: str, **spec: object) -> dict:
    return {
        "metadata": {"name": name},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}},
            **spec,
        },
    }


def test_a_claim_without_class_gets_the_default_made_later(http: httpx.Client) -> None:
    assert http.post(CLAIMS, json=claim("early")).status_code == 201
    assert http.post(CLAIMS, json=claim("explicit", storageClassName="")).status_code == 201
    assert "storageClassName" not in http.get(f"{CLAIMS}/early").json()["spec"]
    default = {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {
            "name": "fast",
            "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
        },
        "provisioner": "kubernetes.io/no-provisioner",
    }
    assert http.post("/apis/storage.k8s.io/v1/storageclasses", json=default).status_code == 201
    eventually(
        lambda: http.get(f"{CLAIMS}/early").json()["spec"].get("storageClassName") == "fast",
        timeout=15,
        message="the default class given to the early claim",
    )
    # "" means "no class", on purpose: it is left alone
    assert http.get(f"{CLAIMS}/explicit").json()["spec"]["storageClassName"] == ""
