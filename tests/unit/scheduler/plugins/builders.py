"""Hand-built NodeInfos and PodInfos for the plugin tests."""

from __future__ import annotations

from typing import Any

from scheduler.nodeinfo import NodeInfo
from scheduler.podinfo import PodInfo


def node(
    name: str = "n1",
    *,
    labels: dict[str, str] | None = None,
    cpu: str = "4",
    memory: str = "8Gi",
    pods: str = "110",
    taints: list[dict] | None = None,
    unschedulable: bool = False,
    ready: str | None = "True",
    extra: dict[str, str] | None = None,
) -> NodeInfo:
    conditions = [] if ready is None else [{"type": "Ready", "status": ready}]
    obj: dict[str, Any] = {
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {"taints": taints or [], "unschedulable": unschedulable},
        "status": {
            "allocatable": {"cpu": cpu, "memory": memory, "pods": pods, **(extra or {})},
            "conditions": conditions,
        },
    }
    return NodeInfo(name, obj)


def pod(
    name: str = "p",
    *,
    cpu: str | None = None,
    memory: str | None = None,
    labels: dict[str, str] | None = None,
    owner: str | None = None,
    host_port: int | None = None,
    host_ip: str | None = None,
    protocol: str | None = None,
    **spec: Any,
) -> PodInfo:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    container: dict[str, Any] = {"name": "c", "image": "busybox"}
    if requests:
        container["resources"] = {"requests": requests}
    if host_port:
        port: dict[str, Any] = {"containerPort": 80, "hostPort": host_port}
        if host_ip:
            port["hostIP"] = host_ip
        if protocol:
            port["protocol"] = protocol
        container["ports"] = [port]
    md: dict[str, Any] = {"name": name, "namespace": "ns", "labels": labels or {}}
    if owner:
        md["ownerReferences"] = [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": owner,
                "uid": owner,
                "controller": True,
            }
        ]
    return PodInfo({"metadata": md, "spec": {"containers": [container], **spec}})


def reasons(status) -> tuple[str, ...]:
    return status.reasons if status is not None else ()
