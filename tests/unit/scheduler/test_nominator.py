"""The nominator: pending pods by nominated node, from the API and from preemption."""

from __future__ import annotations

from scheduler.nominator import Nominator
from scheduler.podinfo import PodInfo


def pending(name: str, nominated: str | None = None) -> dict:
    status = {"nominatedNodeName": nominated} if nominated else {}
    return {"metadata": {"name": name, "namespace": "ns"}, "spec": {}, "status": status}


def test_api_nominations_are_recorded_and_a_later_update_without_one_keeps_ours():
    n = Nominator()
    n.observe(pending("a", "n1"))
    assert n.nominated_node("ns/a") == "n1" and [p.key for p in n.pods_on("n1")] == ["ns/a"]
    n.add(PodInfo(pending("b")), "n2")  # made by preemption, the status write in flight
    n.observe(pending("b"))
    assert n.nominated_node("ns/b") == "n2"
    n.observe(pending("b", "n3"))
    assert n.nominated_node("ns/b") == "n3" and n.pods_on("n2") == ()
    n.delete("ns/a")
    assert n.nominated_node("ns/a") is None and n.pods_on("n1") == ()
    n.observe(pending("c"))
    assert n.nominated_node("ns/c") is None
