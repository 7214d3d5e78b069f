"""The garbage collector's graph: what each change asks it to look at."""

from __future__ import annotations

from api.resources import DEPLOYMENTS, PODS, REPLICASETS
from controller.garbagecollector.graph import Graph

RS = REPLICASETS
DEPLOY = DEPLOYMENTS


def obj(uid: str, owners: tuple[str, ...] = (), block: bool = True, **meta: object) -> dict:
    refs = [
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": o, "uid": o, "controller": True,
         "blockOwnerDeletion": block}
        for o in owners
    ]  # fmt: skip
    return {
        "metadata": {"name": uid, "namespace": "ns", "uid": uid, "ownerReferences": refs, **meta}
    }


def test_dependent_of_an_unknown_owner_is_checked():
    graph = Graph()
    assert graph.upsert(obj("pod", ("rs",)), PODS) == [("delete", "pod")]
    assert graph.upsert(obj("rs"), RS) == []
    assert graph.upsert(obj("pod", ("rs",)), PODS) == []  # owner known now


def test_owner_removal_queues_its_dependents():
    graph = Graph()
    graph.upsert(obj("rs"), RS)
    graph.upsert(obj("p1", ("rs",)), PODS)
    graph.upsert(obj("p2", ("rs",)), PODS)
    assert sorted(graph.remove(obj("rs"))) == [("delete", "p1"), ("delete", "p2")]
    assert graph.remove(obj("rs")) == []


def test_foreground_deletion_queues_owner_and_dependents():
    graph = Graph()
    graph.upsert(obj("rs"), RS)
    graph.upsert(obj("p1", ("rs",)), PODS)
    deleting = obj(
        "rs", deletionTimestamp="2030-01-01T00:00:00Z", finalizers=["foregroundDeletion"]
    )
    assert sorted(graph.upsert(deleting, RS)) == [("delete", "p1"), ("delete", "rs")]
    assert graph.upsert(deleting, RS) == []  # no new transition
    assert [d.uid for d in graph.blocking_dependents("rs")] == ["p1"]
    # The dependent going away lets the owner finish.
    assert graph.remove(obj("p1", ("rs",))) == [("delete", "rs")]
    # A dependent that stops blocking lets it finish too.
    # (a new dependent of an owner in foreground deletion is itself up for deletion)
    assert graph.upsert(obj("p2", ("rs",)), PODS) == [("delete", "p2")]
    assert graph.upsert(obj("p2", ("rs",), block=False), PODS) == [
        ("delete", "p2"),
        ("delete", "rs"),
    ]
    assert graph.blocking_dependents("rs") == []


def test_orphan_finalizer_queues_orphaning_once():
    graph = Graph()
    graph.upsert(obj("d"), DEPLOY)
    orphaning = obj("d", deletionTimestamp="2030-01-01T00:00:00Z", finalizers=["orphan"])
    assert graph.upsert(orphaning, DEPLOY) == [("orphan", "d")]
    assert graph.upsert(orphaning, DEPLOY) == []


def test_initial_work_after_sync():
    graph = Graph()
    graph.upsert(obj("orphan-pod", ("gone",)), PODS)
    graph.upsert(obj("rs"), RS)
    graph.upsert(obj("p", ("rs",)), PODS)
    graph.upsert(obj("d", deletionTimestamp="2030-01-01T00:00:00Z", finalizers=["orphan"]), DEPLOY)
    assert sorted(graph.initial_work()) == [("delete", "orphan-pod"), ("orphan", "d")]
