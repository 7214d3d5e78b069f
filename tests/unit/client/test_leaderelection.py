"""Leader election rules on an in-memory Lease store with resourceVersion checks and a
fake clock: who may take the Lease and when, that a conditional write lets only one
candidate win, release, and losing the Lease."""

from __future__ import annotations

import asyncio
import copy

import pytest

from api.errors import Conflict, NotFound
from client.leaderelection import LeaderElector


class FakeLeases:
    """get/create/update of Leases with resourceVersion compare-and-swap."""

    def __init__(self) -> None:
        self.objects: dict[tuple[str, str], dict] = {}
        self.version = 0
        self.failing = False

    async def get(self, res, name, namespace=None):
        if self.failing:
            raise Conflict(503, "unavailable")
        try:
            found = copy.deepcopy(self.objects[(namespace, name)])
        except KeyError:
            raise NotFound(404, "not found") from None
        await asyncio.sleep(0)  # let a racing candidate read the same version
        return found

    async def create(self, res, obj, namespace=None):
        key = (namespace, obj["metadata"]["name"])
        if key in self.objects:
            raise Conflict(409, "exists")
        return self._store(key, obj)

    async def update(self, res, obj):
        key = (obj["metadata"]["namespace"], obj["metadata"]["name"])
        if self.objects[key]["metadata"]["resourceVersion"] != obj["metadata"]["resourceVersion"]:
            raise Conflict(409, "the object has been modified")
        return self._store(key, obj)

    def _store(self, key, obj):
        self.version += 1
        stored = copy.deepcopy(obj)
        stored["metadata"].update(namespace=key[0], resourceVersion=str(self.version))
        self.objects[key] = stored
        return copy.deepcopy(stored)

    def holder(self) -> str:
        return self.objects[("kube-system", "lock")]["spec"]["holderIdentity"]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def elector(api: FakeLeases, identity: str, clock: Clock, **kw) -> LeaderElector:
    return LeaderElector(api, "kube-system", "lock", identity, 15, 10, 2, clock=clock, **kw)  # type: ignore[arg-type]


def run(coro):
    return asyncio.run(coro)


def test_first_candidate_wins_the_other_waits():
    api, clock = FakeLeases(), Clock()
    a, b = elector(api, "a", clock), elector(api, "b", clock)
    assert run(a.try_acquire_or_renew()) and a.is_leader
    assert not run(b.try_acquire_or_renew()) and b.holder == "a"
    clock.now += 14
    assert not run(b.try_acquire_or_renew())
    assert run(a.try_acquire_or_renew())  # the holder renews
    assert api.objects[("kube-system", "lock")]["spec"]["leaseTransitions"] == 0


def test_takeover_after_the_lease_runs_out_on_the_candidates_clock():
    api, clock = FakeLeases(), Clock()
    a, b = elector(api, "a", clock), elector(api, "b", clock)
    run(a.try_acquire_or_renew())
    assert not run(b.try_acquire_or_renew())  # b first sees the record now
    clock.now += 15.5  # a stopped renewing
    assert run(b.try_acquire_or_renew()) and b.is_leader
    spec = api.objects[("kube-system", "lock")]["spec"]
    assert spec["holderIdentity"] == "b" and spec["leaseTransitions"] == 1
    assert not run(a.try_acquire_or_renew()) and not a.is_leader  # a sees b's fresh record


def test_a_candidate_that_never_saw_the_record_waits_a_full_duration():
    api, clock = FakeLeases(), Clock()
    run(elector(api, "a", clock).try_acquire_or_renew())
    clock.now += 100  # the record is old, but b has only just seen it
    b = elector(api, "b", clock)
    assert not run(b.try_acquire_or_renew())
    clock.now += 16
    assert run(b.try_acquire_or_renew())


def test_only_one_of_two_racing_candidates_wins():
    api, clock = FakeLeases(), Clock()
    run(elector(api, "a", clock).try_acquire_or_renew())
    b, c = elector(api, "b", clock), elector(api, "c", clock)
    run(b.try_acquire_or_renew())
    run(c.try_acquire_or_renew())
    clock.now += 16

    async def race():
        return await asyncio.gather(
            b.try_acquire_or_renew(), c.try_acquire_or_renew(), return_exceptions=True
        )

    results = run(race())
    assert [r is True for r in results].count(True) == 1
    assert [isinstance(r, Conflict) for r in results].count(True) == 1
    assert api.holder() in ("b", "c")


def test_release_lets_a_successor_in_at_once():
    api, clock = FakeLeases(), Clock()
    a, b = elector(api, "a", clock), elector(api, "b", clock)
    run(a.try_acquire_or_renew())
    run(b.try_acquire_or_renew())
    run(a.release())
    assert api.holder() == ""
    assert run(b.try_acquire_or_renew()) and api.holder() == "b"


def test_timings_must_leave_room_to_renew():
    with pytest.raises(ValueError):
        LeaderElector(FakeLeases(), "ns", "n", "id", 10, 10, 2)  # type: ignore[arg-type]


def test_losing_the_lease_stops_the_leader():
    api = FakeLeases()
    le = LeaderElector(api, "kube-system", "lock", "a", 0.6, 0.4, 0.1)  # type: ignore[arg-type]
    events: list[str] = []

    async def lead() -> None:
        events.append("started")
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            events.append("cancelled")
            raise

    async def stopped() -> None:
        events.append("stopped")

    async def scenario() -> None:
        task = asyncio.create_task(le.run(lead, stopped))
        await asyncio.sleep(0.3)
        api.failing = True  # the apiserver is unreachable: renewals fail
        await asyncio.wait_for(task, 3)

    run(scenario())
    assert events[0] == "started" and "stopped" in events and "cancelled" in events
