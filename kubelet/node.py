"""The Node object and its Lease, as a kubelet reports them — pure builders.

Shared by the real kubelet and API-only ("hollow") nodes: given a name, addresses,
capacity and runtime facts, these return the exact JSON Kubernetes expects, so a
node looks the same to the scheduler, `kubectl get nodes` and the node controller
whoever registered it. No I/O except `host_capacity()` and `host_facts()`, which
read this machine's /proc and uname.
"""

from __future__ import annotations

import os
import platform
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from api.timefmt import micro_time, rfc3339

LEASE_NAMESPACE = "kube-node-lease"
LEASE_DURATION_SECONDS = 40
DEFAULT_MAX_PODS = 110
KUBELET_VERSION = "v1.32.0-minik"

PRESSURE_CONDITIONS = (
    ("MemoryPressure", "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
    ("DiskPressure", "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
    ("PIDPressure", "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
)


@dataclass(frozen=True)
class NodeFacts:
    """What a node reports about itself besides capacity."""

    name: str
    internal_ip: str  # "" for none (hollow nodes)
    kubelet_port: int
    container_runtime_version: str  # "docker://20.10.24"
    kubelet_version: str = KUBELET_VERSION
    os_image: str = "Linux"
    kernel_version: str = ""
    architecture: str = "amd64"
    operating_system: str = "linux"
    machine_id: str = ""
    boot_id: str = ""
    hostname: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)


def go_arch(machine: str | None = None) -> str:
    machine = (machine or platform.machine()).lower()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}.get(
        machine, machine or "unknown"
    )


def host_facts(name: str, internal_ip: str, kubelet_port: int, runtime_version: str) -> NodeFacts:
    """NodeFacts of this machine (os-release, uname, machine-id)."""
    return NodeFacts(
        name=name,
        internal_ip=internal_ip,
        kubelet_port=kubelet_port,
        container_runtime_version=runtime_version,
        os_image=_os_image(),
        kernel_version=platform.release(),
        architecture=go_arch(),
        operating_system=platform.system().lower() or "linux",
        machine_id=_read_first("/etc/machine-id"),
        boot_id=_read_first("/proc/sys/kernel/random/boot_id"),
        hostname=socket.gethostname(),
    )


def host_capacity(root_dir: str | os.PathLike[str] | None = None) -> dict[str, str]:
    """This machine's cpu, memory (Ki), ephemeral storage (Ki) and a pod limit."""
    capacity = {
        "cpu": str(os.cpu_count() or 1),
        "memory": f"{_mem_total_kib()}Ki",
        "pods": str(DEFAULT_MAX_PODS),
    }
    try:
        st = os.statvfs(root_dir or "/")
        capacity["ephemeral-storage"] = f"{st.f_blocks * st.f_frsize // 1024}Ki"
    except OSError:
        pass
    return capacity


def node_labels(facts: NodeFacts) -> dict[str, str]:
    return {
        "kubernetes.io/hostname": facts.name,
        "kubernetes.io/os": facts.operating_system,
        "kubernetes.io/arch": facts.architecture,
        "beta.kubernetes.io/os": facts.operating_system,
        "beta.kubernetes.io/arch": facts.architecture,
        **dict(facts.labels),
    }


def node_conditions(
    ready: bool,
    previous: list[dict[str, Any]] | None = None,
    *,
    reason: str = "",
    message: str = "",
    now: float | None = None,
) -> list[dict[str, Any]]:
    """The pressure conditions (False) and Ready; lastTransitionTime is kept from
    `previous` while a condition's status does not change."""
    stamp = rfc3339(now)
    before = {c.get("type"): c for c in previous or []}

    def condition(kind: str, status: str, why: str, text: str) -> dict[str, Any]:
        old = before.get(kind) or {}
        changed = old.get("status") != status
        return {
            "type": kind,
            "status": status,
            "lastHeartbeatTime": stamp,
            "lastTransitionTime": stamp if changed else old.get("lastTransitionTime", stamp),
            "reason": why,
            "message": text,
        }

    conditions = [condition(kind, "False", why, text) for kind, why, text in PRESSURE_CONDITIONS]
    if ready:
        conditions.append(
            condition(
                "Ready",
                "True",
                reason or "KubeletReady",
                message or "kubelet is posting ready status",
            )
        )
    else:
        conditions.append(
            condition("Ready", "False", reason or "KubeletNotReady", message or "not ready")
        )
    return conditions


def node_status(
    facts: NodeFacts,
    capacity: Mapping[str, str],
    allocatable: Mapping[str, str] | None = None,
    conditions: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    addresses = [{"type": "InternalIP", "address": facts.internal_ip}] if facts.internal_ip else []
    addresses.append({"type": "Hostname", "address": facts.name})
    return {
        "capacity": dict(capacity),
        "allocatable": dict(allocatable if allocatable is not None else capacity),
        "conditions": conditions if conditions is not None else node_conditions(True),
        "addresses": addresses,
        "daemonEndpoints": {"kubeletEndpoint": {"Port": facts.kubelet_port}},
        "nodeInfo": {
            "machineID": facts.machine_id,
            "systemUUID": facts.machine_id,
            "bootID": facts.boot_id,
            "kernelVersion": facts.kernel_version,
            "osImage": facts.os_image,
            "containerRuntimeVersion": facts.container_runtime_version,
            "kubeletVersion": facts.kubelet_version,
            "kubeProxyVersion": facts.kubelet_version,
            "operatingSystem": facts.operating_system,
            "architecture": facts.architecture,
        },
    }


def node_object(
    facts: NodeFacts,
    capacity: Mapping[str, str],
    allocatable: Mapping[str, str] | None = None,
    conditions: list[dict[str, Any]] | None = None,
    pod_cidr: str | None = None,
) -> dict[str, Any]:
    """A whole Node, ready to POST (the apiserver keeps a Node's status on create)."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": facts.name,
            "labels": node_labels(facts),
            **({"annotations": dict(facts.annotations)} if facts.annotations else {}),
        },
        "spec": {"podCIDR": pod_cidr, "podCIDRs": [pod_cidr]} if pod_cidr else {},
        "status": node_status(facts, capacity, allocatable, conditions),
    }


def lease_object(
    node_name: str,
    node_uid: str | None,
    *,
    duration_seconds: int = LEASE_DURATION_SECONDS,
    now: float | None = None,
) -> dict[str, Any]:
    """The node's heartbeat Lease in kube-node-lease, owned by its Node."""
    metadata: dict[str, Any] = {"name": node_name, "namespace": LEASE_NAMESPACE}
    if node_uid:
        metadata["ownerReferences"] = [
            {"apiVersion": "v1", "kind": "Node", "name": node_name, "uid": node_uid}
        ]
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": metadata,
        "spec": {
            "holderIdentity": node_name,
            "leaseDurationSeconds": duration_seconds,
            "renewTime": micro_time(now),
        },
    }


def comparable_status(status: Mapping[str, Any]) -> dict[str, Any]:
    """A node status without heartbeat times: what "the status changed" compares."""
    copy = dict(status)
    copy["conditions"] = [
        {k: v for k, v in c.items() if k not in ("lastHeartbeatTime", "lastTransitionTime")}
        for c in status.get("conditions") or []
    ]
    return copy


def _mem_total_kib() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def _os_image() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    return platform.system() or "Linux"


def _read_first(path: str) -> str:
    try:
        return Path(path).read_text().strip().splitlines()[0].strip()
    except (OSError, IndexError):
        return ""
