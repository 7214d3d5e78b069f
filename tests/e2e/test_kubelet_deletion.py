"""Graceful pod deletion: the kubelet stops the containers within the grace period
(SIGTERM, wait, SIGKILL), removes them, and completes the deletion in the API."""

from __future__ import annotations

import time

import httpx

from tests.e2e.conftest import (
    KubeletProcess,
    create_pod,
    events_for,
    get_pod,
    is_ready,
    node_containers,
    pod_manifest,
    wait_pod,
)
from tests.support.wait import eventually


def _wait_gone(api: httpx.Client, namespace: str, name: str, timeout: float) -> float:
    """Seconds until the pod is gone from the API."""
    began = time.monotonic()
    eventually(
        lambda: get_pod(api, namespace, name) is None, timeout=timeout, message=f"pod {name} gone"
    )
    return time.monotonic() - began


def _wait_containers_gone(kubelet: KubeletProcess, uid: str, timeout: float) -> None:
    eventually(
        lambda: not node_containers(kubelet.node, **{"io.minik.pod.uid": uid}),
        timeout=timeout,
        interval=0.2,
        message=f"the containers of pod {uid} removed",
    )


def test_sigterm_is_honoured_and_the_pod_goes(
    kubelet: KubeletProcess, api: httpx.Client, namespace: str, busybox: str
) -> None:
    polite = {
        "name": "polite",
        "image": busybox,
        "command": [
            "sh",
            "-c",
            "trap 'echo bye > /dev/termination-log; exit 0' TERM; while :; do sleep 0.2; done",
        ],
    }
    created = create_pod(
        api,
        namespace,
        pod_manifest("polite", kubelet.node, [polite], terminationGracePeriodSeconds=30),
    )
    wait_pod(api, namespace, "polite", is_ready, what="Ready")
    uid = created["metadata"]["uid"]
    r = api.delete(f"/api/v1/namespaces/{namespace}/pods/polite")
    assert r.status_code == 200, r.text
    assert r.json()["metadata"]["deletionGracePeriodSeconds"] == 30
    took = _wait_gone(api, namespace, "polite", 15)
    assert took < 10, f"a container that exits on SIGTERM must not wait out 30 s ({took:.1f}s)"
    _wait_containers_gone(kubelet, uid, 10)
    assert not (kubelet.root_dir / "pods" / uid).exists()
    reasons = [(e["reason"], e["message"]) for e in events_for(api, namespace, "polite")]
    assert ("Killing", "Stopping container polite") in reasons


def test_sigkill_after_the_grace_period(
    kubelet: KubeletProcess, api: httpx.Client, namespace: str, busybox: str
) -> None:
    # `sleep` as PID 1 ignores SIGTERM: only SIGKILL, after the grace period, stops it
    stubborn = {"name": "stubborn", "image": busybox, "command": ["sleep", "3600"]}
    created = create_pod(
        api,
        namespace,
        pod_manifest("stubborn", kubelet.node, [stubborn], terminationGracePeriodSeconds=30),
    )
    wait_pod(api, namespace, "stubborn", is_ready, what="Ready")
    uid = created["metadata"]["uid"]
    r = api.delete(
        f"/api/v1/namespaces/{namespace}/pods/stubborn", params={"gracePeriodSeconds": "3"}
    )
    assert r.status_code == 200, r.text
    pod = get_pod(api, namespace, "stubborn")
    assert pod is not None and pod["metadata"]["deletionTimestamp"]
    took = _wait_gone(api, namespace, "stubborn", 20)
    assert 2.5 <= took < 10, f"deletion took {took:.1f}s, want about the 3 s grace period"
    _wait_containers_gone(kubelet, uid, 10)


def test_force_deleted_pod_is_cleaned_up(
    kubelet: KubeletProcess, api: httpx.Client, namespace: str, busybox: str
) -> None:
    container = {"name": "c", "image": busybox, "command": ["sleep", "3600"]}
    created = create_pod(api, namespace, pod_manifest("forced", kubelet.node, [container]))
    wait_pod(api, namespace, "forced", is_ready, what="Ready")
    uid = created["metadata"]["uid"]
    r = api.delete(
        f"/api/v1/namespaces/{namespace}/pods/forced", params={"gracePeriodSeconds": "0"}
    )
    assert r.status_code == 200, r.text
    assert get_pod(api, namespace, "forced") is None
    _wait_containers_gone(kubelet, uid, 15)
