"""LimitRanger's defaults and constraints, worded as Kubernetes words them."""

from __future__ import annotations

from typing import Any

from api import limitrange

Obj = dict[str, Any]

RANGE: Obj = {
    "spec": {
        "limits": [
            {
                "type": "Container",
                "max": {"cpu": "500m"},
                "min": {"memory": "4Mi"},
                "default": {"cpu": "250m", "memory": "256Mi"},
                "defaultRequest": {"cpu": "100m", "memory": "128Mi"},
                "maxLimitRequestRatio": {"cpu": "2"},
            },
            {"type": "Pod", "max": {"memory": "300Mi"}},
        ]
    }
}


def pod(*containers: Obj, init: list[Obj] | None = None) -> Obj:
    spec: Obj = {"containers": list(containers)}
    if init:
        spec["initContainers"] = init
    return {"metadata": {"name": "p"}, "spec": spec}


def test_defaults_fill_only_what_is_missing_and_are_announced() -> None:
    p = pod(
        {"name": "a"},
        {"name": "b", "resources": {"requests": {"cpu": "200m"}, "limits": {"cpu": "400m"}}},
        init=[{"name": "i", "resources": {"limits": {"memory": "64Mi"}}}],
    )
    limitrange.apply_defaults(p, RANGE)
    a, b = p["spec"]["containers"]
    assert a["resources"] == {
        "requests": {"cpu": "100m", "memory": "128Mi"},
        "limits": {"cpu": "250m", "memory": "256Mi"},
    }
    assert b["resources"]["requests"] == {"cpu": "200m", "memory": "128Mi"}
    assert p["metadata"]["annotations"][limitrange.ANNOTATION] == (
        "LimitRanger plugin set: cpu, memory request for container a; cpu, memory limit for "
        "container a; memory request for container b; memory limit for container b; "
        "cpu, memory request for init container i; cpu limit for init container i"
    )


def test_container_and_pod_constraints() -> None:
    greedy = pod(
        {
            "name": "c",
            "resources": {
                "requests": {"cpu": "1", "memory": "8Mi"},
                "limits": {"cpu": "1", "memory": "8Mi"},
            },
        }
    )
    assert limitrange.pod_violations(greedy, RANGE) == [
        "maximum cpu usage per Container is 500m, but limit is 1"
    ]
    ratio = pod(
        {
            "name": "c",
            "resources": {
                "requests": {"cpu": "100m", "memory": "8Mi"},
                "limits": {"cpu": "300m", "memory": "8Mi"},
            },
        }
    )
    assert limitrange.pod_violations(ratio, RANGE) == [
        "cpu max limit to request ratio per Container is 2, but provided ratio is 3.000000"
    ]
    small = {
        "requests": {"cpu": "100m", "memory": "1Mi"},
        "limits": {"cpu": "100m", "memory": "200Mi"},
    }
    two = pod({"name": "a", "resources": small}, {"name": "b", "resources": small})
    assert limitrange.pod_violations(two, RANGE) == [
        "minimum memory usage per Container is 4Mi, but request is 1Mi",
        "minimum memory usage per Container is 4Mi, but request is 1Mi",
        "maximum memory usage per Pod is 300Mi, but limit is 400Mi",
    ]
    bare = pod({"name": "c"})
    assert limitrange.pod_violations(bare, RANGE)[0] == (
        "minimum memory usage per Container is 4Mi.  No request is specified"
    )
    assert limitrange.aggregate(["a", "b", "a"]) == "[a, b]"
    assert limitrange.aggregate(["a", "a"]) == "a"


def test_claim_constraints() -> None:
    lr = {
        "spec": {
            "limits": [
                {
                    "type": "PersistentVolumeClaim",
                    "min": {"storage": "1Gi"},
                    "max": {"storage": "2Gi"},
                }
            ]
        }
    }
    claim = {"spec": {"resources": {"requests": {"storage": "500Mi"}}}}
    assert limitrange.claim_violations(claim, lr) == [
        "minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 500Mi"
    ]
    claim["spec"]["resources"]["requests"]["storage"] = "3Gi"
    assert limitrange.claim_violations(claim, lr) == [
        "maximum storage usage per PersistentVolumeClaim is 2Gi, but request is 3Gi"
    ]
