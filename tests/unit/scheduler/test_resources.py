"""What a pod asks of a node: Kubernetes' rules for containers, init containers,
sidecars, overhead and request-less containers."""

from __future__ import annotations

from scheduler.podinfo import PodInfo, owner_key
from scheduler.resources import pod_non_zero_requests, pod_requests, to_int


def c(cpu: str | None = None, memory: str | None = None, **extra) -> dict:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    return {"name": "c", "resources": {"requests": requests}, **extra}


def test_quantities_become_millicores_and_whole_units_rounded_up():
    assert to_int("cpu", "250m") == 250
    assert to_int("cpu", "1.5") == 1500
    assert to_int("cpu", 2) == 2000
    assert to_int("memory", "1Gi") == 1024**3
    assert to_int("memory", "1.5k") == 1500
    assert to_int("memory", "0.5") == 1  # rounded up, as Quantity.Value()
    assert to_int("memory", "garbage") == 0


def test_app_containers_add_up_and_the_largest_init_container_wins_if_larger():
    spec = {
        "containers": [c("100m", "64Mi"), c("200m", "64Mi")],
        "initContainers": [c("500m", "32Mi"), c("50m", "1Gi")],
    }
    assert pod_requests(spec) == {"cpu": 500, "memory": 1024**3}


def test_sidecars_run_beside_the_app_and_the_later_init_steps():
    spec = {
        "containers": [c("100m")],
        "initContainers": [c("200m", restartPolicy="Always"), c("250m")],
    }
    # init step: sidecar 200m + 250m = 450m; running: 100m + sidecar 200m = 300m
    assert pod_requests(spec)["cpu"] == 450


def test_overhead_is_added():
    spec = {"containers": [c("100m")], "overhead": {"cpu": "50m", "memory": "10Mi"}}
    assert pod_requests(spec) == {"cpu": 150, "memory": 10 * 1024**2}


def test_unset_requests_count_at_kubernetes_defaults_for_scoring_only():
    spec = {"containers": [c(), c("300m"), c(cpu="0", memory="0")]}
    assert pod_requests(spec) == {"cpu": 300, "memory": 0}
    # 100m + 300m + 0; 200Mi + 200Mi + 0 (an explicit 0 stays 0)
    assert pod_non_zero_requests(spec) == (400, 400 * 1024**2)


def test_owner_is_the_controller_reference_else_the_labels():
    ref = {"kind": "ReplicaSet", "name": "web", "uid": "u1", "controller": True}
    assert owner_key("ns", {"ownerReferences": [ref], "labels": {"a": "b"}}) == (
        "ns",
        "controller",
        "u1",
    )
    not_controller = {**ref, "controller": False}
    assert owner_key("ns", {"ownerReferences": [not_controller], "labels": {"a": "b"}}) == (
        "ns",
        "labels",
        frozenset({("a", "b")}),
    )
    assert owner_key("ns", {}) is None


def test_pod_info_collects_host_ports_with_defaults():
    info = PodInfo(
        {
            "metadata": {"name": "p", "namespace": "ns"},
            "spec": {
                "containers": [
                    {
                        "name": "c",
                        "ports": [
                            {"containerPort": 80, "hostPort": 8080},
                            {
                                "containerPort": 53,
                                "hostPort": 53,
                                "protocol": "UDP",
                                "hostIP": "10.0.0.1",
                            },
                            {"containerPort": 9000},
                        ],
                    }
                ]
            },
        }
    )
    assert info.key == "ns/p"
    assert info.host_ports == (("0.0.0.0", "TCP", 8080), ("10.0.0.1", "UDP", 53))
