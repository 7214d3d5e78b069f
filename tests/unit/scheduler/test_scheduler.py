"""The Scheduler's wiring, without a server: informer events into the queue and the
cache, one decision, and what is written for a bind, a failed bind and a misfit."""

from __future__ import annotations

import asyncio
from typing import Any

from api.errors import Conflict
from scheduler.queue import ACTIVE, BACKOFF, IN_FLIGHT, UNSCHEDULABLE, SchedulingQueue
from scheduler.scheduler import Scheduler
from scheduler.writer import unschedulable_patch


class FakeWriter:
    def __init__(self, fail: Exception | None = None) -> None:
        self.fail = fail
        self.binds: list[tuple[str, str]] = []
        self.conditions: list[str] = []
        self.nominations: list[tuple[str, str | None]] = []
        self.preempted: list[tuple[str, str, str]] = []  # victim, preemptor, node
        self.cleared: list[str] = []
        self.events: list[tuple[str, str, str]] = []

    async def bind(self, pod: dict, node: str) -> None:
        if self.fail:
            raise self.fail
        self.binds.append((pod["metadata"]["name"], node))

    async def set_unschedulable(
        self, pod: dict, message: str, reason: str = "", nominated: str | None = None
    ) -> None:
        self.conditions.append(message)
        self.nominations.append((pod["metadata"]["name"], nominated))

    async def preempt(self, victim: dict, preemptor: dict, node: str) -> None:
        self.preempted.append((victim["metadata"]["name"], preemptor["metadata"]["name"], node))

    async def clear_nomination(self, pod: dict) -> None:
        self.cleared.append(pod["metadata"]["name"])

    def event(self, pod: dict, event_type: str, reason: str, message: str, **_: Any) -> None:
        self.events.append((event_type, reason, message))


class Store(dict):
    """Stands in for the pod informer's cache (the scheduler only reads it by key)."""


def node(name: str, cpu: str = "1", ready: str = "True", **status: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "spec": {},
        "status": {
            "allocatable": {"cpu": cpu, "memory": "1Gi", "pods": "10"},
            "conditions": [{"type": "Ready", "status": ready, "lastHeartbeatTime": "t0"}],
            **status,
        },
    }


def pod(name: str, cpu: str = "500m", node_name: str = "", **spec: Any) -> dict[str, Any]:
    container = {"name": "c", "resources": {"requests": {"cpu": cpu}}}
    full = {"containers": [container], "schedulerName": "default-scheduler", **spec}
    if node_name:
        full["nodeName"] = node_name
    return {"metadata": {"name": name, "namespace": "ns", "uid": f"uid-{name}"}, "spec": full}


def scheduler(
    writer: FakeWriter | None = None, backoff: float = 1.0
) -> tuple[Scheduler, Store, FakeWriter]:
    queue = SchedulingQueue(initial_backoff=backoff)
    sched = Scheduler(api=None, queue=queue)  # type: ignore[arg-type]  # no I/O without run()
    store = Store()
    sched.pods = store  # type: ignore[assignment]
    sched.writer = writer or FakeWriter()  # type: ignore[assignment]
    return sched, store, sched.writer  # type: ignore[return-value]


def add(sched: Scheduler, store: Store, obj: dict) -> None:
    store[f"ns/{obj['metadata']['name']}"] = obj
    sched._pod_added(obj)


def decide(sched: Scheduler, key: str) -> None:
    """Pop `key`, decide, and run the write it asks for."""
    assert sched.queue.pop_ready() == key
    write = sched.schedule_one(key)
    if write is not None:
        asyncio.run(write)


def test_a_pending_pod_is_bound_assumed_and_then_confirmed():
    sched, store, writer = scheduler()
    sched._node_added(node("n1"))
    add(sched, store, pod("p"))
    assert sched.queue.state("ns/p") == ACTIVE
    decide(sched, "ns/p")
    assert writer.binds == [("p", "n1")]
    assert writer.events == [("Normal", "Scheduled", "Successfully assigned ns/p to n1")]
    assert sched.cache.is_assumed("ns/p") and sched.queue.state("ns/p") is None
    bound = pod("p", node_name="n1")
    sched._pod_updated(store["ns/p"], bound)
    assert not sched.cache.is_assumed("ns/p") and sched.cache.node_of("ns/p") == "n1"


def test_pods_for_other_schedulers_or_being_deleted_are_left_alone():
    sched, store, _ = scheduler()
    add(sched, store, pod("other", schedulerName="my-scheduler"))
    deleting = pod("going")
    deleting["metadata"]["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    add(sched, store, deleting)
    assert sched.queue.pop_ready() is None


def test_gated_pods_wait_until_their_gates_are_removed():
    sched, store, _ = scheduler()
    gated = pod("gated", schedulingGates=[{"name": "example.com/quota"}])
    add(sched, store, gated)
    assert sched.queue.state("ns/gated") is None
    opened = pod("gated")
    store["ns/gated"] = opened
    sched._pod_updated(gated, opened)
    assert sched.queue.state("ns/gated") == ACTIVE


def test_a_relisted_pod_that_is_being_bound_is_not_scheduled_twice():
    sched, store, writer = scheduler()
    sched._node_added(node("n1"))
    add(sched, store, pod("p"))
    assert sched.queue.pop_ready() == "ns/p"
    write = sched.schedule_one("ns/p")
    sched._pod_added(store["ns/p"])  # e.g. the informer relisted before the bind landed
    assert sched.queue.pop_ready() is None
    asyncio.run(write)
    assert writer.binds == [("p", "n1")] and sched.queue.state("ns/p") is None


def test_a_misfit_gets_the_condition_and_event_and_waits_for_a_node():
    sched, store, writer = scheduler()
    sched._node_added(node("small", cpu="250m"))
    add(sched, store, pod("p"))
    decide(sched, "ns/p")
    message = (
        "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: "
        "1 No preemption victims found for incoming pod.."
    )
    assert writer.conditions == [message]
    assert writer.events == [("Warning", "FailedScheduling", message)]
    assert sched.queue.state("ns/p") == UNSCHEDULABLE
    # our own status write comes back as an update: it must not retry the pod
    with_condition = pod("p")
    with_condition["status"] = {"conditions": [{"type": "PodScheduled", "status": "False"}]}
    sched._pod_updated(store["ns/p"], with_condition)
    assert sched.queue.state("ns/p") == UNSCHEDULABLE
    sched._node_added(node("big", cpu="4"))  # a node that fits
    assert sched.queue.state("ns/p") in (ACTIVE, BACKOFF)


def test_a_heartbeat_does_not_retry_misfits_but_a_real_node_change_does():
    sched, store, _ = scheduler()
    sched._node_added(node("n1", ready="False"))
    add(sched, store, pod("p"))
    decide(sched, "ns/p")
    assert sched.queue.state("ns/p") == UNSCHEDULABLE
    old, beat = node("n1", ready="False"), node("n1", ready="False")
    beat["status"]["conditions"][0]["lastHeartbeatTime"] = "t1"
    sched._node_updated(old, beat)
    assert sched.queue.state("ns/p") == UNSCHEDULABLE
    sched._node_updated(beat, node("n1", ready="True"))
    assert sched.queue.state("ns/p") in (ACTIVE, BACKOFF)


def test_a_deleted_or_finished_bound_pod_frees_room_for_misfits():
    sched, store, _ = scheduler()
    sched._node_added(node("n1", cpu="1"))
    add(sched, store, pod("old", cpu="800m", node_name="n1"))
    add(sched, store, pod("new"))
    decide(sched, "ns/new")
    assert sched.queue.state("ns/new") == UNSCHEDULABLE
    finished = pod("old", cpu="800m", node_name="n1")
    finished["status"] = {"phase": "Succeeded"}
    sched._pod_updated(store["ns/old"], finished)
    assert sched.queue.state("ns/new") in (ACTIVE, BACKOFF)
    assert sched.cache.node_of("ns/old") is None


def test_a_failed_bind_forgets_the_assumption_and_backs_off():
    sched, store, writer = scheduler(FakeWriter(fail=Conflict("pods", "p", "conflict")))
    sched._node_added(node("n1"))
    add(sched, store, pod("p"))
    decide(sched, "ns/p")
    assert sched.cache.node_of("ns/p") is None
    assert sched.queue.state("ns/p") == BACKOFF and sched.queue.attempts("ns/p") == 1
    assert writer.events[0][:2] == ("Warning", "FailedScheduling")


def test_a_pod_updated_while_being_bound_is_not_queued_again():
    sched, store, _ = scheduler()
    sched._node_added(node("n1"))
    add(sched, store, pod("p"))
    assert sched.queue.pop_ready() == "ns/p"
    write = sched.schedule_one("ns/p")  # assumed; the bind has not run yet
    changed = pod("p")
    changed["metadata"]["labels"] = {"x": "y"}
    sched._pod_updated(store["ns/p"], changed)
    assert sched.queue.state("ns/p") == IN_FLIGHT
    write.close()


def test_the_status_patch_touches_only_pod_scheduled_and_only_when_it_changes():
    p = pod("p")
    patch = unschedulable_patch(p, "Unschedulable", "0/1 nodes are available: 1 Too many pods.")
    assert patch is not None
    (condition,) = patch["status"]["conditions"]
    assert condition["type"] == "PodScheduled" and condition["status"] == "False"
    assert condition["reason"] == "Unschedulable" and list(patch) == ["status"]
    p["status"] = {"conditions": [{**condition, "lastTransitionTime": "2024-01-01T00:00:00Z"}]}
    assert unschedulable_patch(p, "Unschedulable", condition["message"]) is None
    again = unschedulable_patch(p, "Unschedulable", "0/2 nodes are available: 2 Too many pods.")
    assert again is not None
    assert again["status"]["conditions"][0]["lastTransitionTime"] == "2024-01-01T00:00:00Z"


def test_a_high_priority_misfit_preempts_then_binds_where_it_was_nominated():
    sched, store, writer = scheduler(backoff=0.0)
    sched._node_added(node("n1"))
    low = pod("low", cpu="1", node_name="n1", priority=0)
    add(sched, store, low)
    add(sched, store, pod("high", cpu="1", priority=100))
    decide(sched, "ns/high")
    assert writer.preempted == [("low", "high", "n1")]
    assert writer.nominations == [("high", "n1")]
    assert writer.conditions == ["0/1 nodes are available: 1 Insufficient cpu."]
    assert sched.nominator.nominated_node("ns/high") == "n1"
    assert sched.queue.state("ns/high") == UNSCHEDULABLE
    # the victim goes; both pending pods are active and the more important is first
    add(sched, store, pod("mid", cpu="1", priority=50))
    sched._pod_deleted(low)
    decide(sched, "ns/high")
    assert writer.binds == [("high", "n1")]
    assert sched.queue.pop_ready() == "ns/mid"
    assert sched.nominator.nominated_node("ns/high") is None


def test_the_room_freed_for_a_nominated_pod_is_kept_from_less_important_ones():
    sched, store, writer = scheduler()
    sched._node_added(node("n1"))
    nominated = pod("high", cpu="1", priority=100)
    nominated["status"] = {"nominatedNodeName": "n1"}
    add(sched, store, nominated)
    assert sched.queue.pop_ready() == "ns/high"  # in flight elsewhere, say
    add(sched, store, pod("mid", cpu="1", priority=50))
    decide(sched, "ns/mid")
    assert writer.binds == [] and writer.conditions[0].startswith(
        "0/1 nodes are available: 1 Insufficient cpu."
    )


def test_preemption_policy_never_waits_without_preempting():
    sched, store, writer = scheduler()
    sched._node_added(node("n1"))
    add(sched, store, pod("low", cpu="1", node_name="n1", priority=0))
    add(sched, store, pod("polite", cpu="1", priority=100, preemptionPolicy="Never"))
    decide(sched, "ns/polite")
    assert writer.preempted == []
    assert writer.conditions == [
        "0/1 nodes are available: 1 Insufficient cpu. "
        "preemption: not eligible due to preemptionPolicy=Never.."
    ]


def test_preempting_on_a_node_clears_less_important_nominations_there():
    sched, store, writer = scheduler()
    sched._node_added(node("n1"))
    add(sched, store, pod("low", cpu="1", node_name="n1", priority=0))
    mid = pod("mid", cpu="1", priority=50)
    mid["status"] = {"nominatedNodeName": "n1"}
    add(sched, store, mid)
    assert sched.queue.pop_ready() == "ns/mid"  # mid is elsewhere in its cycle
    add(sched, store, pod("high", cpu="1", priority=100))
    decide(sched, "ns/high")
    assert writer.preempted == [("low", "high", "n1")]
    assert writer.cleared == ["mid"]
    assert sched.nominator.nominated_node("ns/mid") is None
    assert sched.nominator.nominated_node("ns/high") == "n1"
