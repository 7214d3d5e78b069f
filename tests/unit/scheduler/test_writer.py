"""The scheduler's status patches: PodScheduled=False with the nomination, and the
DisruptionTarget condition of a preemption victim."""

from __future__ import annotations

from scheduler.writer import ApiWriter, disruption_target_patch, unschedulable_patch


def test_the_nomination_travels_with_the_condition_and_can_be_cleared():
    pod: dict = {"metadata": {"name": "p"}, "status": {}}
    patch = unschedulable_patch(pod, "Unschedulable", "m", "n1")
    assert patch is not None and patch["status"]["nominatedNodeName"] == "n1"
    pod["status"] = {
        "nominatedNodeName": "n1",
        "conditions": [
            {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "m"}
        ],
    }
    assert unschedulable_patch(pod, "Unschedulable", "m", "n1") is None
    assert unschedulable_patch(pod, "Unschedulable", "m") is None  # nomination untouched
    cleared = unschedulable_patch(pod, "Unschedulable", "m", "")
    assert cleared is not None and cleared["status"]["nominatedNodeName"] is None


def test_a_victim_gets_disruption_target_once():
    victim: dict = {"metadata": {"name": "v"}, "status": {"conditions": []}}
    patch = disruption_target_patch(victim, "default-scheduler")
    assert patch is not None
    [cond] = patch["status"]["conditions"]
    assert {k: cond[k] for k in ("type", "status", "reason", "message")} == {
        "type": "DisruptionTarget",
        "status": "True",
        "reason": "PreemptionByScheduler",
        "message": "default-scheduler: preempting to accommodate a higher priority pod",
    }
    victim["status"]["conditions"] = [cond]
    assert disruption_target_patch(victim, "default-scheduler") is None


def test_events_beyond_the_queue_are_dropped_with_a_line_when_it_starts_and_ends(caplog):
    writer = ApiWriter(api=None, component="default-scheduler", max_pending_events=2)  # type: ignore[arg-type]
    pod = {"metadata": {"name": "p", "namespace": "ns", "uid": "u"}}
    for i in range(5):
        writer.event(pod, "Normal", "Scheduled", f"m{i}")
    assert writer._events.qsize() == 2 and writer.dropped_events == 3
    assert [r.getMessage() for r in caplog.records] == [
        "too many queued events (2): dropping new events until there is room"
    ]
    writer._events.get_nowait()  # a worker took one
    writer.event(pod, "Normal", "Scheduled", "m5")
    assert writer.dropped_events == 0 and writer._events.qsize() == 2
    assert caplog.records[-1].getMessage() == "dropped 3 events while the event queue was full"


def test_the_default_queue_is_client_gos():
    writer = ApiWriter(api=None, component="default-scheduler")  # type: ignore[arg-type]
    assert writer._events.maxsize == 1000
