"""The TTL-after-finished controller on a fake clock, API and informer: nothing is
deleted before the TTL, the Job is re-read first, and deleted in the foreground with
its uid as precondition."""

from __future__ import annotations

import asyncio
from typing import Any

from controller.ttlafterfinished.controller import TTLAfterFinishedController
from controller.ttlafterfinished.expiry import time_left
from controller.util.base import Context

Obj = dict[str, Any]


def finished_job(ttl: int | None = 30, at: str = "1970-01-01T00:01:40Z") -> Obj:
    spec = {} if ttl is None else {"ttlSecondsAfterFinished": ttl}
    return {
        "metadata": {"name": "pi", "namespace": "ns", "uid": "u1"},
        "spec": spec,
        "status": {
            "conditions": [{"type": "Complete", "status": "True", "lastTransitionTime": at}]
        },
    }


class FakeInformer:
    def __init__(self) -> None:
        self.objects: dict[str, Obj] = {}

    def add_handler(self, *handlers: Any) -> None:
        pass

    def get(self, key: str) -> Obj | None:
        return self.objects.get(key)


class FakeInformers:
    def __init__(self) -> None:
        self.jobs = FakeInformer()

    def informer(self, res: Any) -> FakeInformer:
        return self.jobs


class FakeApi:
    def __init__(self) -> None:
        self.fresh: Obj | None = None
        self.deleted: list[tuple[str, str | None, dict[str, Any]]] = []

    async def get(self, res: Any, name: str, namespace: str | None = None) -> Obj:
        assert self.fresh is not None
        return self.fresh

    async def delete(self, res: Any, name: str, namespace: str | None = None, **kw: Any) -> Obj:
        self.deleted.append((name, namespace, kw))
        return {}


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Recording(TTLAfterFinishedController):
    """Records its requeues instead of scheduling them."""

    def __init__(self, ctx: Context, clock: Clock) -> None:
        super().__init__(ctx, clock=clock)
        self.delays: list[tuple[Any, float]] = []

    def enqueue_after(self, key: Any, delay: float) -> None:
        self.delays.append((key, delay))


def make(now: float) -> tuple[Recording, FakeApi, FakeInformers, Clock]:
    api, informers, clock = FakeApi(), FakeInformers(), Clock(now)
    controller = Recording(Context(api, informers, events=None), clock)
    return controller, api, informers, clock


def test_time_left():
    assert time_left(finished_job(), 110.0) == 20.0
    assert time_left(finished_job(ttl=None), 110.0) is None
    running = finished_job()
    running["status"] = {}
    assert time_left(running, 110.0) is None


def test_deleted_only_once_the_ttl_passed():
    controller, api, informers, clock = make(now=110.0)
    informers.jobs.objects["ns/pi"] = finished_job()
    api.fresh = finished_job()
    asyncio.run(controller.reconcile("ns/pi"))
    assert api.deleted == [] and controller.delays == [("ns/pi", 20.05)]
    clock.now = 130.0
    asyncio.run(controller.reconcile("ns/pi"))
    assert api.deleted == [
        ("pi", "ns", {"propagation_policy": "Foreground", "preconditions": {"uid": "u1"}})
    ]


def test_a_ttl_raised_meanwhile_is_honoured():
    controller, api, informers, _clock = make(now=200.0)
    informers.jobs.objects["ns/pi"] = finished_job(ttl=30)
    api.fresh = finished_job(ttl=300)  # the informer has not seen the change yet
    asyncio.run(controller.reconcile("ns/pi"))
    assert api.deleted == []
    assert controller.delays == [("ns/pi", 200.05)]
