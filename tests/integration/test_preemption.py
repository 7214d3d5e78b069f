"""Pod priority and preemption end to end on the API: a real etcd, apiserver and
scheduler process, with fake kubelets (tests/support/fakenode.py) that run the pods
and confirm deletions but never bind (the scheduler does).

A node full of low-priority pods; a high-priority pod arrives, fits nowhere, preempts:
the victim gets DisruptionTarget and a Preempted Event and is deleted, the preemptor
gets nominatedNodeName and then binds there. The module has its own control plane:
PriorityClasses are cluster-wide and FailedScheduling messages count every node."""

from __future__ import annotations

import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from api.errors import ApiError, NotFound
from api.resources import EVENTS, NAMESPACES, PODDISRUPTIONBUDGETS, PODS, PRIORITYCLASSES
from client.kubeconfig import load
from client.rest import Client
from deploy import processes
from deploy.controlplane import (
    ApiServer,
    make_workdir,
    remove_workdir,
    start_apiserver,
    start_etcd,
)
from tests.support.fakenode import FakeCluster
from tests.support.wait import eventually


class Plane:
    def __init__(self, server: ApiServer, workdir: Path) -> None:
        self.server = server
        self.workdir = workdir
        self.api = Client(load(str(server.kubeconfig)))


@pytest.fixture(scope="module")
def plane() -> Iterator[Plane]:
    workdir = make_workdir("minik-preemption-test-")
    etcd = start_etcd(workdir)
    server = start_apiserver(etcd, workdir / "apiserver")
    p = Plane(server, workdir)
    argv = [
        sys.executable,
        "-m",
        "scheduler",
        "--kubeconfig",
        str(server.kubeconfig_as("kube-scheduler")),
        "-v",
        "4",
    ]
    scheduler = processes.spawn("scheduler", argv, workdir / "scheduler.log")
    try:
        yield p
    finally:
        scheduler.stop()
        p.api.close()
        server.stop()
        etcd.stop()
        remove_workdir(workdir)


@pytest.fixture
def ns(plane: Plane) -> Iterator[str]:
    name = f"prio-{secrets.token_hex(3)}"
    plane.api.create(NAMESPACES, {"metadata": {"name": name}})
    yield name
    plane.api.delete_collection(PODS, name, grace_period_seconds=0)
    plane.api.delete(NAMESPACES, name)


@pytest.fixture
def classes(plane: Plane) -> Iterator[None]:
    made = []
    for name, value, policy in (("low", 10, None), ("high", 1000, None), ("polite", 1000, "Never")):
        body: dict[str, Any] = {"metadata": {"name": name}, "value": value}
        if policy:
            body["preemptionPolicy"] = policy
        plane.api.create(PRIORITYCLASSES, body)
        made.append(name)
    yield
    for name in made:
        plane.api.delete(PRIORITYCLASSES, name)


def pod(name: str, cpu: str, priority_class: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name},
        "spec": {
            "priorityClassName": priority_class,
            "terminationGracePeriodSeconds": 1,
            "containers": [
                {"name": "app", "image": "busybox", "resources": {"requests": {"cpu": cpu}}}
            ],
        },
    }


def kubelets(plane: Plane, ns: str, *nodes: str) -> FakeCluster:
    """Fake kubelets that run and stop pods but leave binding to the scheduler."""
    fake = FakeCluster(plane.server.http(), ns, list(nodes))
    fake.schedulable = set()
    return fake


def node_of(plane: Plane, ns: str, name: str) -> str | None:
    return plane.api.get(PODS, name, ns)["spec"].get("nodeName")


def test_system_classes_exist_from_the_start(plane: Plane) -> None:
    values = {
        pc["metadata"]["name"]: pc["value"] for pc in plane.api.list(PRIORITYCLASSES)["items"]
    }
    assert values["system-node-critical"] == 2000001000
    assert values["system-cluster-critical"] == 2000000000


def test_a_high_priority_pod_preempts_a_low_one_and_binds_on_its_node(
    plane: Plane, ns: str, classes: None
) -> None:
    with kubelets(plane, ns, "a") as fake:
        node = fake.node_name("a")
        # the fake node has 8 cpus: two low pods fill it
        for name in ("low-1", "low-2"):
            plane.api.create(PODS, pod(name, "4", "low"), ns)
        eventually(
            lambda: node_of(plane, ns, "low-1") and node_of(plane, ns, "low-2"),
            timeout=15,
            message="the low pods to be bound",
        )
        eventually(
            lambda: plane.api.get(PODS, "low-2", ns)["status"].get("startTime"),
            timeout=10,
            message="the low pods to run",
        )
        high = plane.api.create(PODS, pod("high", "4", "high"), ns)
        assert high["spec"]["priority"] == 1000
        assert high["spec"]["preemptionPolicy"] == "PreemptLowerPriority"

        def nominated() -> str | None:
            return plane.api.get(PODS, "high", ns)["status"].get("nominatedNodeName")

        assert eventually(nominated, timeout=15, message="high's nominatedNodeName") == node
        assert eventually(lambda: node_of(plane, ns, "high"), timeout=20) == node

        def one_victim() -> list[str]:
            names = [p["metadata"]["name"] for p in plane.api.list(PODS, ns)["items"]]
            survivors = [n for n in ("low-1", "low-2") if n in names]
            assert len(survivors) == 1, names
            return [n for n in ("low-1", "low-2") if n not in names]

        [victim] = eventually(one_victim, timeout=15, message="exactly one low pod preempted")
        selector = f"involvedObject.name={victim},reason=Preempted"
        [event] = eventually(
            lambda: plane.api.list(EVENTS, ns, field_selector=selector)["items"],
            timeout=10,
            message="the Preempted event",
        )
        assert event["type"] == "Normal"
        assert event["message"] == f"Preempted by pod {high['metadata']['uid']} on node {node}"
        assert event["related"]["name"] == "high"
        assert event["action"] == "Preempting"
        failed = plane.api.list(
            EVENTS, ns, field_selector="involvedObject.name=high,reason=FailedScheduling"
        )["items"]
        assert failed and failed[0]["message"] == "0/1 nodes are available: 1 Insufficient cpu."


def test_the_victim_carries_disruption_target_while_it_terminates(
    plane: Plane, ns: str, classes: None
) -> None:
    # no kubelet confirms deletions here: the victim stays Terminating for us to read
    with kubelets(plane, ns, "b") as fake:
        node = fake.node_name("b")
        plane.api.create(PODS, pod("low", "8", "low"), ns)
        eventually(lambda: node_of(plane, ns, "low"), timeout=15, message="low bound")
        fake.kill("b")  # its kubelet stops: the victim stays Terminating
        plane.api.create(PODS, pod("high", "8", "high"), ns)

        def disrupted() -> dict[str, Any] | None:
            victim = plane.api.get(PODS, "low", ns)
            if not victim["metadata"].get("deletionTimestamp"):
                return None
            conds = victim["status"].get("conditions") or []
            return next((c for c in conds if c["type"] == "DisruptionTarget"), None)

        cond = eventually(disrupted, timeout=15, message="the victim's DisruptionTarget")
        assert (cond["status"], cond["reason"]) == ("True", "PreemptionByScheduler")
        assert (
            cond["message"] == "default-scheduler: preempting to accommodate a higher priority pod"
        )
        high = plane.api.get(PODS, "high", ns)
        assert high["status"].get("nominatedNodeName") == node
        assert not high["spec"].get("nodeName")


def test_preemption_policy_never_and_equal_priority_do_not_preempt(
    plane: Plane, ns: str, classes: None
) -> None:
    with kubelets(plane, ns, "c"):
        plane.api.create(PODS, pod("low", "8", "low"), ns)
        eventually(lambda: node_of(plane, ns, "low"), timeout=15, message="low bound")
        plane.api.create(PODS, pod("polite", "8", "polite"), ns)
        plane.api.create(PODS, pod("peer", "8", "low"), ns)

        def messages() -> dict[str, str]:
            out = {}
            for name in ("polite", "peer"):
                conds = plane.api.get(PODS, name, ns)["status"].get("conditions") or []
                cond = next((c for c in conds if c["type"] == "PodScheduled"), None)
                assert cond is not None, name
                out[name] = cond["message"]
            return out

        found = eventually(messages, timeout=15, message="both pods unschedulable")
        assert found["polite"] == (
            "0/1 nodes are available: 1 Insufficient cpu. "
            "preemption: not eligible due to preemptionPolicy=Never.."
        )
        assert found["peer"] == (
            "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are "
            "available: 1 No preemption victims found for incoming pod.."
        )
        assert plane.api.get(PODS, "low", ns)["metadata"].get("deletionTimestamp") is None


def test_admission_refuses_an_unknown_class_and_a_conflicting_priority(
    plane: Plane, ns: str, classes: None
) -> None:
    with pytest.raises(ApiError) as err:
        plane.api.create(PODS, pod("ghost", "1", "nope"), ns)
    assert err.value.code == 403
    assert (
        err.value.message == 'pods "ghost" is forbidden: no PriorityClass with name nope was found'
    )
    conflicting = pod("liar", "1", "high")
    conflicting["spec"]["priority"] = 5
    with pytest.raises(ApiError) as err:
        plane.api.create(PODS, conflicting, ns)
    assert "the integer value of priority (5) must not be provided in pod spec" in err.value.message
    with pytest.raises(NotFound):
        plane.api.get(PODS, "liar", ns)


def test_preemption_spares_pods_a_disruption_budget_protects(
    plane: Plane, ns: str, classes: None
) -> None:
    """Two low pods fill the node; a budget with no disruptions left covers one of
    them: the high pod's victim is the other (filterPodsWithPDBViolation)."""
    budget = {
        "metadata": {"name": "guard"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"guarded": "yes"}}},
    }
    created = plane.api.create(PODDISRUPTIONBUDGETS, budget, ns)
    # No disruption controller runs here: the budget's status is written by hand.
    created["status"] = {
        "disruptionsAllowed": 0,
        "currentHealthy": 1,
        "desiredHealthy": 1,
        "expectedPods": 1,
        "observedGeneration": created["metadata"]["generation"],
    }
    plane.api.update_status(PODDISRUPTIONBUDGETS, created)
    with kubelets(plane, ns, "c"):
        guarded = pod("guarded", "4", "low")
        guarded["metadata"]["labels"] = {"guarded": "yes"}
        plane.api.create(PODS, guarded, ns)
        plane.api.create(PODS, pod("free", "4", "low"), ns)
        eventually(
            lambda: node_of(plane, ns, "guarded") and node_of(plane, ns, "free"),
            timeout=15,
            message="the low pods to be bound",
        )
        plane.api.create(PODS, pod("high", "4", "high"), ns)
        eventually(lambda: node_of(plane, ns, "high"), timeout=25, message="high to bind")
        names = {p["metadata"]["name"] for p in plane.api.list(PODS, ns)["items"]}
        assert "guarded" in names and "free" not in names, names
