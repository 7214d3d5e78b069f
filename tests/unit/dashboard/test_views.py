"""The dashboard's views: rollout progress as `kubectl rollout status` would say it, a
Service's endpoints, a pod's chip (status word, colour, version) and resource use."""

from __future__ import annotations

from typing import Any

import pytest

from dashboard.views import (
    event_view,
    node_view,
    pod_health,
    pod_view,
    rollout_view,
    service_view,
    usage_view,
)


def deployment(desired: int, generation: int = 2, observed: int = 2, **status: Any) -> dict:
    return {
        "metadata": {"name": "web", "namespace": "default", "generation": generation},
        "spec": {"replicas": desired},
        "status": {"observedGeneration": observed, **status},
    }


@pytest.mark.parametrize(
    ("status", "state", "text"),
    [
        (
            {"replicas": 4, "updatedReplicas": 1, "readyReplicas": 3, "availableReplicas": 3},
            "progressing",
            "Rolling out: 1 of 3 pods run the new version, 3 old still running",
        ),
        (
            {"replicas": 4, "updatedReplicas": 3, "readyReplicas": 4, "availableReplicas": 4},
            "progressing",
            "Rolling out: all 3 new pods created; 1 old pod is being removed",
        ),
        (
            {"replicas": 3, "updatedReplicas": 3, "readyReplicas": 2, "availableReplicas": 2},
            "progressing",
            "Waiting for pods to become ready: 2 of 3 available",
        ),
        (
            {"replicas": 3, "updatedReplicas": 3, "readyReplicas": 3, "availableReplicas": 3},
            "complete",
            "Up to date: 3 of 3 available",
        ),
    ],
)
def test_a_rolling_update_step_by_step(status: dict, state: str, text: str) -> None:
    view = rollout_view("Deployment", deployment(3, **status))
    assert (view["state"], view["text"]) == (state, text)
    assert view["desired"] == 3 and view["old"] == status["replicas"] - status["updatedReplicas"]


def test_a_stale_paused_or_stuck_deployment() -> None:
    stale = rollout_view("Deployment", deployment(3, generation=3, observed=2))
    assert stale["text"] == "Deployment web: waiting for its controller to act"
    paused = deployment(3, replicas=3, updatedReplicas=3, availableReplicas=3)
    paused["spec"]["paused"] = True
    assert rollout_view("Deployment", paused)["state"] == "paused"
    stuck = deployment(3, replicas=3, updatedReplicas=1)
    stuck["status"]["conditions"] = [
        {
            "type": "Progressing",
            "status": "False",
            "reason": "ProgressDeadlineExceeded",
            "message": 'ReplicaSet "web-5d" has timed out progressing.',
        }
    ]
    view = rollout_view("Deployment", stuck)
    assert view["state"] == "failed"
    assert view["text"] == 'Deployment web is stuck: ReplicaSet "web-5d" has timed out progressing.'


def test_daemonset_statefulset_and_job_progress() -> None:
    ds = {
        "metadata": {"name": "agent", "namespace": "kube-system"},
        "status": {
            "desiredNumberScheduled": 3,
            "currentNumberScheduled": 3,
            "updatedNumberScheduled": 2,
            "numberReady": 3,
            "numberAvailable": 3,
        },
    }
    view = rollout_view("DaemonSet", ds)
    assert (view["updated"], view["old"], view["state"]) == (2, 1, "progressing")
    sts = {
        "metadata": {"name": "db", "namespace": "default"},
        "spec": {"replicas": 2},
        "status": {
            "replicas": 2,
            "readyReplicas": 2,
            "availableReplicas": 2,
            "currentRevision": "db-1",
            "updateRevision": "db-1",
        },
    }
    assert rollout_view("StatefulSet", sts)["text"] == "Up to date: 2 of 2 available"
    job = {
        "metadata": {"name": "pi", "namespace": "default"},
        "spec": {"completions": 5},
        "status": {"succeeded": 2, "active": 2, "failed": 1},
    }
    view = rollout_view("Job", job)
    assert (view["state"], view["text"]) == ("progressing", "2 of 5 completed, 2 running, 1 failed")
    job["status"]["conditions"] = [
        {
            "type": "Failed",
            "status": "True",
            "reason": "BackoffLimitExceeded",
            "message": "Job has reached the specified backoff limit",
        }
    ]
    view = rollout_view("Job", job)
    assert (view["state"], view["text"]) == (
        "failed",
        "Failed: Job has reached the specified backoff limit",
    )


def test_a_service_lists_ready_and_not_ready_endpoints_by_pod() -> None:
    svc = {
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "type": "NodePort",
            "clusterIP": "10.96.0.10",
            "selector": {"app": "web"},
            "ports": [{"port": 80, "targetPort": 8080, "nodePort": 30080, "protocol": "TCP"}],
        },
    }
    ep = {
        "subsets": [
            {
                "addresses": [
                    {"ip": "10.0.0.5", "nodeName": "n1", "targetRef": {"name": "web-b"}},
                    {"ip": "10.0.0.4", "nodeName": "n1", "targetRef": {"name": "web-a"}},
                ],
                "notReadyAddresses": [{"ip": "10.0.0.6", "targetRef": {"name": "web-c"}}],
            }
        ]
    }
    view = service_view(svc, ep)
    assert view["ports"] == ["80→8080 (node 30080)/TCP"]
    assert view["selector"] == "app=web"
    assert [e["pod"] for e in view["ready"]] == ["web-a", "web-b"]
    assert [e["pod"] for e in view["notReady"]] == ["web-c"]
    assert service_view(svc, None)["ready"] == []


def test_a_pod_chip_carries_its_status_word_health_version_and_requests() -> None:
    pod = {
        "metadata": {
            "name": "web-5d-x",
            "namespace": "default",
            "labels": {"pod-template-hash": "5d"},
            "ownerReferences": [{"kind": "ReplicaSet", "name": "web-5d", "controller": True}],
        },
        "spec": {
            "nodeName": "n1",
            "containers": [
                {"name": "app", "resources": {"requests": {"cpu": "250m", "memory": "64Mi"}}}
            ],
        },
        "status": {
            "phase": "Running",
            "containerStatuses": [
                {
                    "name": "app",
                    "ready": False,
                    "restartCount": 3,
                    "state": {"waiting": {"reason": "CrashLoopBackOff"}},
                }
            ],
        },
    }
    view = pod_view(pod)
    assert (view["status"], view["health"], view["ready"], view["restarts"]) == (
        "CrashLoopBackOff",
        "bad",
        "0/1",
        3,
    )
    assert (view["version"], view["owner"]) == ("5d", {"kind": "ReplicaSet", "name": "web-5d"})
    assert (view["cpuRequest"], view["memoryRequest"]) == (250, 64 * 1024 * 1024)
    assert view["pending"] is None


@pytest.mark.parametrize(
    ("reason", "ready", "phase", "health"),
    [
        ("Running", 1, "Running", "ok"),
        ("Running", 0, "Running", "progress"),
        ("ContainerCreating", 0, "Pending", "progress"),
        ("ErrImageNeverPull", 0, "Pending", "bad"),
        ("Terminating", 1, "Running", "gone"),
        ("Completed", 0, "Succeeded", "done"),
        ("Error", 0, "Failed", "bad"),
    ],
)
def test_pod_health(reason: str, ready: int, phase: str, health: str) -> None:
    assert pod_health(reason, ready, 1, phase) == health


def test_a_node_that_stopped_reporting() -> None:
    node = {
        "metadata": {"name": "n2"},
        "spec": {
            "taints": [{"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}],
        },
        "status": {
            "allocatable": {"cpu": "2", "memory": "4Gi", "pods": "110"},
            "conditions": [
                {
                    "type": "Ready",
                    "status": "Unknown",
                    "message": "Kubelet stopped posting node status.",
                    "lastTransitionTime": "2026-01-01T00:00:00Z",
                }
            ],
        },
    }
    view = node_view(node)
    assert (view["status"], view["ready"]) == ("NotReady", False)
    assert view["readyMessage"] == "Kubelet stopped posting node status."
    assert view["taints"] == ["node.kubernetes.io/unreachable:NoExecute"]
    assert (view["cpu"], view["memory"], view["pods"]) == (2000, 4 * 1024**3, 110)


def test_usage_sums_containers_in_millicores_and_bytes() -> None:
    pod_metrics = {
        "containers": [
            {"usage": {"cpu": "1500000n", "memory": "10Mi"}},
            {"usage": {"cpu": "2m", "memory": "1Ki"}},
        ]
    }
    assert usage_view(pod_metrics) == {"cpu": 3, "memory": 10 * 1024 * 1024 + 1024}
    assert usage_view({"usage": {"cpu": "250m", "memory": "1Gi"}}) == {
        "cpu": 250,
        "memory": 1024**3,
    }


def test_an_event_names_its_object_and_its_latest_time() -> None:
    ev = {
        "metadata": {"name": "web.1", "namespace": "default", "creationTimestamp": "t0"},
        "involvedObject": {"kind": "Pod", "name": "web", "namespace": "default"},
        "type": "Warning",
        "reason": "FailedScheduling",
        "message": "0/1 nodes are available: 1 Insufficient cpu.",
        "count": 4,
        "lastTimestamp": "t9",
        "source": {"component": "default-scheduler"},
    }
    view = event_view(ev)
    assert (view["object"], view["count"], view["time"], view["source"]) == (
        "Pod/web",
        4,
        "t9",
        "default-scheduler",
    )


def test_a_running_pod_on_a_silent_node_is_not_shown_as_healthy() -> None:
    pod = {
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"nodeName": "n2", "containers": [{"name": "app"}]},
        "status": {
            "phase": "Running",
            "conditions": [
                {"type": "Ready", "status": "False", "reason": "NodeNotReady"},
            ],
            "containerStatuses": [
                {"name": "app", "ready": True, "state": {"running": {}}},
            ],
        },
    }
    view = pod_view(pod)
    assert (view["status"], view["ready"]) == ("Running", "1/1")  # as kubectl prints it
    assert (view["health"], view["notReady"]) == ("progress", "NodeNotReady")
    pod["status"]["conditions"][0]["status"] = "True"
    assert (pod_view(pod)["health"], pod_view(pod)["notReady"]) == ("ok", "")
    starting = {**pod, "status": {**pod["status"], "containerStatuses": [{"name": "app"}]}}
    starting["status"]["conditions"] = [{"type": "Ready", "status": "False"}]
    assert pod_view(starting)["notReady"] == ""  # 0/1 says it already
