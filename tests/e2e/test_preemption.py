"""Preemption on real Docker (issue 12): a kubelet declaring one CPU runs a
low-priority pod; a high-priority pod that needs the CPU arrives, the scheduler
preempts the low one (the kubelet stops its container, the pod goes), and the high one
runs there. What the integration test (fake kubelets) cannot show: a real kubelet's
graceful stop of the victim's containers, its resources freed for the preemptor on a
node whose capacity the kubelet declares. (The kubelet writes no status for the
victim between its DisruptionTarget and its deletion here; that its status writes keep
the condition is tests/unit/kubelet/test_podstatus.py's.)"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import docker
import httpx
import pytest

from deploy.controlplane import ApiServer, make_workdir, remove_workdir
from kubelet.dockerlabels import POD_UID
from tests.e2e.conftest import (
    TEST_LABEL,
    KubeletProcess,
    get_pod,
    pods_version,
    wait_pod,
)
from tests.support.components import spawn_scheduler
from tests.support.wait import Deadline

PC = "/apis/scheduling.k8s.io/v1/priorityclasses"


@pytest.fixture(scope="module")
def scheduler_name(apiserver: ApiServer) -> Iterator[str]:
    """A scheduler of this module's own name: it places only this module's pods."""
    name = f"prio-{secrets.token_hex(3)}"
    workdir = make_workdir("minik-e2e-preemption-")
    proc = spawn_scheduler(apiserver, workdir, name)
    yield name
    proc.stop()
    remove_workdir(workdir)


@pytest.fixture
def classes(api: httpx.Client) -> Iterator[tuple[str, str]]:
    suffix = secrets.token_hex(3)
    low, high = f"e2e-low-{suffix}", f"e2e-high-{suffix}"
    for name, value in ((low, 1), (high, 1000)):
        r = api.post(PC, json={"metadata": {"name": name}, "value": value})
        assert r.status_code == 201, r.text
    yield low, high
    for name in (low, high):
        api.delete(f"{PC}/{name}")


def pod(name: str, node: str, scheduler: str, priority_class: str, busybox: str) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {TEST_LABEL: "true"}},
        "spec": {
            "schedulerName": scheduler,
            "priorityClassName": priority_class,
            "nodeSelector": {"kubernetes.io/hostname": node},
            "terminationGracePeriodSeconds": 2,
            "containers": [
                {
                    "name": "app",
                    "image": busybox,
                    "imagePullPolicy": "IfNotPresent",
                    "command": ["sh", "-c", "trap 'exit 0' TERM; sleep 3600 & wait"],
                    "resources": {"requests": {"cpu": "800m"}},
                }
            ],
        },
    }


def disruption_target(p: dict[str, Any]) -> dict[str, Any] | None:
    conds = (p.get("status") or {}).get("conditions") or []
    return next((c for c in conds if c.get("type") == "DisruptionTarget"), None)


def low_until_deleted(api: httpx.Client, namespace: str, since: str) -> list[dict[str, Any]]:
    """Every version of pod `low` written after `since`, up to its deletion."""
    deadline = Deadline(30, "pod low to be preempted and deleted")
    params = {
        "watch": "1",
        "resourceVersion": since,
        "fieldSelector": "metadata.name=low",
        "timeoutSeconds": "30",
    }
    seen: list[dict[str, Any]] = []
    url = f"/api/v1/namespaces/{namespace}/pods"
    with api.stream("GET", url, params=params, timeout=35) as r:
        assert r.status_code == 200, r.read()
        for line in r.iter_lines():
            event = json.loads(line)
            seen.append(event["object"])
            if event["type"] == "DELETED":
                return seen
    raise deadline.error(seen[-1:])


def running(p: dict[str, Any]) -> bool:
    return (p.get("status") or {}).get("phase") == "Running"


def test_a_running_low_priority_pod_is_preempted_for_a_high_one(
    api: httpx.Client,
    namespace: str,
    kubelet_factory: Callable[..., KubeletProcess],
    busybox: str,
    scheduler_name: str,
    classes: tuple[str, str],
) -> None:
    low_class, high_class = classes
    node = kubelet_factory("prio", ["--cpu", "1"]).node
    base = f"/api/v1/namespaces/{namespace}/pods"
    r = api.post(base, json=pod("low", node, scheduler_name, low_class, busybox))
    assert r.status_code == 201, r.text
    low_uid = r.json()["metadata"]["uid"]
    wait_pod(api, namespace, "low", running, timeout=30, what="low Running")

    since = pods_version(api, namespace)
    r = api.post(base, json=pod("high", node, scheduler_name, high_class, busybox))
    assert r.status_code == 201, r.text
    high_uid = r.json()["metadata"]["uid"]

    versions = low_until_deleted(api, namespace, since)
    marked = [i for i, v in enumerate(versions) if disruption_target(v) is not None]
    assert marked, "the victim never carried DisruptionTarget"
    cond = disruption_target(versions[marked[0]])
    assert cond is not None and cond["reason"] == "PreemptionByScheduler"
    # every later write (the graceful deletion, any status write) kept it
    later = versions[marked[0] :]
    assert all(disruption_target(v) == cond for v in later), later
    assert any(v["metadata"].get("deletionTimestamp") for v in later)
    high = wait_pod(api, namespace, "high", running, timeout=30, what="high Running")
    assert high["spec"]["nodeName"] == node
    assert high["status"].get("nominatedNodeName") == node
    assert get_pod(api, namespace, "low") is None
    low_running = docker.from_env().containers.list(
        ignore_removed=True, filters={"label": f"{POD_UID}={low_uid}"}
    )
    assert low_running == []  # the kubelet stopped the victim's containers
    events = api.get(
        f"/api/v1/namespaces/{namespace}/events",
        params={"fieldSelector": "involvedObject.name=low,reason=Preempted"},
    ).json()["items"]
    assert [e["message"] for e in events] == [f"Preempted by pod {high_uid} on node {node}"]
