"""Pods that need no sandbox container.

A pod's sandbox exists to hold its network namespace (IP, hostname, DNS, hostPorts)
across the restarts of its containers and to share it between them. A pod with
exactly one container — no init containers, not on the host's network, no shared
process namespace — has nothing to share: its one container can hold the pod's
network itself. That halves the Docker work of each such pod (no sandbox to create,
start and stop), and a sandbox's start on the pod network, with its network
endpoint, was the costliest step of a pod's life (bench/jobs.py, bench/pod_startup.py).

What remains is the IP across restarts. A pod that runs its container once
(restartPolicy Never) keeps the IP Docker gave that container. A pod whose container
restarts (Always, OnFailure) keeps its IP because the kubelet allocates it
(kubelet/ipam.py, host-local) and starts every instance of the container with that
fixed address: a restart is a new container with the same IP and hostname, as
Kubernetes promises. Where Docker cannot give fixed addresses (a pod network without
a subnet of its own), such pods keep their sandbox.

Such a container is labelled `io.minik.solo`; the runtime cache lists it both as the
pod's app container and as its sandbox, so the pod IP, the PodReadyToStartContainers
condition, probes, logs (also `--previous`), exec and adoption after a kubelet
restart work unchanged.

The pod IP before the first container starts (its environment is made before it
exists) comes from the allocation too; where Docker picks the address, only a
sandbox can give it, so a container whose environment asks for `status.podIP(s)`
through the downward API then keeps its sandbox.

Ephemeral containers (`kubectl debug`) do not change a pod's kind: no pod is created
with them, and one added later joins the solo container's namespaces as it would join
a sandbox's, while that container runs (a restart of the solo container leaves it in
the old one's namespaces, where a sandbox would have kept it beside the new one).

A pod's kind never changes during its life: whether it already has a sandbox or a
solo container decides (`sticks_to`), so a kubelet restarted with another network
does not turn a running pod into the other kind.
"""

from __future__ import annotations

from typing import Any

from kubelet.records import ContainerRecord

POD_IP_FIELDS = ("status.podIP", "status.podIPs")


def _asks_for_pod_ip(container: dict[str, Any]) -> bool:
    for var in container.get("env") or []:
        field = ((var.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath")
        if field in POD_IP_FIELDS:
            return True
    return False


def runs_alone(pod: dict[str, Any], fixed_ip: bool = False) -> bool:
    """Whether the pod's one container can be its own sandbox; `fixed_ip`: the kubelet
    can pin the pod IP (kubelet/ipam.py), which a container that restarts needs."""
    spec = pod.get("spec") or {}
    containers = spec.get("containers") or []
    return (
        (spec.get("restartPolicy") == "Never" or fixed_ip)
        and len(containers) == 1
        and not spec.get("initContainers")
        and not spec.get("hostNetwork")
        and not spec.get("shareProcessNamespace")
        and (fixed_ip or not _asks_for_pod_ip(containers[0]))
    )


def sticks_to(sandboxes: list[ContainerRecord]) -> bool | None:
    """Whether a pod already has the solo kind (True), a sandbox (False), or has
    neither yet (None); `sandboxes`: its sandbox records, newest first."""
    if not sandboxes:
        return None
    return sandboxes[0].solo
