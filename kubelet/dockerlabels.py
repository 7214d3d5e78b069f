"""How the kubelet marks what it creates in Docker, so Docker alone can tell it later.

Every container carries labels naming its node, pod and container. A restarted
kubelet rebuilds its whole view from them (no local database), and several kubelets
sharing one Docker daemon each filter on their own `io.minik.node` label, so they
never see, adopt or remove each other's containers. Names follow the old dockershim
scheme (`k8s_<container>_<pod>_<namespace>_<uid>_<attempt>`), so `docker ps` reads.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from api.clusterdefaults import (
    CONTAINER_KIND_LABEL,
    NODE_CONTAINER_LABEL,
    POD_NAME_CONTAINER_LABEL,
    POD_NAMESPACE_CONTAINER_LABEL,
    POD_NETWORK_LABEL,
)

PREFIX = "io.minik."
# The keys other processes read too (`minik down`, the benches) live in api/clusterdefaults.
NODE = NODE_CONTAINER_LABEL
POD_UID = "io.minik.pod.uid"
POD_NAME = POD_NAME_CONTAINER_LABEL
POD_NAMESPACE = POD_NAMESPACE_CONTAINER_LABEL
POD_GRACE = "io.minik.pod.termination-grace-period"
SANDBOX = "io.minik.sandbox"  # "true" on the pod's network-namespace holder
CONTAINER_NAME = "io.minik.container.name"
CONTAINER_KIND = CONTAINER_KIND_LABEL  # "init" or "app"
RESTART_COUNT = "io.minik.container.restart-count"  # the sandbox's attempt, for sandboxes
CONTAINER_HASH = "io.minik.container.hash"
CONTAINER_IMAGE = "io.minik.container.image"  # the image as the pod spec names it
TERMINATION_LOG = "io.minik.container.termination-log"  # host path of the message file
MESSAGE_POLICY = "io.minik.container.termination-message-policy"
SANDBOX_ID = "io.minik.sandbox.id"  # the sandbox an app/init container joined
SOLO = "io.minik.solo"  # "true": an app container that is its own sandbox (kubelet/solo.py)
NETWORK = POD_NETWORK_LABEL  # on the pod network the kubelet created

SANDBOX_CONTAINER_NAME = "POD"


def node_filter(node: str) -> dict[str, list[str]]:
    """Docker `filters` selecting only this node's containers."""
    return {"label": [f"{NODE}={node}"]}


def pod_filter(node: str, uid: str) -> dict[str, list[str]]:
    return {"label": [f"{NODE}={node}", f"{POD_UID}={uid}"]}


def _pod_labels(node: str, pod: dict[str, Any]) -> dict[str, str]:
    md = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    return {
        NODE: node,
        POD_UID: md.get("uid", ""),
        POD_NAME: md.get("name", ""),
        POD_NAMESPACE: md.get("namespace", ""),
        POD_GRACE: str(int(spec.get("terminationGracePeriodSeconds", 30) or 0)),
    }


def sandbox_labels(node: str, pod: dict[str, Any], attempt: int) -> dict[str, str]:
    return {
        **_pod_labels(node, pod),
        SANDBOX: "true",
        CONTAINER_NAME: SANDBOX_CONTAINER_NAME,
        RESTART_COUNT: str(attempt),
    }


def container_labels(
    node: str,
    pod: dict[str, Any],
    container: dict[str, Any],
    *,
    init: bool,
    restart_count: int,
    sandbox_id: str,
    termination_log: str | None,
    solo: bool = False,
) -> dict[str, str]:
    labels = {
        **_pod_labels(node, pod),
        SANDBOX: "false",
        CONTAINER_NAME: container.get("name", ""),
        CONTAINER_KIND: "init" if init else "app",
        RESTART_COUNT: str(restart_count),
        CONTAINER_HASH: container_hash(container),
        CONTAINER_IMAGE: container.get("image", ""),
        SANDBOX_ID: sandbox_id,
        MESSAGE_POLICY: container.get("terminationMessagePolicy") or "File",
    }
    if termination_log:
        labels[TERMINATION_LOG] = termination_log
    if solo:
        labels[SOLO] = "true"
    return labels


def container_hash(container: dict[str, Any]) -> str:
    """A short hash of the container's spec: when it changes (a new image), the
    running container no longer matches the pod and is replaced, as in Kubernetes."""
    text = json.dumps(container, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def docker_name(pod: dict[str, Any], container_name: str, attempt: int) -> str:
    md = pod.get("metadata") or {}
    parts = (container_name, md.get("name", ""), md.get("namespace", ""), md.get("uid", ""))
    return "k8s_" + "_".join(parts) + f"_{attempt}"


def sandbox_name(pod: dict[str, Any], attempt: int) -> str:
    return docker_name(pod, SANDBOX_CONTAINER_NAME, attempt)
