"""Restart safety: a kubelet killed with SIGKILL comes back and adopts its running
containers from Docker's labels (same ids, same restart counts, no duplicates),
catches up with what changed while it was down, and several kubelets on one
Docker daemon never touch each other's containers."""

from __future__ import annotations

import ipaddress
import json
import random
import secrets
import time
from collections.abc import Callable

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


def _status_changes(before: dict, events: str) -> str:
    """Each watch event's status fields that differ from `before`'s, and its time."""
    lines = []
    old = before.get("status") or {}
    for line in events.splitlines():
        obj = json.loads(line).get("object") or {}
        new = obj.get("status") or {}
        rv = (obj.get("metadata") or {}).get("resourceVersion")
        for key in sorted(set(old) | set(new)):
            if old.get(key) != new.get(key):
                lines.append(f"rv {rv} status.{key}: {old.get(key)!r} -> {new.get(key)!r}")
    return "\n".join(lines) or events[:2000]


def _snapshot(node: str) -> dict[str, str]:
    """container id → Docker state, for every container of the node."""
    return {c["Id"]: c["State"] for c in node_containers(node)}


def test_killed_kubelet_adopts_its_running_pods(
    kubelet_factory: Callable[..., KubeletProcess],
    api: httpx.Client,
    namespace: str,
    busybox: str,
) -> None:
    kubelet = kubelet_factory("restart")
    web = {
        "name": "web",
        "image": busybox,
        "command": ["sh", "-c", "echo hi > /tmp/index.html; httpd -f -p 8080 -h /tmp"],
        "readinessProbe": {"httpGet": {"path": "/", "port": 8080}, "periodSeconds": 1},
    }
    crashed = {"name": "crash", "image": busybox, "command": ["sh", "-c", "exit 1"]}
    side = {"name": "side", "image": busybox, "command": ["sleep", "3600"]}
    create_pod(api, namespace, pod_manifest("steady", kubelet.node, [web, side]))
    create_pod(api, namespace, pod_manifest("looping", kubelet.node, [crashed]))
    doomed = create_pod(api, namespace, pod_manifest("doomed", kubelet.node, [side]))
    steady = wait_pod(api, namespace, "steady", is_ready, what="Ready")
    looping = wait_pod(
        api,
        namespace,
        "looping",
        lambda p: container_status(p, "crash").get("restartCount", 0) >= 1,
        what="restarted once",
    )
    wait_pod(api, namespace, "doomed", is_ready, what="Ready")
    before = _snapshot(kubelet.node)
    ids = {name: docker_id(steady, name) for name in ("web", "side")}
    ready_before = container_status(steady, "web")["ready"]
    restarts_before = container_status(looping, "crash")["restartCount"]

    # the status the kubelet last wrote before it dies (it may have written more since
    # Ready, e.g. on a later sync), against which the restarted one must change nothing
    steady_before = get_pod(api, namespace, "steady")
    assert steady_before is not None
    steady_rv = steady_before["metadata"]["resourceVersion"]
    kubelet.kill()
    # While it is down: one pod is force-deleted, one is created.
    r = api.delete(
        f"/api/v1/namespaces/{namespace}/pods/doomed", params={"gracePeriodSeconds": "0"}
    )
    assert r.status_code == 200, r.text
    late = {"name": "late", "image": busybox, "command": ["sleep", "3600"]}
    create_pod(api, namespace, pod_manifest("late", kubelet.node, [late]))
    kubelet.start()

    wait_pod(api, namespace, "late", is_ready, what="the pod created while down Ready")
    doomed_uid = doomed["metadata"]["uid"]
    eventually(
        lambda: not node_containers(kubelet.node, **{"io.minik.pod.uid": doomed_uid}),
        timeout=15,
        interval=0.2,
        message="the force-deleted pod's containers removed",
    )
    time.sleep(2)  # a few relists and syncs
    after = _snapshot(kubelet.node)
    steady = get_pod(api, namespace, "steady")
    assert steady is not None
    for name, cid in ids.items():
        assert docker_id(steady, name) == cid, f"{name} was replaced"
        assert after[cid] == "running"
        assert container_status(steady, name)["restartCount"] == 0
    # readiness is carried over from the API status: the pod never flapped
    assert ready_before and container_status(steady, "web")["ready"]
    # nothing of the surviving pods was duplicated or restarted
    survivors = {cid: state for cid, state in before.items() if cid in after}
    assert all(after[cid] == state or state != "running" for cid, state in survivors.items())
    steady_uid = steady["metadata"]["uid"]
    running = [
        c
        for c in node_containers(kubelet.node, **{"io.minik.pod.uid": steady_uid})
        if c["State"] == "running"
    ]
    assert len(running) == 3  # sandbox + web + side, once each
    # The adopted pod's status was never rewritten: the restarted kubelet computed
    # exactly what the API already had (no NotReady flap, no new times).
    changes = api.get(
        f"/api/v1/namespaces/{namespace}/pods",
        params={
            "watch": "true",
            "resourceVersion": steady_rv,
            "fieldSelector": "metadata.name=steady",
            "timeoutSeconds": "1",
        },
    )
    assert changes.status_code == 200
    assert changes.text.strip() == "", _status_changes(steady_before, changes.text)
    looping = get_pod(api, namespace, "looping")
    assert looping is not None
    assert container_status(looping, "crash")["restartCount"] >= restarts_before


def test_two_kubelets_share_one_docker_daemon(
    kubelet: KubeletProcess,
    kubelet_factory: Callable[..., KubeletProcess],
    api: httpx.Client,
    namespace: str,
    busybox: str,
) -> None:
    other = kubelet_factory("other")
    container = {"name": "c", "image": busybox, "command": ["sleep", "3600"]}
    create_pod(api, namespace, pod_manifest("on-first", kubelet.node, [container]))
    create_pod(api, namespace, pod_manifest("on-second", other.node, [container]))
    first = wait_pod(api, namespace, "on-first", is_ready, what="Ready")
    second = wait_pod(api, namespace, "on-second", is_ready, what="Ready")
    first_uid, second_uid = first["metadata"]["uid"], second["metadata"]["uid"]
    assert {c["Labels"]["io.minik.pod.uid"] for c in node_containers(kubelet.node)} >= {first_uid}
    assert second_uid not in {
        c["Labels"]["io.minik.pod.uid"] for c in node_containers(kubelet.node)
    }
    assert {c["Labels"]["io.minik.pod.uid"] for c in node_containers(other.node)} == {second_uid}
    first_ids = {c["Id"] for c in node_containers(kubelet.node, **{"io.minik.pod.uid": first_uid})}

    # A restarted kubelet removes containers of pods it does not know — only its own.
    other.kill()
    other.start()
    api.delete(f"/api/v1/namespaces/{namespace}/pods/on-second")
    eventually(
        lambda: not node_containers(other.node),
        timeout=15,
        interval=0.2,
        message="the second kubelet's pod's containers removed",
    )
    time.sleep(HOUSEKEEPING_WAIT)
    mine = node_containers(kubelet.node, **{"io.minik.pod.uid": first_uid})
    still = {c["Id"]: c["State"] for c in mine}
    assert set(still) == first_ids and set(still.values()) == {"running"}
    assert get_pod(api, namespace, "on-second") is None
    assert is_ready(get_pod(api, namespace, "on-first") or {})


HOUSEKEEPING_WAIT = 3.0  # more than one housekeeping pass of both kubelets


def test_pod_cidr_sets_the_network_and_the_node(
    kubelet_factory: Callable[..., KubeletProcess],
    api: httpx.Client,
    namespace: str,
    busybox: str,
) -> None:
    cidr = f"10.{random.randint(200, 254)}.{random.randint(0, 255)}.0/24"
    network = f"minik-e2e-cidr-{secrets.token_hex(3)}"
    kubelet = kubelet_factory("cidr", ["--pod-cidr", cidr], network=network)
    node = api.get(f"/api/v1/nodes/{kubelet.node}").json()
    assert node["spec"]["podCIDR"] == cidr and node["spec"]["podCIDRs"] == [cidr]
    container = {"name": "c", "image": busybox, "command": ["sleep", "3600"]}
    create_pod(api, namespace, pod_manifest("addressed", kubelet.node, [container]))
    pod = wait_pod(api, namespace, "addressed", is_ready, what="Ready")
    assert ipaddress.ip_address(pod["status"]["podIP"]) in ipaddress.ip_network(cidr)
