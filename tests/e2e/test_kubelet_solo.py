"""A restartPolicy Always pod with one container is one Docker container (no sandbox)
and keeps its pod IP as Kubernetes promises: across restarts of that container (each
a new container, started with the address the kubelet allocated: kubelet/ipam.py)
and across a kubelet restart (adopted, nothing allocated twice), until it is deleted."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import docker
import httpx

from tests.e2e.conftest import (
    KubeletProcess,
    container_status,
    create_pod,
    docker_id,
    get_pod,
    is_ready,
    node_containers,
    pod_manifest,
    wait_pod,
)
from tests.support.wait import eventually

SOLO = "io.minik.solo"
UID = "io.minik.pod.uid"


def _allocations(kubelet: KubeletProcess) -> dict[str, str]:
    """address → pod uid, as the kubelet's host-local store has them."""
    directory = kubelet.root_dir / "ipam" / kubelet.network
    if not directory.is_dir():
        return {}
    return {
        p.name: p.read_text().strip()
        for p in Path(directory).iterdir()
        if p.name[0].isdigit() and p.is_file()
    }


def _restarted(count: int) -> Callable[[dict], bool]:
    def check(pod: dict) -> bool:
        status = container_status(pod, "web")
        return status.get("restartCount", 0) >= count and is_ready(pod)

    return check


def test_solo_always_pod_keeps_its_ip_across_container_and_kubelet_restarts(
    kubelet_factory: Callable[..., KubeletProcess],
    api: httpx.Client,
    namespace: str,
    busybox: str,
) -> None:
    kubelet = kubelet_factory("solo")
    web = {
        "name": "web",
        "image": busybox,
        "command": [
            "sh",
            "-c",
            "echo started; hostname > /tmp/index.html; httpd -f -p 8080 -h /tmp",
        ],
        "readinessProbe": {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1},
    }
    created = create_pod(api, namespace, pod_manifest("web", kubelet.node, [web]))
    uid = created["metadata"]["uid"]
    pod = wait_pod(api, namespace, "web", is_ready, what="Ready")
    ip = pod["status"]["podIP"]
    # One Docker container, its own sandbox, with the allocated fixed address.
    holders = node_containers(kubelet.node, **{UID: uid})
    assert [c["Labels"].get(SOLO) for c in holders] == ["true"], holders
    first = docker_id(pod, "web")
    inspected = docker.from_env().api.inspect_container(first)
    assert inspected["Config"]["Hostname"] == "web"
    endpoint = next(iter(inspected["NetworkSettings"]["Networks"].values()))
    assert endpoint["IPAMConfig"]["IPv4Address"] == ip == endpoint["IPAddress"]
    assert _allocations(kubelet) == {ip: uid}
    assert httpx.get(f"http://{ip}:8080/", timeout=5).text.strip() == "web"

    # The container dies: a new container, the same IP.
    docker.from_env().api.kill(first)
    pod = wait_pod(api, namespace, "web", _restarted(1), 40, "restarted once, Ready")
    second = docker_id(pod, "web")
    assert second != first and pod["status"]["podIP"] == ip
    assert container_status(pod, "web")["lastState"]["terminated"]["exitCode"] == 137
    assert httpx.get(f"http://{ip}:8080/", timeout=5).text.strip() == "web"
    previous = api.get(f"/api/v1/namespaces/{namespace}/pods/web/log", params={"previous": "true"})
    assert previous.status_code == 200 and previous.text == "started\n", previous.text

    # A kubelet killed and started again adopts it: no new container, no new address.
    kubelet.kill()
    kubelet.start()
    other = create_pod(
        api, namespace, pod_manifest("other", kubelet.node, [{**web, "name": "web"}])
    )
    other_pod = wait_pod(api, namespace, "other", is_ready, what="the second pod Ready")
    other_ip = other_pod["status"]["podIP"]
    assert other_ip != ip  # nothing given twice across the restart
    pod = get_pod(api, namespace, "web")
    assert pod is not None and docker_id(pod, "web") == second
    assert pod["status"]["podIP"] == ip
    assert _allocations(kubelet) == {ip: uid, other_ip: other["metadata"]["uid"]}

    # ... and a restart after the kubelet's own keeps the address too.
    docker.from_env().api.kill(second)
    pod = wait_pod(api, namespace, "web", _restarted(2), 60, "restarted twice, Ready")
    assert docker_id(pod, "web") not in (first, second)
    assert pod["status"]["podIP"] == ip
    assert httpx.get(f"http://{ip}:8080/", timeout=5).text.strip() == "web"

    # Deleted: its containers go and its address is released.
    r = api.delete(f"/api/v1/namespaces/{namespace}/pods/web")
    assert r.status_code == 200, r.text
    eventually(
        lambda: (
            get_pod(api, namespace, "web") is None
            and not node_containers(kubelet.node, **{UID: uid})
        ),
        timeout=30,
        interval=0.2,
        message="the pod and its containers gone",
    )
    eventually(
        lambda: _allocations(kubelet) == {other_ip: other["metadata"]["uid"]},
        timeout=10,
        interval=0.2,
        message="its address released, the other pod's kept",
    )
