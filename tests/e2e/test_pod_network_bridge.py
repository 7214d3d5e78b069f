"""`--pod-network bridge`: pods on Docker's own default network, where a plain
`docker run` puts a container. Docker refuses fixed addresses there, so Docker gives
the pod IPs: a one-container pod that runs once still needs no sandbox (its container
keeps the IP Docker gave it), and one whose container restarts keeps a sandbox."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

import docker
import httpx

from kubelet.dockerlabels import POD_NAME, SANDBOX, SOLO
from tests.e2e.conftest import (
    KubeletProcess,
    create_pod,
    is_ready,
    node_containers,
    phase,
    pod_manifest,
    wait_pod,
)

DEFAULT_BRIDGE = "bridge"


def bridge_subnet() -> ipaddress.IPv4Network:
    inspected = docker.from_env().api.inspect_network(DEFAULT_BRIDGE)
    return ipaddress.IPv4Network(inspected["IPAM"]["Config"][0]["Subnet"])


def test_pods_run_on_docker_s_default_bridge(
    kubelet_factory: Callable[..., KubeletProcess],
    api: httpx.Client,
    namespace: str,
    busybox: str,
) -> None:
    kubelet = kubelet_factory("bridge", network=DEFAULT_BRIDGE)
    once = {"name": "once", "image": busybox, "command": ["sh", "-c", "echo done"]}
    create_pod(api, namespace, pod_manifest("once", kubelet.node, [once], restartPolicy="Never"))
    app = {"name": "app", "image": busybox, "command": ["sleep", "3600"]}
    create_pod(api, namespace, pod_manifest("served", kubelet.node, [app]))

    ran = wait_pod(
        api, namespace, "once", lambda p: phase(p) == "Succeeded", timeout=60, what="Succeeded"
    )
    served = wait_pod(api, namespace, "served", is_ready, timeout=60, what="Ready")
    subnet = bridge_subnet()
    assert ipaddress.ip_address(served["status"]["podIP"]) in subnet, served["status"]
    log = api.get(f"/api/v1/namespaces/{namespace}/pods/once/log")
    assert log.status_code == 200 and log.text == "done\n", log.text
    assert ran["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 0

    # The pod that ran once: one container, its own sandbox, on Docker's bridge.
    [solo] = node_containers(kubelet.node, **{POD_NAME: "once"})
    assert solo["Labels"].get(SOLO) == "true", solo["Labels"]
    assert DEFAULT_BRIDGE in solo["NetworkSettings"]["Networks"], solo["NetworkSettings"]
    # The pod that restarts its container: a sandbox holds the IP Docker gave it.
    kept = node_containers(kubelet.node, **{POD_NAME: "served"})
    sandboxes = [c for c in kept if c["Labels"].get(SANDBOX) == "true"]
    assert len(kept) == 2 and len(sandboxes) == 1, [c["Labels"] for c in kept]
    bridge = sandboxes[0]["NetworkSettings"]["Networks"][DEFAULT_BRIDGE]
    assert bridge["IPAddress"] == served["status"]["podIP"]
