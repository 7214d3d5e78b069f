"""HorizontalPodAutoscalers through the real apiserver and kubectl: autoscaling/v2
stored, autoscaling/v1 served through the conversion, `kubectl autoscale`, `get hpa`
(TARGETS as `cpu: 73%/50%`) and `describe hpa`, and validation."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from deploy.controlplane import ApiServer
from tests.support.kubectl import MINORS, Kubectl, installed_kubectl

V2 = "/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers"
V1 = "/apis/autoscaling/v1/namespaces/{ns}/horizontalpodautoscalers"


def _deployment(http: httpx.Client, namespace: str, name: str) -> None:
    body = {
        "metadata": {"name": name},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "c", "image": "busybox:1"}]},
            },
        },
    }
    r = http.post(f"/apis/apps/v1/namespaces/{namespace}/deployments", json=body)
    assert r.status_code == 201, r.text


@pytest.mark.parametrize("minor", MINORS)
def test_kubectl_autoscale_get_and_describe(
    apiserver: ApiServer, http: httpx.Client, namespace: str, tmp_path: Path, minor: str | None
) -> None:
    kubectl = installed_kubectl(minor, apiserver.kubeconfig, tmp_path / "cache")
    _deployment(http, namespace, "web")
    kubectl.run("-n", namespace, "autoscale", "deployment", "web", "--cpu-percent=50", "--max=5")
    hpa = http.get(V2.format(ns=namespace) + "/web").json()
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "web",
    }
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (1, 5)
    assert hpa["spec"]["metrics"] == [
        {
            "type": "Resource",
            "resource": {
                "name": "cpu",
                "target": {"type": "Utilization", "averageUtilization": 50},
            },
        }
    ]
    out = kubectl.run("-n", namespace, "get", "hpa").stdout.splitlines()
    assert out[0].split() == [
        "NAME",
        "REFERENCE",
        "TARGETS",
        "MINPODS",
        "MAXPODS",
        "REPLICAS",
        "AGE",
    ]
    assert out[1].split()[:7] == ["web", "Deployment/web", "cpu:", "<unknown>/50%", "1", "5", "0"]

    hpa["status"] = {
        "currentReplicas": 2,
        "desiredReplicas": 3,
        "currentMetrics": [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "current": {"averageUtilization": 73, "averageValue": "146m"},
                },
            }
        ],
        "conditions": [
            {
                "type": "AbleToScale",
                "status": "True",
                "reason": "SucceededRescale",
                "message": "the HPA controller was able to update the target scale to 3",
                "lastTransitionTime": "2026-01-01T00:00:00Z",
            }
        ],
    }
    r = http.put(V2.format(ns=namespace) + "/web/status", json=hpa)
    assert r.status_code == 200, r.text
    row = kubectl.run("-n", namespace, "get", "hpa", "web").stdout.splitlines()[1].split()
    assert row[2:7] == ["cpu:", "73%/50%", "1", "5", "2"]
    described = kubectl.run("-n", namespace, "describe", "hpa", "web").stdout
    assert "Reference:" in described and "Deployment/web" in described
    assert "73% (146m) / 50%" in described, described
    assert "SucceededRescale" in described

    v1 = http.get(V1.format(ns=namespace) + "/web").json()
    assert v1["apiVersion"] == "autoscaling/v1"
    assert v1["spec"]["targetCPUUtilizationPercentage"] == 50
    assert v1["status"]["currentCPUUtilizationPercentage"] == 73
    assert "autoscaling.alpha.kubernetes.io/conditions" in v1["metadata"]["annotations"]


def test_v1_objects_are_stored_as_v2(
    http: httpx.Client, namespace: str, kubectl: Kubectl, tmp_path: Path
) -> None:
    manifest = tmp_path / "hpa.yaml"
    manifest.write_text(
        "apiVersion: autoscaling/v1\n"
        "kind: HorizontalPodAutoscaler\n"
        "metadata: {name: old}\n"
        "spec:\n"
        "  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: old}\n"
        "  minReplicas: 2\n"
        "  maxReplicas: 4\n"
        "  targetCPUUtilizationPercentage: 70\n"
    )
    kubectl.run("-n", namespace, "apply", "-f", str(manifest))
    v2 = http.get(V2.format(ns=namespace) + "/old").json()
    assert v2["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 70
    assert v2["spec"]["minReplicas"] == 2
    assert "annotations" not in v2["metadata"] or not any(
        k.startswith("autoscaling.alpha") for k in v2["metadata"]["annotations"]
    )
    listed = http.get(V1.format(ns=namespace)).json()
    assert listed["kind"] == "HorizontalPodAutoscalerList"
    assert [i["spec"]["targetCPUUtilizationPercentage"] for i in listed["items"]] == [70]


def test_v2_defaults_and_validation(http: httpx.Client, namespace: str) -> None:
    body = {
        "metadata": {"name": "d"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"},
            "maxReplicas": 3,
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 10}},
        },
    }
    r = http.post(V2.format(ns=namespace), json=body)
    assert r.status_code == 201, r.text
    spec = r.json()["spec"]
    assert spec["minReplicas"] == 1
    assert spec["metrics"][0]["resource"]["target"]["averageUtilization"] == 80
    assert spec["behavior"]["scaleUp"]["policies"][0] == {
        "type": "Pods",
        "value": 4,
        "periodSeconds": 15,
    }
    assert spec["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 10
    bad = {
        "metadata": {"name": "bad"},
        "spec": {
            "scaleTargetRef": {"kind": "Deployment", "name": "d"},
            "minReplicas": 4,
            "maxReplicas": 2,
        },
    }
    r = http.post(V2.format(ns=namespace), json=bad)
    assert r.status_code == 422, r.text
    causes = r.json()["details"]["causes"]
    assert {
        "field": "spec.maxReplicas",
        "message": "Invalid value: 2: must be greater than or equal to `minReplicas`",
        "reason": "FieldValueInvalid",
    } in causes


def test_the_example_applies(namespace: str, kubectl: Kubectl, http: httpx.Client) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "hpa.yaml"
    kubectl.run("-n", namespace, "apply", "-f", str(example))
    hpa = http.get(V2.format(ns=namespace) + "/burner").json()
    assert hpa["spec"]["behavior"]["scaleUp"]["policies"][0]["type"] == "Pods"
    assert hpa["spec"]["behavior"]["scaleDown"]["selectPolicy"] == "Max"
