"""The resource quota controller on a fake API and informers: status.hard follows
spec.hard and status.used is recounted from the listed objects (written only when it
changed); replenishment queues a namespace's quotas only when an object's usage
changes or it goes."""

from __future__ import annotations

import asyncio
from typing import Any

from api.resources import PODS, RESOURCEQUOTAS
from controller.resourcequota.controller import ResourceQuotaController
from controller.util.base import Context, Options

Obj = dict[str, Any]


class FakeInformer:
    def __init__(self) -> None:
        self.handlers: list[tuple[Any, ...]] = []

    def add_handler(self, *handlers: Any) -> None:
        self.handlers.append(handlers)


class FakeIndex:
    def __init__(self, quotas: list[Obj]) -> None:
        self.quotas = quotas

    def list(self, namespace: str) -> list[Obj]:
        return [q for q in self.quotas if q["metadata"]["namespace"] == namespace]


class FakeInformers:
    def __init__(self, quotas: list[Obj]) -> None:
        self.by_plural: dict[str, FakeInformer] = {}
        self.quotas = quotas

    def informer(self, res: Any) -> FakeInformer:
        return self.by_plural.setdefault(res.plural, FakeInformer())

    def index(self, res: Any, name: str, index_of: Any) -> FakeIndex:
        return FakeIndex(self.quotas)


class FakeApi:
    def __init__(self, quota: Obj, pods: list[Obj]) -> None:
        self.quota, self.pods = quota, pods
        self.written: list[Obj] = []

    async def get(self, res: Any, name: str, namespace: str | None = None) -> Obj:
        assert res is RESOURCEQUOTAS
        return self.quota

    async def list(self, res: Any, namespace: str | None = None) -> Obj:
        return {"items": self.pods if res is PODS else []}

    async def update_status(self, res: Any, obj: Obj) -> Obj:
        self.written.append(obj)
        self.quota = obj
        return obj


def pod(name: str, cpu: str, phase: str = "Running") -> Obj:
    return {
        "metadata": {"name": name, "namespace": "ns"},
        "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": cpu}}}]},
        "status": {"phase": phase},
    }


def controller(quota: Obj, pods: list[Obj]) -> tuple[ResourceQuotaController, FakeApi]:
    api = FakeApi(quota, pods)
    ctx = Context(api, FakeInformers([quota]), None, Options())  # type: ignore[arg-type]
    return ResourceQuotaController(ctx), api


QUOTA: Obj = {
    "metadata": {"name": "q", "namespace": "ns", "resourceVersion": "3"},
    "spec": {"hard": {"pods": "5", "requests.cpu": "2", "count/services": "1"}},
}


def test_status_is_recounted_from_the_live_objects() -> None:
    pods = [pod("a", "250m"), pod("b", "0.5"), pod("done", "1", phase="Succeeded")]
    rq, api = controller(dict(QUOTA), pods)

    async def run() -> None:
        await rq.reconcile("ns/q")
        await rq.reconcile("ns/q")  # nothing changed: nothing written
        rq.queue.shutdown()

    asyncio.run(run())
    assert len(api.written) == 1
    assert api.written[0]["status"] == {
        "hard": {"count/services": "1", "pods": "5", "requests.cpu": "2"},
        "used": {"count/services": "0", "pods": "2", "requests.cpu": "750m"},
    }


def test_replenishment_only_when_usage_changes_or_objects_go() -> None:
    rq, _api = controller(dict(QUOTA), [])
    pods_informer = rq.ctx.informers.informer(PODS)  # type: ignore[attr-defined]
    _add, on_update, on_delete = pods_informer.handlers[0]
    running = pod("a", "1")
    relabelled = {**running, "metadata": {**running["metadata"], "labels": {"x": "y"}}}
    on_update(running, relabelled)
    assert len(rq.queue) == 0
    on_update(running, pod("a", "1", phase="Failed"))
    assert len(rq.queue) == 1
    on_delete(running)
    assert len(rq.queue) == 1  # the same quota key, queued once
