"""Node lifecycle decisions: conditions of a silent node, the taints a Ready condition
calls for, and the times and durations its flags and nodes carry."""

from __future__ import annotations

from api.timefmt import parse_duration, parse_time, rfc3339
from controller.nodelifecycle.controller import (
    desired_taints,
    reconciled_taints,
    unknown_conditions,
)

NOW = 1_800_000_000.0
UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"


def node(ready: str | None, taints: list[dict] | None = None, unschedulable: bool = False) -> dict:
    conditions = (
        [] if ready is None else [{"type": "Ready", "status": ready, "reason": "KubeletReady"}]
    )
    conditions.append({"type": "MemoryPressure", "status": "False"})
    return {
        "metadata": {"name": "n1", "creationTimestamp": "2030-01-01T00:00:00Z"},
        "spec": {"taints": taints or [], "unschedulable": unschedulable},
        "status": {"conditions": conditions},
    }


def test_silent_node_conditions_become_unknown():
    conditions = unknown_conditions(node("True"), NOW)
    by_type = {c["type"]: c for c in conditions}
    assert set(by_type) == {"Ready", "MemoryPressure", "DiskPressure", "PIDPressure"}
    ready = by_type["Ready"]
    assert (ready["status"], ready["reason"]) == ("Unknown", "NodeStatusUnknown")
    assert ready["message"] == "Kubelet stopped posting node status."
    assert ready["lastTransitionTime"] == rfc3339(NOW)
    never = by_type["DiskPressure"]
    assert (never["status"], never["reason"]) == ("Unknown", "NodeStatusNeverUpdated")
    silent = node("True")
    silent["status"]["conditions"] = conditions
    assert unknown_conditions(silent, NOW + 5) is None  # already marked: no write


def test_ready_condition_decides_the_taints():
    assert desired_taints(node("True")) == set()
    assert desired_taints(node("Unknown")) == {
        (UNREACHABLE, "NoExecute"),
        (UNREACHABLE, "NoSchedule"),
    }
    assert desired_taints(node("False")) == {(NOT_READY, "NoExecute"), (NOT_READY, "NoSchedule")}
    assert ("node.kubernetes.io/unschedulable", "NoSchedule") in desired_taints(
        node("True", unschedulable=True)
    )


def test_taints_are_swapped_and_foreign_taints_kept():
    foreign = {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}
    old = {"key": NOT_READY, "effect": "NoExecute", "timeAdded": "2030-01-01T00:00:00Z"}
    taints = reconciled_taints(node("Unknown", [foreign, old]), NOW)
    assert foreign in taints and old not in taints
    added = {(t["key"], t["effect"]): t for t in taints}
    assert added[(UNREACHABLE, "NoExecute")]["timeAdded"] == rfc3339(NOW)
    assert "timeAdded" not in added[(UNREACHABLE, "NoSchedule")]
    assert reconciled_taints(node("True", [foreign, old]), NOW) == [foreign]
    kept = reconciled_taints(node("Unknown", taints), NOW + 60)
    assert kept == taints  # already right: unchanged, timeAdded kept


def test_time_parsing():
    assert parse_time("2030-01-01T00:00:00Z") == parse_time("2030-01-01T01:00:00+01:00")
    assert parse_time("2030-01-01T00:00:00.250000Z") == parse_time("2030-01-01T00:00:00Z") + 0.25
    assert parse_time("yesterday") is None and parse_time(None) is None
    assert parse_duration("40s") == 40 and parse_duration("1m30s") == 90
    assert parse_duration("500ms") == 0.5 and parse_duration("4") == 4


def test_evicting_taints_can_be_held_back_or_lifted():
    unknown = node("Unknown")
    assert desired_taints(unknown, "keep") == {(UNREACHABLE, "NoSchedule")}
    assert desired_taints(unknown, "remove") == {(UNREACHABLE, "NoSchedule")}
    held = node("Unknown", [{"key": UNREACHABLE, "effect": "NoExecute"}])
    assert (UNREACHABLE, "NoExecute") in desired_taints(held, "keep")
    lifted = {(t["key"], t["effect"]) for t in reconciled_taints(held, NOW, "remove")}
    assert lifted == {(UNREACHABLE, "NoSchedule")}
