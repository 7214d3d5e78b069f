"""Pods that need no sandbox container.

A pod's sandbox exists to hold its network namespace (IP, hostname, DNS, hostPorts)
across the restarts of its containers and to share it between them. A pod that runs
exactly one container exactly once — restartPolicy Never, no init containers, not on
the host's network, no shared process namespace — has nothing to share and nothing
to restart: its one container can hold the pod's network itself, and the pod IP is
that container's for the pod's whole life, as Kubernetes promises. This is most Job
pods, and it halves the Docker work of each (no sandbox to create, start and stop:
measured by bench/jobs.py, where the sandbox's start on the pod network was the
costliest step of a pod's life).

Such a container is labelled `io.minik.solo`; the runtime cache lists it both as the
pod's app container and as its sandbox, so the pod IP, the PodReadyToStartContainers
condition, probes, logs, exec and adoption after a kubelet restart work unchanged.

One thing only a sandbox can give: the pod IP before the first container starts. A
container whose environment asks for `status.podIP(s)` through the downward API
therefore keeps its sandbox.

Ephemeral containers (`kubectl debug`) do not change a pod's kind: no pod is created
with them, and one added later joins the solo container's namespaces as it would join
a sandbox's, while that container runs.
"""

from __future__ import annotations

from typing import Any

POD_IP_FIELDS = ("status.podIP", "status.podIPs")


def _asks_for_pod_ip(container: dict[str, Any]) -> bool:
    for var in container.get("env") or []:
        field = ((var.get("valueFrom") or {}).get("fieldRef") or {}).get("fieldPath")
        if field in POD_IP_FIELDS:
            return True
    return False


def runs_alone(pod: dict[str, Any]) -> bool:
    """Whether the pod's one container can be its own sandbox."""
    spec = pod.get("spec") or {}
    containers = spec.get("containers") or []
    return (
        spec.get("restartPolicy") == "Never"
        and len(containers) == 1
        and not spec.get("initContainers")
        and not spec.get("hostNetwork")
        and not spec.get("shareProcessNamespace")
        and not _asks_for_pod_ip(containers[0])
    )
