"""Custom kinds for clients other than kubectl: the official Python client's
ApiextensionsV1Api and CustomObjectsApi (deserialized into its models), kopf handling a
custom kind, and the garbage collector deleting what a custom object owns."""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from deploy import processes
from deploy.controlplane import ApiServer
from tests.integration.test_crds import CRDS, widget, widget_crd
from tests.support.wait import eventually


@pytest.fixture
def group(http: httpx.Client) -> Iterator[str]:
    name = f"c{secrets.token_hex(4)}.example.com"
    yield name
    http.delete(f"{CRDS}/widgets.{name}")


@pytest.fixture
def api_client(apiserver: ApiServer) -> Iterator[client.ApiClient]:
    configuration = client.Configuration()
    config.load_kube_config(
        config_file=str(apiserver.kubeconfig), client_configuration=configuration
    )
    with client.ApiClient(configuration) as api:
        yield api


def test_official_client(api_client: client.ApiClient, group: str, namespace: str):
    ext = client.ApiextensionsV1Api(api_client)
    created = ext.create_custom_resource_definition(widget_crd(group))
    assert isinstance(created, client.V1CustomResourceDefinition)
    assert created.spec.names.kind == "Widget"
    got = ext.read_custom_resource_definition(f"widgets.{group}")
    assert [c.type for c in got.status.conditions] == ["NamesAccepted", "Established"]
    assert f"widgets.{group}" in [
        c.metadata.name for c in ext.list_custom_resource_definition().items
    ]

    custom = client.CustomObjectsApi(api_client)
    args = (group, "v1", namespace, "widgets")
    obj = custom.create_namespaced_custom_object(*args, widget("a", group, replicas=2))
    assert obj["spec"]["replicas"] == 2
    listed = custom.list_namespaced_custom_object(*args)
    assert [i["metadata"]["name"] for i in listed["items"]] == ["a"]
    everywhere = custom.list_cluster_custom_object(group, "v1", "widgets")
    assert len(everywhere["items"]) == 1
    patched = custom.patch_namespaced_custom_object(*args, "a", {"spec": {"color": "blue"}})
    assert patched["spec"]["color"] == "blue"
    status = custom.patch_namespaced_custom_object_status(
        *args, "a", {"status": {"phase": "Ready", "replicas": 2}}
    )
    assert status["status"]["phase"] == "Ready"
    scale = custom.patch_namespaced_custom_object_scale(*args, "a", {"spec": {"replicas": 3}})
    assert scale["spec"]["replicas"] == 3
    assert custom.get_namespaced_custom_object_scale(*args, "a")["status"]["replicas"] == 2
    assert custom.get_namespaced_custom_object(*args, "a")["spec"]["replicas"] == 3
    with pytest.raises(ApiException) as err:
        custom.create_namespaced_custom_object(*args, widget("b", group, replicas=-1))
    assert err.value.status == 422
    custom.delete_namespaced_custom_object(*args, "a")
    with pytest.raises(ApiException) as err:
        custom.get_namespaced_custom_object(*args, "a")
    assert err.value.status == 404
    ext.delete_custom_resource_definition(f"widgets.{group}")


OPERATOR = """
import kopf

@kopf.on.create("{group}", "v1", "widgets")
def created(spec, name, namespace, body, patch, **_):
    patch.status["phase"] = "Seen"
    cm = {{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {{"name": name + "-cfg"}},
          "data": {{"image": spec["image"]}}}}
    kopf.adopt(cm, owner=body)
    import kubernetes
    kubernetes.config.load_kube_config()
    kubernetes.client.CoreV1Api().create_namespaced_config_map(namespace, cm)
"""


def test_kopf_and_garbage_collection(
    apiserver: ApiServer, manager, http: httpx.Client, group: str, namespace: str, tmp_path: Path
):
    assert http.post(CRDS, json=widget_crd(group)).status_code == 201
    source = tmp_path / "operator.py"
    source.write_text(OPERATOR.format(group=group))
    log = tmp_path / "kopf.log"
    argv = [sys.executable, "-m", "kopf", "run", "--standalone", "-n", namespace, str(source)]
    env = {**os.environ, "KUBECONFIG": str(apiserver.kubeconfig)}
    proc = processes.spawn("kopf", argv, log, env=env)
    base = f"/apis/{group}/v1/namespaces/{namespace}/widgets"
    try:
        assert http.post(base, json=widget("k", group)).status_code == 201

        def handled() -> bool:
            w = http.get(f"{base}/k").json()
            cm = http.get(f"/api/v1/namespaces/{namespace}/configmaps/k-cfg")
            return (w.get("status") or {}).get("phase") == "Seen" and cm.status_code == 200

        eventually(handled, timeout=30, message=f"kopf's handling; its log: {log}")
    finally:
        proc.stop()
    owner = http.get(f"/api/v1/namespaces/{namespace}/configmaps/k-cfg").json()
    ref = owner["metadata"]["ownerReferences"][0]
    assert ref["kind"] == "Widget" and ref["apiVersion"] == f"{group}/v1"
    http.delete(f"{base}/k")

    def collected() -> bool:
        cm = http.get(f"/api/v1/namespaces/{namespace}/configmaps/k-cfg")
        return cm.status_code == 404

    eventually(collected, timeout=20, message="the garbage collector's deletion")


def test_hpa_scales_a_custom_kind_through_its_scale_subresource(
    manager, http: httpx.Client, group: str, namespace: str
):
    """The HPA controller finds a custom kind's /scale by discovery (Kubernetes'
    RESTMapper), not from the built-in table: above maxReplicas it rescales to it."""
    assert http.post(CRDS, json=widget_crd(group)).status_code == 201
    base = f"/apis/{group}/v1/namespaces/{namespace}/widgets"
    assert http.post(base, json=widget("big", group, replicas=5)).status_code == 201
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "big"},
        "spec": {
            "scaleTargetRef": {"apiVersion": f"{group}/v1", "kind": "Widget", "name": "big"},
            "minReplicas": 1,
            "maxReplicas": 3,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {"type": "Utilization", "averageUtilization": 50},
                    },
                }
            ],
        },
    }
    hpas = f"/apis/autoscaling/v2/namespaces/{namespace}/horizontalpodautoscalers"
    assert http.post(hpas, json=hpa).status_code == 201

    def rescaled() -> dict:
        status = http.get(f"{hpas}/big").json().get("status") or {}
        conditions = {c["type"]: c for c in status.get("conditions") or []}
        able = conditions.get("AbleToScale") or {}
        assert able.get("reason") == "SucceededRescale", status
        return status

    status = eventually(rescaled, timeout=20, message="the HPA's rescale of the Widget")
    assert status["desiredReplicas"] == 3
    assert http.get(f"{base}/big").json()["spec"]["replicas"] == 3
    assert http.get(f"{base}/big/scale").json()["spec"]["replicas"] == 3
    events = http.get(
        f"/api/v1/namespaces/{namespace}/events",
        params={"fieldSelector": "reason=SuccessfulRescale"},
    ).json()["items"]
    assert [e["message"] for e in events] == [
        "New size: 3; reason: Current number of replicas above Spec.MaxReplicas"
    ]
    http.delete(f"{hpas}/big")
