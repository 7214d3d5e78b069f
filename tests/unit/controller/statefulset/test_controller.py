"""The StatefulSet controller's reconcile on fake informers and a fake API: the
revision first, claims before their pod, one pod at a time under OrderedReady, and a
status that names the revisions."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

from api.errors import AlreadyExists
from api.resources import CONTROLLERREVISIONS, PERSISTENTVOLUMECLAIMS, PODS, STATEFULSETS
from controller.statefulset.controller import StatefulSetController
from controller.util.base import Context
from tests.unit.controller.statefulset.builders import pod, statefulset

Obj = dict[str, Any]


class FakeInformer:
    def __init__(self) -> None:
        self.objects: dict[str, Obj] = {}

    def add_handler(self, *handlers: Any) -> None:
        pass

    def get(self, key: str) -> Obj | None:
        return self.objects.get(key)

    def list(self, namespace: str = "") -> list[Obj]:
        return [
            o
            for o in self.objects.values()
            if not namespace or o["metadata"].get("namespace") == namespace
        ]

    def put(self, obj: Obj) -> None:
        self.objects[f"{obj['metadata']['namespace']}/{obj['metadata']['name']}"] = obj


class FakeInformers:
    def __init__(self) -> None:
        self.by_res = {
            res.plural: FakeInformer()
            for res in (STATEFULSETS, PODS, CONTROLLERREVISIONS, PERSISTENTVOLUMECLAIMS)
        }

    def informer(self, res: Any) -> FakeInformer:
        return self.by_res[res.plural]

    def by_namespace(self, res: Any) -> FakeInformer:
        return self.by_res[res.plural]


class FakeApi:
    """Records writes in order; created objects land in the fake caches."""

    def __init__(self, informers: FakeInformers) -> None:
        self.informers = informers
        self.writes: list[tuple[str, str, str]] = []

    async def create(self, res: Any, obj: Obj, namespace: str | None = None) -> Obj:
        obj = copy.deepcopy(obj)
        obj["metadata"].setdefault("namespace", namespace)
        obj["metadata"]["uid"] = f"uid-{obj['metadata']['name']}"
        cache = self.informers.by_res[res.plural]
        if f"{namespace}/{obj['metadata']['name']}" in cache.objects:
            raise AlreadyExists(409, "exists", "AlreadyExists", {})
        self.writes.append(("create", res.kind, obj["metadata"]["name"]))
        cache.put(obj)
        return obj

    async def update(self, res: Any, obj: Obj) -> Obj:
        self.writes.append(("update", res.kind, obj["metadata"]["name"]))
        self.informers.by_res[res.plural].put(copy.deepcopy(obj))
        return obj

    async def update_status(self, res: Any, obj: Obj) -> Obj:
        self.writes.append(("status", res.kind, obj["metadata"]["name"]))
        self.informers.by_res[res.plural].put(copy.deepcopy(obj))
        return obj

    async def delete(self, res: Any, name: str, namespace: str | None = None, **kw: Any) -> Obj:
        self.writes.append(("delete", res.kind, name))
        self.informers.by_res[res.plural].objects.pop(f"{namespace}/{name}", None)
        return {}


class FakeEvents:
    def __init__(self) -> None:
        self.reasons: list[str] = []

    async def record(self, obj: Obj, event_type: str, reason: str, message: str) -> None:
        self.reasons.append(f"{reason}: {message}")


def make(sts: Obj) -> tuple[StatefulSetController, FakeApi, FakeInformers, FakeEvents]:
    informers = FakeInformers()
    api, events = FakeApi(informers), FakeEvents()
    controller = StatefulSetController(Context(api, informers, events))  # type: ignore[arg-type]
    informers.by_res["statefulsets"].put(sts)
    return controller, api, informers, events


def test_revision_then_claims_before_the_first_pod_then_status():
    sts = statefulset(2)
    controller, api, informers, events = make(sts)
    asyncio.run(controller.reconcile("ns/web"))
    assert api.writes == [
        ("create", "ControllerRevision", api.writes[0][2]),
        ("create", "PersistentVolumeClaim", "data-web-0"),
        ("create", "Pod", "web-0"),
        ("status", "StatefulSet", "web"),
    ]
    revision = api.writes[0][2]
    assert revision.startswith("web-")
    created = informers.by_res["pods"].objects["ns/web-0"]
    assert created["metadata"]["labels"]["controller-revision-hash"] == revision
    assert events.reasons == [
        "SuccessfulCreate: create Claim data-web-0 Pod web-0 in StatefulSet web success",
        "SuccessfulCreate: create Pod web-0 in StatefulSet web successful",
    ]
    status = informers.by_res["statefulsets"].objects["ns/web"]["status"]
    assert status["currentRevision"] == status["updateRevision"] == revision
    # web-0 not yet ready: the next sync does nothing but leaves web-1 alone
    api.writes.clear()
    asyncio.run(controller.reconcile("ns/web"))
    assert [w for w in api.writes if w[1] == "Pod"] == []


def test_a_ready_pod_lets_the_next_one_start_and_its_claim_is_kept():
    sts = statefulset(2)
    controller, api, informers, _events = make(sts)
    asyncio.run(controller.reconcile("ns/web"))
    revision = informers.by_res["statefulsets"].objects["ns/web"]["status"]["updateRevision"]
    running = pod(sts, 0, revision=revision)
    running["metadata"]["uid"] = "uid-web-0"
    informers.by_res["pods"].put(running)
    api.writes.clear()
    asyncio.run(controller.reconcile("ns/web"))
    assert ("create", "Pod", "web-1") in api.writes
    assert ("create", "PersistentVolumeClaim", "data-web-0") not in api.writes
    assert api.writes.index(("create", "PersistentVolumeClaim", "data-web-1")) < (
        api.writes.index(("create", "Pod", "web-1"))
    )


def test_when_deleted_delete_gives_claims_the_set_as_owner():
    sts = statefulset(1, persistentVolumeClaimRetentionPolicy={"whenDeleted": "Delete"})
    controller, _api, informers, _events = make(sts)
    asyncio.run(controller.reconcile("ns/web"))
    claim = informers.by_res["persistentvolumeclaims"].objects["ns/data-web-0"]
    assert [(r["kind"], r["uid"]) for r in claim["metadata"]["ownerReferences"]] == [
        ("StatefulSet", "sts-uid")
    ]
