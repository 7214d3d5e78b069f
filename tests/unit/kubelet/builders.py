"""Pods and container records the kubelet tests share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kubelet.records import ContainerRecord

POD: dict[str, Any] = {
    "metadata": {"name": "web", "namespace": "shop", "uid": "1234-abcd"},
    "spec": {
        "nodeName": "n1",
        "terminationGracePeriodSeconds": 45,
        "containers": [
            {
                "name": "app",
                "image": "web:1",
                "ports": [
                    {"containerPort": 80, "hostPort": 8080, "protocol": "TCP"},
                    {
                        "containerPort": 53,
                        "hostPort": 5353,
                        "protocol": "UDP",
                        "hostIP": "127.0.0.2",
                    },
                    {"containerPort": 9090},
                ],
            }
        ],
    },
}


def spec_container(name: str) -> dict[str, Any]:
    """A container as a pod spec lists it."""
    return {"name": name, "image": "img:1"}


def make_pod(
    containers: list[str],
    inits: Sequence[str] = (),
    policy: str = "Always",
    *,
    name: str,
    namespace: str,
    uid: str,
) -> dict[str, Any]:
    """A pod running the named containers (and init containers) under a restart policy."""
    return {
        "metadata": {"name": name, "namespace": namespace, "uid": uid},
        "spec": {
            "restartPolicy": policy,
            "containers": [spec_container(n) for n in containers],
            "initContainers": [spec_container(n) for n in inits],
        },
    }


def container_record(
    pod: dict[str, Any],
    name: str,
    state: str,
    attempt: int = 0,
    *,
    sandbox: bool = False,
    init: bool = False,
    **fields: Any,
) -> ContainerRecord:
    """The runtime's record of one of pod's containers (its uid, name and namespace)."""
    meta = pod["metadata"]
    return ContainerRecord(
        pod_uid=meta["uid"],
        pod_name=meta["name"],
        pod_namespace=meta["namespace"],
        name=name,
        sandbox=sandbox,
        init=init,
        attempt=attempt,
        state=state,
        **fields,
    )
