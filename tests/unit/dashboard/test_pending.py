"""Why a pod is Pending, in plain words: the scheduler's FailedScheduling histogram
(as minik's scheduler/messages.py and kube-scheduler write it) turned into sentences."""

from __future__ import annotations

from typing import Any

from dashboard.pending import explain_fit_error, sentence, why_pending

TAINT_AND_CPU = (
    "0/3 nodes are available: 1 node(s) had untolerated taint "
    "{node.kubernetes.io/unreachable: }, 2 Insufficient cpu. preemption: 0/3 nodes are "
    "available: 3 Preemption is not helpful for scheduling."
)


def pending_pod(message: str | None = None, **status: Any) -> dict[str, Any]:
    conditions = []
    if message is not None:
        conditions.append(
            {
                "type": "PodScheduled",
                "status": "False",
                "reason": "Unschedulable",
                "message": message,
            }
        )
    return {
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"containers": [{"name": "app", "image": "web"}]},
        "status": {"phase": "Pending", "conditions": conditions, **status},
    }


def test_each_reason_becomes_a_sentence_with_its_node_count_most_nodes_first() -> None:
    got = explain_fit_error(TAINT_AND_CPU, {"cpu": "2"})
    assert got.headline == "None of the 3 nodes can run it right now:"
    assert [r.text for r in got.reasons] == [
        "2 nodes don't have enough unreserved cpu (the pod requests 2 cpu): "
        "the pods already there have requested the rest",
        "1 node is unreachable (its kubelet stopped reporting): "
        "taint node.kubernetes.io/unreachable, which the pod does not tolerate",
    ]
    assert [r.raw for r in got.reasons] == [
        "Insufficient cpu",
        "node(s) had untolerated taint {node.kubernetes.io/unreachable: }",
    ]
    assert "add a node" in got.hint and "bring the node back" in got.hint
    assert "Preemption" not in got.hint  # "not helpful" is no news to a student
    assert got.raw == TAINT_AND_CPU


def test_the_verb_agrees_with_the_node_count() -> None:
    assert sentence(1, "are cordoned") == "1 node is cordoned"
    assert sentence(2, "are cordoned") == "2 nodes are cordoned"
    assert sentence(1, "don't carry the labels") == "1 node doesn't carry the labels"
    assert sentence(1, "already run as many pods") == "1 node already runs as many pods"
    assert sentence(3, "frobnicated") == "3 nodes: frobnicated"  # words it does not know


def test_known_scheduler_reasons_and_a_custom_taint() -> None:
    message = (
        "0/4 nodes are available: 1 Too many pods, 1 node(s) didn't match Pod's node "
        "affinity/selector, 1 node(s) had untolerated taint {dedicated: gpu}, "
        "1 node(s) were unschedulable."
    )
    texts = {r.raw: r.text for r in explain_fit_error(message).reasons}
    assert texts == {
        "Too many pods": "1 node already runs as many pods as allowed (the node's `pods` capacity)",
        "node(s) didn't match Pod's node affinity/selector": "1 node doesn't carry the labels "
        "the pod's nodeSelector / node affinity asks for",
        "node(s) had untolerated taint {dedicated: gpu}": "1 node carries the taint "
        "dedicated=gpu, which the pod does not tolerate",
        "node(s) were unschedulable": "1 node is cordoned (kubectl cordon): no new pods go there",
    }


def test_one_node_and_no_nodes() -> None:
    one = explain_fit_error("0/1 nodes are available: 1 Insufficient memory.")
    assert one.headline == "The only node cannot run it right now:"
    assert one.reasons[0].text.startswith("1 node doesn't have enough unreserved memory")
    none = explain_fit_error("no nodes available to schedule pods")
    assert "no nodes" in none.headline and none.reasons == []


def test_an_unparsable_message_is_shown_as_it_is() -> None:
    got = explain_fit_error("binding rejected: timeout")
    assert got.headline == "The scheduler could not place it: binding rejected: timeout"


def test_a_pod_the_scheduler_has_not_looked_at_is_waiting_for_it() -> None:
    got = why_pending(pending_pod())
    assert (
        got is not None
        and got.headline == "Waiting for the scheduler (default-scheduler) to pick a node."
    )


def test_the_condition_wins_and_the_event_fills_in_when_it_has_no_message() -> None:
    from_condition = why_pending(
        pending_pod(TAINT_AND_CPU), "0/1 nodes are available: 1 Too many pods."
    )
    assert from_condition is not None and len(from_condition.reasons) == 2
    from_event = why_pending(pending_pod(), "0/1 nodes are available: 1 Too many pods.")
    assert from_event is not None and from_event.reasons[0].raw == "Too many pods"


def test_a_nominated_pod_says_where_it_is_making_room() -> None:
    got = why_pending(pending_pod(TAINT_AND_CPU, nominatedNodeName="node-2"))
    assert got is not None and got.hint.startswith(
        "Lower-priority pods on node-2 are being evicted"
    )


def test_a_pod_on_a_node_is_explained_by_its_waiting_containers() -> None:
    pod = pending_pod()
    pod["spec"]["nodeName"] = "node-1"
    assert why_pending(pod).headline.startswith("Placed on node-1; its kubelet is starting")  # type: ignore[union-attr]
    pod["status"]["containerStatuses"] = [
        {
            "name": "app",
            "state": {
                "waiting": {"reason": "ErrImageNeverPull", "message": "image web not present"}
            },
        }
    ]
    got = why_pending(pod)
    assert got is not None
    assert [r.text for r in got.reasons] == [
        "container app: ErrImageNeverPull (image web not present)"
    ]


def test_running_terminating_and_gated_pods() -> None:
    running = pending_pod()
    running["status"]["phase"] = "Running"
    assert why_pending(running) is None
    deleting = pending_pod()
    deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert why_pending(deleting) is None
    gated = pending_pod()
    gated["spec"]["schedulingGates"] = [{"name": "example.com/quota"}]
    gated["status"]["conditions"] = [
        {"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}
    ]
    assert "example.com/quota" in why_pending(gated).headline  # type: ignore[union-attr]
