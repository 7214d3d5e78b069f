"""The scheduler as a real process (`python -m scheduler --kubeconfig …`) against a
real apiserver and etcd. Nodes are API objects with a Ready status and allocatable
resources and no kubelet behind them, which is all the scheduler looks at.

The cluster is this module's own: FailedScheduling messages count every node in
the cluster, so no other test's nodes may be around. Each test starts its own
scheduler, creates its own nodes, and removes them (and its pods) at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from api.errors import NotFound
from api.resources import EVENTS, LEASES, NAMESPACES, NODES, PODS, REPLICASETS
from client.kubeconfig import load
from client.rest import AsyncClient, Client
from deploy import processes
from deploy.controlplane import make_workdir, remove_workdir, start_apiserver, start_etcd
from kubelet.hollow import LEASE_NAMESPACE, run_hollow_nodes
from tests.support.wait import eventually


class Cluster:
    def __init__(self, kubeconfig: Path, workdir: Path) -> None:
        self.kubeconfig = kubeconfig
        self.workdir = workdir
        self.api = Client(load(str(kubeconfig)))

    @contextlib.contextmanager
    def scheduler(self, *flags: str) -> Iterator[processes.Process]:
        argv = [sys.executable, "-m", "scheduler", "--kubeconfig", str(self.kubeconfig), *flags]
        log = self.workdir / f"scheduler-{secrets.token_hex(3)}.log"
        proc = processes.spawn("scheduler", argv, log)
        try:
            yield proc
        finally:
            proc.stop()


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    workdir = make_workdir("minik-scheduler-test-")
    etcd = start_etcd(workdir)
    server = start_apiserver(etcd, workdir / "apiserver")
    c = Cluster(server.kubeconfig, workdir)
    try:
        yield c
    finally:
        c.api.close()
        server.stop()
        etcd.stop()
        remove_workdir(workdir)


@pytest.fixture
def ns(cluster: Cluster) -> Iterator[str]:
    name = f"sched-{secrets.token_hex(3)}"
    cluster.api.create(NAMESPACES, {"metadata": {"name": name}})
    yield name
    cluster.api.delete_collection(PODS, name, grace_period_seconds=0)
    cluster.api.delete(NAMESPACES, name)


@pytest.fixture
def add_node(cluster: Cluster) -> Iterator[Callable[..., str]]:
    """Create a Ready node (deleted after the test)."""
    created: list[str] = []

    def make(
        name: str,
        cpu: str = "4",
        labels: dict[str, str] | None = None,
        taints: list[dict] | None = None,
    ) -> str:
        node = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": name,
                "labels": {"kubernetes.io/hostname": name, **(labels or {})},
            },
            "spec": {"taints": taints} if taints else {},
            "status": {
                "capacity": {"cpu": cpu, "memory": "8Gi", "pods": "110"},
                "allocatable": {"cpu": cpu, "memory": "8Gi", "pods": "110"},
                "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
            },
        }
        cluster.api.create(NODES, node)
        created.append(name)
        return name

    yield make
    for name in created:
        with contextlib.suppress(NotFound):
            cluster.api.delete(NODES, name)


def pod(name: str, cpu: str = "100m", **spec: Any) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": "app",
        "image": "busybox",
        "resources": {"requests": {"cpu": cpu, "memory": "32Mi"}},
    }
    if "ports" in spec:
        container["ports"] = spec.pop("ports")
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": spec.pop("labels", {"app": name})},
        "spec": {"containers": [container], **spec},
    }


def node_of(cluster: Cluster, ns: str, name: str) -> str | None:
    return cluster.api.get(PODS, name, ns)["spec"].get("nodeName")


def bound(cluster: Cluster, ns: str, *names: str, timeout: float = 10.0) -> dict[str, str]:
    """Wait until every named pod has a node; name → node."""

    def check() -> dict[str, str] | None:
        nodes = {n: node_of(cluster, ns, n) for n in names}
        return nodes if all(nodes.values()) else None

    return eventually(check, timeout=timeout, message=f"pods {names} to be bound")


def pod_scheduled(cluster: Cluster, ns: str, name: str) -> dict[str, Any] | None:
    for cond in cluster.api.get(PODS, name, ns).get("status", {}).get("conditions") or []:
        if cond["type"] == "PodScheduled":
            return cond
    return None


def unschedulable(cluster: Cluster, ns: str, name: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        cond = pod_scheduled(cluster, ns, name)
        return cond if cond and cond["status"] == "False" else None

    return eventually(check, timeout=10, message=f"{name} to be marked unschedulable")


def events(cluster: Cluster, ns: str, name: str, reason: str) -> list[dict[str, Any]]:
    selector = f"involvedObject.name={name},reason={reason}"
    return cluster.api.list(EVENTS, ns, field_selector=selector)["items"]


# ---- placement ------------------------------------------------------------------------
def test_a_replicaset_burst_spreads_evenly_over_three_nodes(cluster, ns, add_node):
    nodes = [add_node(f"spread-{i}") for i in range(3)]
    rs = cluster.api.create(
        REPLICASETS,
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {"name": "web"},
            "spec": {
                "replicas": 20,
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "app", "image": "busybox"}]},
                },
            },
        },
        ns,
    )
    owner = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "name": "web",
        "uid": rs["metadata"]["uid"],
        "controller": True,
    }
    names = [f"web-{i}" for i in range(20)]
    for name in names:
        p = pod(name, labels={"app": "web"})
        p["metadata"]["ownerReferences"] = [owner]
        cluster.api.create(PODS, p, ns)
    with cluster.scheduler():  # the whole burst is pending when the scheduler starts
        placed = bound(cluster, ns, *names, timeout=20)
        counts = Counter(placed.values())
        assert set(counts) == set(nodes)
        assert max(counts.values()) - min(counts.values()) <= 1, counts
        assert pod_scheduled(cluster, ns, "web-0")["status"] == "True"
        node = placed["web-0"]
        (event,) = eventually(
            lambda: events(cluster, ns, "web-0", "Scheduled"), timeout=10, message="event"
        )
        assert event["type"] == "Normal"
        assert event["message"] == f"Successfully assigned {ns}/web-0 to {node}"
        assert event["source"]["component"] == "default-scheduler"


def test_node_selector_and_scheduler_name_are_honoured(cluster, ns, add_node):
    add_node("sel-ssd", labels={"disk": "ssd"})
    add_node("sel-hdd", labels={"disk": "hdd"})
    with cluster.scheduler("--leader-elect"):
        for i in range(4):
            cluster.api.create(PODS, pod(f"fast-{i}", nodeSelector={"disk": "ssd"}), ns)
        cluster.api.create(PODS, pod("someone-elses", schedulerName="other-scheduler"), ns)
        placed = bound(cluster, ns, *(f"fast-{i}" for i in range(4)))
        assert set(placed.values()) == {"sel-ssd"}
        time.sleep(0.5)
        assert node_of(cluster, ns, "someone-elses") is None
        assert pod_scheduled(cluster, ns, "someone-elses") is None


def test_a_node_with_an_untolerated_taint_is_avoided(cluster, ns, add_node):
    add_node("taint-clean")
    gpu = add_node(
        "taint-gpu", taints=[{"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}]
    )
    toleration = {"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}
    with cluster.scheduler():
        for i in range(6):
            cluster.api.create(PODS, pod(f"plain-{i}"), ns)
        cluster.api.create(
            PODS,
            pod("tolerant", tolerations=[toleration], nodeSelector={"kubernetes.io/hostname": gpu}),
            ns,
        )
        placed = bound(cluster, ns, *(f"plain-{i}" for i in range(6)), "tolerant")
        assert {placed[f"plain-{i}"] for i in range(6)} == {"taint-clean"}
        assert placed["tolerant"] == gpu


def test_a_pod_that_fits_nowhere_is_marked_unschedulable_with_kubernetes_message(
    cluster, ns, add_node
):
    add_node("fit-small", cpu="1", labels={"disk": "ssd"})
    add_node("fit-hdd-1", labels={"disk": "hdd"})
    add_node("fit-hdd-2", labels={"disk": "hdd"})
    cluster.api.create(PODS, pod("greedy", cpu="2", nodeSelector={"disk": "ssd"}), ns)
    # a condition someone else owns: the scheduler's status patch must keep it
    current = cluster.api.get(PODS, "greedy", ns)
    current["status"]["conditions"] = [{"type": "example.com/Gate", "status": "True"}]
    cluster.api.update(PODS, current, subresource="status")
    # the preemption part as kube-scheduler 1.32 writes it (its ".." included)
    expected = (
        "0/3 nodes are available: 1 Insufficient cpu, "
        "2 node(s) didn't match Pod's node affinity/selector. "
        "preemption: 0/3 nodes are available: 1 No preemption victims found for incoming "
        "pod, 2 Preemption is not helpful for scheduling.."
    )
    with cluster.scheduler():
        cond = unschedulable(cluster, ns, "greedy")
        assert cond["reason"] == "Unschedulable"
        assert cond["message"] == expected
        status = cluster.api.get(PODS, "greedy", ns)["status"]
        kinds = {c["type"]: c["status"] for c in status["conditions"]}
        assert kinds == {"example.com/Gate": "True", "PodScheduled": "False"}
        assert status["phase"] == "Pending"
        (event,) = eventually(
            lambda: events(cluster, ns, "greedy", "FailedScheduling"), timeout=10, message="event"
        )
        assert event["type"] == "Warning" and event["message"] == expected
        assert node_of(cluster, ns, "greedy") is None


def test_an_unschedulable_pod_is_bound_soon_after_a_fitting_node_appears(cluster, ns, add_node):
    add_node("retry-small", cpu="1")
    with cluster.scheduler():
        cluster.api.create(PODS, pod("waiting", cpu="2"), ns)
        cond = unschedulable(cluster, ns, "waiting")
        assert cond["message"] == (
            "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are "
            "available: 1 No preemption victims found for incoming pod.."
        )
        added = time.monotonic()
        add_node("retry-big", cpu="4")
        placed = bound(cluster, ns, "waiting", timeout=5)
        assert placed == {"waiting": "retry-big"}
        assert time.monotonic() - added < 5  # moved by the node event, not a periodic flush
        assert pod_scheduled(cluster, ns, "waiting")["status"] == "True"


def test_host_port_conflicts_send_pods_elsewhere_then_nowhere(cluster, ns, add_node):
    add_node("port-a")
    add_node("port-b")
    ports = [{"containerPort": 80, "hostPort": 8080}]
    with cluster.scheduler():
        cluster.api.create(PODS, pod("first", ports=ports), ns)
        first = bound(cluster, ns, "first")["first"]
        cluster.api.create(PODS, pod("second", ports=ports), ns)
        second = bound(cluster, ns, "second")["second"]
        assert {first, second} == {"port-a", "port-b"}
        cluster.api.create(PODS, pod("third", ports=ports), ns)
        cond = unschedulable(cluster, ns, "third")
        assert cond["message"] == (
            "0/2 nodes are available: 2 node(s) didn't have free ports for the requested pod "
            "ports. preemption: 0/2 nodes are available: 2 No preemption victims found for "
            "incoming pod.."
        )
        cluster.api.create(
            PODS, pod("other-port", ports=[{"containerPort": 80, "hostPort": 9090}]), ns
        )
        bound(cluster, ns, "other-port")


# ---- leader election -------------------------------------------------------------------
FAST_ELECTION = (
    "--leader-elect",
    "--leader-elect-lease-duration=3s",
    "--leader-elect-renew-deadline=2s",
    "--leader-elect-retry-period=500ms",
)


def lease_holder(cluster: Cluster) -> str:
    try:
        lease = cluster.api.get(LEASES, "kube-scheduler", "kube-system")
    except NotFound:
        return ""
    return lease["spec"].get("holderIdentity") or ""


def test_of_two_replicas_one_leads_and_the_other_takes_over_when_it_stops(cluster, ns, add_node):
    add_node("leader-node")
    with cluster.scheduler(*FAST_ELECTION) as first:
        leader = eventually(lambda: lease_holder(cluster), timeout=10, message="a leader")
        with cluster.scheduler(*FAST_ELECTION):
            cluster.api.create(PODS, pod("before"), ns)
            bound(cluster, ns, "before")
            assert lease_holder(cluster) == leader
            first.stop()  # SIGTERM: the leader releases its Lease on the way out
            successor = eventually(
                lambda: (h := lease_holder(cluster)) and h != leader and h,
                timeout=10,
                message="a successor",
            )
            assert successor
            cluster.api.create(PODS, pod("after"), ns)
            bound(cluster, ns, "after", timeout=10)


# ---- hollow nodes ---------------------------------------------------------------------
def test_hollow_nodes_register_ready_and_renew_their_leases(cluster):
    names = ["hollow-test-0", "hollow-test-1"]

    async def run() -> tuple[list[dict], list[str], list[str]]:
        async with AsyncClient(load(str(cluster.kubeconfig))) as api:
            stop, registered = asyncio.Event(), asyncio.Event()
            capacity = {"cpu": "32", "memory": "64Gi", "pods": "110"}
            task = asyncio.create_task(
                run_hollow_nodes(
                    api,
                    names,
                    capacity,
                    stop,
                    renew_interval=0.2,
                    registered=registered,
                    watch_api=api,  # registered once their pod informers have listed
                )
            )
            await asyncio.wait_for(registered.wait(), 10)
            nodes = [await api.get(NODES, n) for n in names]
            first = [
                (await api.get(LEASES, n, LEASE_NAMESPACE))["spec"]["renewTime"] for n in names
            ]
            await asyncio.sleep(0.6)
            later = [
                (await api.get(LEASES, n, LEASE_NAMESPACE))["spec"]["renewTime"] for n in names
            ]
            stop.set()
            await asyncio.wait_for(task, 5)
            for n in names:
                await api.delete(NODES, n)
            return nodes, first, later

    nodes, first, later = asyncio.run(run())
    for node in nodes:
        assert node["status"]["allocatable"] == {"cpu": "32", "memory": "64Gi", "pods": "110"}
        ready = [c for c in node["status"]["conditions"] if c["type"] == "Ready"]
        assert ready and ready[0]["status"] == "True"
    assert all(b > a for a, b in zip(first, later, strict=True))
