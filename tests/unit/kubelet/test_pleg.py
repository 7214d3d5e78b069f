"""The PLEG cache under concurrency: a relist's inspect that was answered before a
pod worker acted must not overwrite what the worker read afterwards.

The runtime is a fake (pure cache logic); what Docker does is covered by the e2e
kubelet tests."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

from kubelet import dockerlabels as L
from kubelet.pleg import Pleg, RuntimeCache
from kubelet.records import CREATED, RUNNING, starting
from kubelet.runtime import RuntimeFailure


def inspect_data(cid: str, status: str) -> dict[str, Any]:
    return {
        "Id": cid,
        "Created": "2024-05-01T12:00:00Z",
        "Config": {
            "Labels": {
                L.POD_UID: "u",
                L.POD_NAME: "web",
                L.POD_NAMESPACE: "shop",
                L.CONTAINER_NAME: "app",
                L.SANDBOX: "false",
                L.CONTAINER_KIND: "app",
            }
        },
        "State": {"Status": status, "StartedAt": "2024-05-01T12:00:01Z"},
    }


class FakeRuntime:
    """Docker as a dict of container states. An inspect reads the state when it is
    called and may be held before it answers, like a slow Docker API call."""

    def __init__(self) -> None:
        self.states: dict[str, str] = {}
        self.hold: asyncio.Event | None = None
        self.events_filters: list[dict[str, Any]] = []
        self.event_feed: asyncio.Queue[Any] = asyncio.Queue()
        self.lists = 0
        self.inspects = 0

    async def events(
        self, filters: dict[str, Any], on_open: Callable[[], None] | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """The feed's events; a RuntimeFailure put in the feed breaks the stream."""
        self.events_filters.append(filters)
        if on_open is not None:
            on_open()
        while True:
            event = await self.event_feed.get()
            if isinstance(event, RuntimeFailure):
                raise event
            yield event

    async def list_containers(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
        self.lists += 1
        return [{"Id": cid, "State": state} for cid, state in self.states.items()]

    async def inspect(self, container_id: str) -> dict[str, Any] | None:
        self.inspects += 1
        state = self.states.get(container_id)
        answer = None if state is None else inspect_data(container_id, state)
        hold = self.hold
        if hold is not None:
            await hold.wait()
        return answer


def make_pleg() -> tuple[FakeRuntime, RuntimeCache, Pleg]:
    runtime = FakeRuntime()
    cache = RuntimeCache()
    pleg = Pleg(runtime, cache, "n1", "minik", on_change=lambda uids: None)  # type: ignore[arg-type]
    return runtime, cache, pleg


async def relist_held(
    runtime: FakeRuntime, pleg: Pleg
) -> tuple[asyncio.Task[set[str]], asyncio.Event]:
    """A relist whose inspects have read Docker but not yet answered."""
    hold = asyncio.Event()
    runtime.hold = hold
    task = asyncio.create_task(pleg.relist())
    await asyncio.sleep(0.01)
    runtime.hold = None
    return task, hold


def test_stale_relist_does_not_overwrite_a_newer_refresh() -> None:
    async def scenario() -> str:
        runtime, cache, pleg = make_pleg()
        runtime.states["c1"] = "created"
        relist, hold = await relist_held(runtime, pleg)
        runtime.states["c1"] = "running"  # the pod worker started it …
        await pleg.refresh(["c1"])  # … and read it back
        hold.set()
        await relist
        record = cache.get("c1")
        assert record is not None
        return record.state

    assert asyncio.run(scenario()) == RUNNING


def test_stale_relist_does_not_revive_a_removed_container() -> None:
    async def scenario() -> bool:
        runtime, cache, pleg = make_pleg()
        runtime.states["c1"] = "exited"
        await pleg.relist()
        runtime.states["c1"] = "running"  # restarted outside: the next relist inspects it
        relist, hold = await relist_held(runtime, pleg)
        del runtime.states["c1"]  # the pod worker removed it …
        await pleg.refresh(["c1"])  # … and the cache dropped it
        hold.set()
        await relist
        return cache.get("c1") is None

    assert asyncio.run(scenario())


def test_relist_keeps_a_container_created_after_its_list() -> None:
    async def scenario() -> str:
        runtime, cache, pleg = make_pleg()
        relist, hold = await relist_held(runtime, pleg)  # lists nothing
        runtime.states["c2"] = "created"
        await pleg.refresh(["c2"])
        hold.set()
        await relist
        record = cache.get("c2")
        assert record is not None
        return record.state

    assert asyncio.run(scenario()) == CREATED


def test_relist_sees_changes_and_drops_vanished_containers() -> None:
    async def scenario() -> tuple[set[str], set[str], bool, bool, bool]:
        runtime, cache, pleg = make_pleg()
        runtime.states["c1"] = "running"
        first = await pleg.relist()
        del runtime.states["c1"]
        second = await pleg.relist()
        tombstone_kept = "c1" in cache.dropped  # an older inspect may still answer
        await pleg.relist()
        return first, second, cache.get("c1") is None, tombstone_kept, "c1" in cache.dropped

    first, second, gone, tombstone_kept, tombstone_left = asyncio.run(scenario())
    assert first == {"u"} and second == {"u"} and gone
    assert tombstone_kept and not tombstone_left


def test_a_docker_event_relists_at_once() -> None:
    """A container killed outside the kubelet is noticed on Docker's `die` event, not
    a whole relist period later."""

    async def scenario() -> tuple[set[str], list[dict[str, Any]]]:
        runtime = FakeRuntime()
        cache = RuntimeCache()
        woken: set[str] = set()
        pleg = Pleg(runtime, cache, "n1", "minik", on_change=woken.update, period=30.0)  # type: ignore[arg-type]
        runtime.states["c1"] = "running"
        tasks = [asyncio.create_task(pleg.run()), asyncio.create_task(pleg.watch_events())]
        await asyncio.sleep(0.05)  # the first relist
        woken.clear()
        runtime.states["c1"] = "exited"
        await runtime.event_feed.put({"status": "die", "id": "c1"})
        await asyncio.sleep(0.3)
        for task in tasks:
            task.cancel()
        record = cache.get("c1")
        assert record is not None and record.exited
        return woken, runtime.events_filters

    woken, filters = asyncio.run(scenario())
    assert woken == {"u"}
    assert filters[0]["label"] == [f"{L.NODE}=n1"] and "die" in filters[0]["event"]


def test_a_dead_container_is_inspected_alone_without_a_relist() -> None:
    """Its pod hears of it from one inspect: no `docker ps` of the whole node."""

    async def scenario() -> tuple[set[str], int]:
        runtime = FakeRuntime()
        cache = RuntimeCache()
        woken: set[str] = set()
        pleg = Pleg(runtime, cache, "n1", "minik", on_change=woken.update, period=30.0)  # type: ignore[arg-type]
        runtime.states["c1"] = "running"
        await pleg.relist()
        lists = runtime.lists
        runtime.states["c1"] = "exited"
        events = asyncio.create_task(pleg.watch_events())
        await runtime.event_feed.put({"Action": "die", "id": "c1"})
        for _ in range(100):
            record = cache.get("c1")
            if record is not None and record.exited:
                break
            await asyncio.sleep(0.01)
        events.cancel()
        return woken, runtime.lists - lists

    woken, relists = asyncio.run(scenario())
    assert woken == {"u"} and relists == 0


def test_a_container_known_running_ends_as_its_die_event_says() -> None:
    """No inspect either: Docker answers one only after tearing the container down."""

    async def scenario() -> tuple[set[str], int, int, Any]:
        runtime = FakeRuntime()
        cache = RuntimeCache()
        woken: set[str] = set()
        pleg = Pleg(runtime, cache, "n1", "minik", on_change=woken.update, period=30.0)  # type: ignore[arg-type]
        runtime.states["c1"] = "running"
        await pleg.relist()
        lists, inspects = runtime.lists, runtime.inspects
        events = asyncio.create_task(pleg.watch_events())
        await runtime.event_feed.put(
            {
                "Action": "die",
                "id": "c1",
                "timeNano": 1_700_000_000_500_000_000,
                "Actor": {"ID": "c1", "Attributes": {"exitCode": "137"}},
            }
        )
        for _ in range(100):
            record = cache.get("c1")
            if record is not None and record.exited:
                break
            await asyncio.sleep(0.01)
        events.cancel()
        return woken, runtime.lists - lists, runtime.inspects - inspects, cache.get("c1")

    woken, relists, inspects, record = asyncio.run(scenario())
    assert woken == {"u"} and relists == 0 and inspects == 0
    assert record is not None and record.exited and record.exit_code == 137
    assert record.finished_at == 1_700_000_000.5


def test_an_oom_event_after_the_die_marks_the_container_oom_killed() -> None:
    """containerd can publish the exit before the OOM (CI run 37: reason Error for an
    OOM-killed container); Docker then never sets OOMKilled, but its `oom` event
    comes, and Kubernetes' runtime marks the container from it whenever it comes.
    A later inspect (Docker still says false) keeps the mark."""

    async def scenario() -> tuple[list[set[str]], Any, Any]:
        runtime = FakeRuntime()
        cache = RuntimeCache()
        woken: list[set[str]] = []
        pleg = Pleg(runtime, cache, "n1", "minik", on_change=woken.append, period=30.0)  # type: ignore[arg-type]
        runtime.states["c1"] = "running"
        await pleg.relist()
        events = asyncio.create_task(pleg.watch_events())
        die = {
            "Action": "die",
            "id": "c1",
            "Actor": {"ID": "c1", "Attributes": {"exitCode": "137"}},
        }
        await runtime.event_feed.put(die)
        for _ in range(100):
            if (record := cache.get("c1")) is not None and record.exited:
                break
            await asyncio.sleep(0.01)
        ended = cache.get("c1")
        await runtime.event_feed.put({"Action": "oom", "id": "c1"})
        for _ in range(100):
            if (record := cache.get("c1")) is not None and record.oom_killed:
                break
            await asyncio.sleep(0.01)
        events.cancel()
        runtime.states["c1"] = "exited"
        await pleg.refresh(["c1"])
        return woken, ended, cache.get("c1")

    woken, ended, record = asyncio.run(scenario())
    assert ended is not None and ended.exited and not ended.oom_killed
    assert woken == [{"u"}, {"u"}]
    assert record is not None and record.exited and record.oom_killed


def test_a_runtime_that_stops_answering_makes_the_node_not_ready_until_it_returns() -> None:
    from kubelet.runtime import RuntimeFailure

    class Flaky(FakeRuntime):
        down = False

        async def list_containers(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
            if self.down:
                raise RuntimeFailure("Cannot connect to the Docker daemon")
            return await super().list_containers(filters)

    async def scenario() -> None:
        runtime = Flaky()
        recovered: list[bool] = []
        pleg = Pleg(
            runtime,  # type: ignore[arg-type]
            RuntimeCache(),
            "n1",
            "minik",
            on_change=lambda uids: None,
            on_recovered=lambda: recovered.append(True),
        )
        assert pleg.runtime_down() == "container runtime is down: not relisted yet"
        await pleg.relist_once()
        assert pleg.runtime_down() == "" and recovered == []
        runtime.down = True
        await pleg.relist_once()
        assert pleg.runtime_down() == (
            "container runtime is down: Cannot connect to the Docker daemon"
        )
        await pleg.relist_once()
        assert recovered == []
        runtime.down = False
        await pleg.relist_once()
        assert pleg.runtime_down() == "" and recovered == [True]
        await pleg.relist_once()
        assert recovered == [True]  # once per outage

    asyncio.run(scenario())


def app_labels() -> dict[str, str]:
    return inspect_data("c1", "running")["Config"]["Labels"]


def pleg_starting_c1(state: str, **pleg_args: Any) -> tuple[FakeRuntime, RuntimeCache, Pleg, Any]:
    """A Pleg on node n1 told that app container c1 is starting (the worker's call), and
    the fake runtime answering c1's inspect with `state`."""
    runtime = FakeRuntime()
    cache = RuntimeCache()
    pleg = Pleg(runtime, cache, "n1", "minik", **{"on_change": lambda uids: None, **pleg_args})  # type: ignore[arg-type]
    record = starting("c1", app_labels(), "busybox", "sha256:abc")
    assert record is not None
    pleg.starting(record)
    runtime.states["c1"] = state
    return runtime, cache, pleg, record


def test_a_container_that_ends_before_its_inspect_is_answered_is_known_from_its_events() -> None:
    """A Job pod's `true`: Docker answers its post-start inspect only after tearing it
    down. The worker waiting in refresh_started returns on the `die` event, with the
    record built from what it knew at the start and the `start` event's time; the
    inspect answered later does not replace it."""

    async def scenario() -> tuple[bool, Any, Any, int, set[str]]:
        woken: set[str] = set()
        runtime, cache, pleg, record = pleg_starting_c1(
            "exited", on_change=woken.update, period=30.0
        )
        assert record.running and record.started_at is None
        runtime.hold = asyncio.Event()  # the teardown
        events = asyncio.create_task(pleg.watch_events())
        waiting = asyncio.create_task(pleg.refresh_started("c1"))
        await asyncio.sleep(0.05)
        returned_early = waiting.done()
        for event in (
            {"Action": "start", "id": "c1", "timeNano": 1_700_000_000_100_000_000},
            {
                "Action": "die",
                "id": "c1",
                "timeNano": 1_700_000_000_200_000_000,
                "Actor": {"ID": "c1", "Attributes": {"exitCode": "0"}},
            },
        ):
            await runtime.event_feed.put(event)
        await asyncio.wait_for(waiting, 1.0)
        ended = cache.get("c1")
        runtime.hold.set()  # the inspect is answered now, with Docker's own times
        for _ in range(20):
            await asyncio.sleep(0.01)
        events.cancel()
        return returned_early, ended, cache.get("c1"), runtime.inspects, woken

    returned_early, ended, after, inspects, woken = asyncio.run(scenario())
    assert not returned_early
    assert ended is not None and ended.exited and ended.exit_code == 0
    assert ended.started_at == 1_700_000_000.1 and ended.finished_at == 1_700_000_000.2
    assert ended.image_id == "sha256:abc" and ended.created_at is not None
    assert after == ended and inspects == 1 and woken == {"u"}


def test_a_container_still_running_is_known_from_its_inspect_after_the_start() -> None:
    """A long-running container: refresh_started returns with the inspect's record
    (its IP, Docker's StartedAt), as a plain refresh would."""

    async def scenario() -> Any:
        _, cache, pleg, _ = pleg_starting_c1("running")
        await asyncio.wait_for(pleg.refresh_started("c1"), 1.0)
        return cache.get("c1")

    record = asyncio.run(scenario())
    assert record is not None and record.running and record.started_at is not None


def test_a_start_whose_address_is_known_is_completed_by_its_start_event() -> None:
    """A solo container's fixed pod IP is known to the worker: Docker's `start` event
    gives the start time, and nothing is inspected (a relist then sees it as cached)."""

    async def scenario() -> tuple[Any, int]:
        runtime, cache, pleg, _ = pleg_starting_c1("running", period=30.0)
        events = asyncio.create_task(pleg.watch_events())
        waiting = asyncio.create_task(pleg.refresh_started("c1", "10.0.0.5"))
        await asyncio.sleep(0.01)
        assert not waiting.done()
        await runtime.event_feed.put(
            {"Action": "start", "id": "c1", "timeNano": 1_700_000_000_100_000_000}
        )
        await asyncio.wait_for(waiting, 1.0)
        await pleg.relist()
        events.cancel()
        return cache.get("c1"), runtime.inspects

    record, inspects = asyncio.run(scenario())
    assert record is not None and record.running and record.ip == "10.0.0.5"
    assert record.started_at == 1_700_000_000.1 and inspects == 0


def test_a_start_without_its_event_is_inspected(monkeypatch: Any) -> None:
    """No `start` event in time (Docker's event stream is down): the inspect, as for a
    container whose address only Docker knows."""
    monkeypatch.setattr("kubelet.pleg.START_EVENT_WAIT", 0.05)

    async def scenario() -> tuple[Any, int]:
        runtime, cache, pleg, _ = pleg_starting_c1("running")
        await asyncio.wait_for(pleg.refresh_started("c1", "10.0.0.5"), 1.0)
        return cache.get("c1"), runtime.inspects

    record, inspects = asyncio.run(scenario())
    assert record is not None and record.running and record.started_at is not None
    assert inspects == 1


def test_the_relist_is_a_slower_safety_net_while_dockers_events_flow() -> None:
    """Every `evented_period` while the event stream is open (one relist at its
    opening, for what came before), every `period` once it breaks."""

    async def scenario() -> tuple[int, int, bool]:
        runtime = FakeRuntime()
        pleg = Pleg(
            runtime,  # type: ignore[arg-type]
            RuntimeCache(),
            "n1",
            "minik",
            on_change=lambda uids: None,
            period=0.02,
            evented_period=30.0,
        )
        relists = asyncio.create_task(pleg.run())
        await asyncio.sleep(0.2)
        unevented = runtime.lists
        events = asyncio.create_task(pleg.watch_events())
        await asyncio.sleep(0.15)
        before = runtime.lists
        await asyncio.sleep(0.3)
        evented = runtime.lists - before
        await runtime.event_feed.put(RuntimeFailure("the daemon went away"))
        await asyncio.sleep(0.3)
        broken = runtime.lists - before - evented
        still_open = pleg.events_open
        for task in (relists, events):
            task.cancel()
        return unevented, evented, broken >= 5 and not still_open

    unevented, evented, back_to_fast = asyncio.run(scenario())
    assert unevented >= 5  # every 0.02 s before the stream opened
    assert evented == 0  # nothing in 0.3 s of a 30 s safety net
    assert back_to_fast
