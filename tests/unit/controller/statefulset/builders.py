"""StatefulSets and their pods for the controller's unit tests."""

from __future__ import annotations

import copy
from typing import Any

from api.defaults import apply_defaults
from controller.statefulset import identity
from controller.statefulset.plan import Revisions

Obj = dict[str, Any]
NOW = 1_000_000.0


def statefulset(replicas: int = 3, **spec: Any) -> Obj:
    sts = {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "web", "namespace": "ns", "uid": "sts-uid", "generation": 1},
        "spec": {
            "replicas": replicas,
            "serviceName": "nginx",
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "containers": [{"name": "c", "image": "busybox:1"}],
                    "volumes": [{"name": "data", "emptyDir": {}}],
                },
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data", "labels": {"tier": "db"}},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": "1Gi"}},
                    },
                }
            ],
            **spec,
        },
    }
    apply_defaults("StatefulSet", sts)
    return sts


def revisions(sts: Obj, current: str = "web-r1", update: str = "web-r1") -> Revisions:
    template = copy.deepcopy(sts["spec"]["template"])
    return Revisions(current, template, update, copy.deepcopy(template))


def pod(
    sts: Obj,
    ordinal: int,
    *,
    revision: str = "web-r1",
    phase: str = "Running",
    ready: bool = True,
    terminating: bool = False,
    ready_since: str = "1970-01-12T13:46:00Z",
) -> Obj:
    p = identity.new_pod(sts, sts["spec"]["template"], ordinal, revision)
    p["metadata"]["uid"] = f"uid-{ordinal}"
    if terminating:
        p["metadata"]["deletionTimestamp"] = "1970-01-12T13:46:40Z"
    p["status"] = {
        "phase": phase,
        "conditions": [
            {
                "type": "Ready",
                "status": "True" if ready else "False",
                "lastTransitionTime": ready_since,
            }
        ],
    }
    return p
