"""The kubelet's pod start SLI: observed once per pod, when its status first shows
every container started; a pod already started when first seen is left out."""

from __future__ import annotations

from prometheus_client import REGISTRY

from kubelet.metrics import PodStartTracker, all_started, operation_type

RUNNING = {"running": {"startedAt": "2026-01-01T00:00:00Z"}}
WAITING = {"waiting": {"reason": "ContainerCreating"}}


def pod(uid: str, status: dict | None = None) -> dict:
    return {
        "metadata": {"uid": uid, "creationTimestamp": "2026-01-01T00:00:00Z"},
        "status": status or {"phase": "Pending"},
    }


def status(*states: dict, phase: str = "Running") -> dict:
    return {
        "phase": phase,
        "containerStatuses": [{"name": f"c{i}", "state": s} for i, s in enumerate(states)],
    }


def observed() -> tuple[float, float]:
    count = REGISTRY.get_sample_value("kubelet_pod_start_sli_duration_seconds_count") or 0.0
    total = REGISTRY.get_sample_value("kubelet_pod_start_sli_duration_seconds_sum") or 0.0
    return count, total


def test_all_started():
    assert all_started(status(RUNNING, RUNNING))
    assert not all_started(status(RUNNING, WAITING))
    assert not all_started(status(RUNNING, phase="Pending"))
    assert not all_started({"phase": "Running"})


def test_a_pod_start_is_observed_once_from_its_creation():
    created = 1767225600.0  # 2026-01-01T00:00:00Z
    tracker = PodStartTracker(clock=lambda: created + 4.5)
    count, total = observed()
    tracker.status_computed(pod("u1"), status(RUNNING, WAITING))
    assert observed() == (count, total)
    tracker.status_computed(pod("u1"), status(RUNNING, RUNNING))
    tracker.status_computed(pod("u1"), status(RUNNING, RUNNING))
    assert observed() == (count + 1, total + 4.5)
    # a restarted kubelet adopting a running pod: not a start
    tracker.status_computed(pod("u2", status(RUNNING)), status(RUNNING))
    assert observed() == (count + 1, total + 4.5)


def test_operation_types_are_the_cri_names():
    class Api:
        def inspect_container(self) -> None: ...
        def containers(self) -> None: ...

    def _create_sync() -> None: ...

    assert operation_type(Api().inspect_container) == "container_status"
    assert operation_type(Api().containers) == "list_containers"
    assert operation_type(_create_sync) == "create_container"
