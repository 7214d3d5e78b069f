"""What the kubelet's security tests share: the e2e fixtures (a real kubelet against
the session's apiserver, the offline busybox image), a kubelet of their own per module
(node prefix `sec`), and running a pod to its logs.

A module imports the fixtures it uses from here by name (pytest finds fixtures among a
module's attributes)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import docker
import httpx
import pytest

from tests.e2e import conftest as e2e
from tests.e2e.conftest import KubeletProcess, container_status, docker_id, pod_manifest

busybox = e2e.busybox
pod_network = e2e.pod_network
kubelet_factory = e2e.kubelet_factory
api = e2e.api


@pytest.fixture(scope="module")
def node(kubelet_factory: Callable[..., KubeletProcess], busybox: str) -> KubeletProcess:
    """This module's own kubelet."""
    return kubelet_factory("sec")


def waiting(pod: dict[str, Any], name: str) -> dict[str, Any]:
    return (container_status(pod, name).get("state") or {}).get("waiting") or {}


def terminated(pod: dict[str, Any], name: str) -> dict[str, Any]:
    return (container_status(pod, name).get("state") or {}).get("terminated") or {}


def run_to_logs(
    api: httpx.Client,
    namespace: str,
    node: str,
    name: str,
    containers: list[dict[str, Any]],
    timeout: float = 60.0,
    **spec: Any,
) -> dict[str, str]:
    """Create a pod that runs once; the logs of each container once all have finished."""
    spec.setdefault("restartPolicy", "Never")
    e2e.create_pod(api, namespace, pod_manifest(name, node, containers, **spec))

    def finished(pod: dict[str, Any]) -> bool:
        return all(terminated(pod, c["name"]) for c in containers)

    pod = e2e.wait_pod(api, namespace, name, finished, timeout=timeout, what="finished")
    client = docker.from_env()
    return {
        c["name"]: client.containers.get(docker_id(pod, c["name"])).logs().decode()
        for c in containers
    }


def proc_status(text: str) -> dict[str, str]:
    """`Key: value` lines of /proc/self/status."""
    out = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            out[key.strip()] = value.strip()
    return out


def node_app_containers(node: str, uid: str) -> list[dict[str, Any]]:
    """The pod's app containers in Docker (the sandbox left out)."""
    found = e2e.node_containers(node, **{"io.minik.pod.uid": uid})
    return [c for c in found if (c.get("Labels") or {}).get("io.minik.sandbox") != "true"]
