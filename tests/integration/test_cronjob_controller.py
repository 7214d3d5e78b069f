"""The CronJob controller against the real apiserver and etcd.

Most tests run the controller in this process with its clock set ahead of the wall
clock (the apiserver's timestamps stay real): minutes of schedule pass in no time, and
each test nudges the controller's queue after moving the clock, as the timer it set
would. One test runs the real controller manager on the real clock: a `* * * * *`
CronJob gets its Job at the next minute boundary."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from api.resources import CRONJOBS, EVENTS, JOBS
from api.timefmt import parse_time, rfc3339
from client.events import EventRecorder
from client.kubeconfig import load
from client.rest import AsyncClient
from controller.cronjob.controller import SCHEDULED_TIMESTAMP_ANNOTATION, CronJobController
from controller.util.base import Context
from controller.util.informers import InformerFactory
from tests.support.controllermanager import ManagerProcess
from tests.support.wait import eventually

Obj = dict[str, Any]


def cronjob(name: str, schedule: str = "* * * * *", **spec: Any) -> Obj:
    return {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": name},
        "spec": {
            "schedule": schedule,
            "jobTemplate": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "template": {
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": [{"name": "c", "image": "minik/busybox:1"}],
                        }
                    }
                },
            },
            **spec,
        },
    }


class Clock:
    """The controller's now: the wall clock moved to a chosen instant."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def set(self, moment: datetime) -> None:
        self.offset = moment - datetime.now(UTC)


class Scene:
    """The controller running in this process, and what a test does to it."""

    def __init__(self, api: AsyncClient, namespace: str, controller: CronJobController) -> None:
        self.api = api
        self.ns = namespace
        self.controller = controller
        self.clock: Clock = controller.now  # type: ignore[assignment]

    async def create(self, body: Obj) -> Obj:
        return await self.api.create(CRONJOBS, body, self.ns)

    def first_run(self, cj: Obj) -> datetime:
        """The first whole minute after the CronJob's creation."""
        created = parse_time(cj["metadata"]["creationTimestamp"])
        assert created is not None
        return datetime.fromtimestamp((math.floor(created / 60) + 1) * 60, UTC)

    async def at(self, moment: datetime, name: str) -> None:
        """Move the clock to `moment` and let the controller look at CronJob `name`,
        once its cache holds the CronJob as the API has it: a jump in time right after
        the controller's status write must not meet the copy from before it (which
        showed no active Job and let a Forbid CronJob start a second one)."""
        read = await self.api.get(CRONJOBS, name, self.ns)
        version = int(read["metadata"]["resourceVersion"])  # etcd's revision

        async def cached() -> bool:
            copy = self.controller.cronjobs.get(f"{self.ns}/{name}")
            return copy is not None and int(copy["metadata"]["resourceVersion"]) >= version

        await self.until(cached)
        self.clock.set(moment)
        self.controller.enqueue_key(f"{self.ns}/{name}")

    async def jobs(self) -> list[Obj]:
        listed = await self.api.list(JOBS, self.ns)
        return sorted(listed["items"], key=lambda j: j["metadata"]["name"])

    async def status(self, name: str) -> Obj:
        return (await self.api.get(CRONJOBS, name, self.ns)).get("status") or {}

    async def reasons(self) -> list[str]:
        listed = await self.api.list(EVENTS, self.ns)
        return [e.get("reason") for e in listed["items"]]

    async def finish(
        self, job: Obj, condition: str = "Complete", at: datetime | None = None
    ) -> None:
        """Write a finished status as the job controller would."""
        fresh = await self.api.get(JOBS, job["metadata"]["name"], self.ns)
        moment = rfc3339((at or datetime.now(UTC)).timestamp())
        conditions = [{"type": "SuccessCriteriaMet" if condition == "Complete" else "FailureTarget",
                       "status": "True", "lastTransitionTime": moment, "lastProbeTime": moment},
                      {"type": condition, "status": "True", "lastTransitionTime": moment,
                       "lastProbeTime": moment}]  # fmt: skip
        fresh["status"] = {"startTime": moment, "conditions": conditions}
        if condition == "Complete":
            fresh["status"].update(completionTime=moment, succeeded=1)
        else:
            fresh["status"].update(failed=1)
        await self.api.update_status(JOBS, fresh)

    async def until(self, check: Callable[[], Awaitable[Any]], timeout: float = 10) -> Any:
        """`check()`'s first truthy value (the controller runs between attempts)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            value = await check()
            if value:
                return value
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out waiting for {check}")
            await asyncio.sleep(0.05)


@pytest.fixture
def scene(apiserver, namespace) -> Iterator[Callable[[Callable[[Scene], Awaitable[None]]], None]]:
    def run(body: Callable[[Scene], Awaitable[None]]) -> None:
        async def main() -> None:
            async with AsyncClient(load(str(apiserver.kubeconfig))) as api:
                informers = InformerFactory(api)
                ctx = Context(api, informers, EventRecorder(api, "cronjob-controller"))
                controller = CronJobController(ctx, now=Clock())
                informers.start()
                task = asyncio.create_task(controller.run())
                try:
                    await body(Scene(api, namespace, controller))
                finally:
                    task.cancel()
                    await asyncio.gather(task, return_exceptions=True)
                    await informers.stop()

        asyncio.run(main())

    yield run


def minutes(moment: datetime) -> int:
    return int(moment.timestamp()) // 60


def test_a_job_is_started_at_the_scheduled_time(scene):
    async def body(s: Scene) -> None:
        cj = await s.create(cronjob("tick", timeZone="Europe/Paris"))
        t1 = s.first_run(cj)
        await s.at(t1 - timedelta(seconds=2), "tick")
        await asyncio.sleep(0.5)
        assert await s.jobs() == []
        await s.at(t1 + timedelta(seconds=1), "tick")
        jobs = await s.until(s.jobs)
        assert [j["metadata"]["name"] for j in jobs] == [f"tick-{minutes(t1)}"]
        job = jobs[0]
        owner = job["metadata"]["ownerReferences"][0]
        assert (owner["kind"], owner["name"], owner["controller"]) == ("CronJob", "tick", True)
        stamp = job["metadata"]["annotations"][SCHEDULED_TIMESTAMP_ANNOTATION]
        assert datetime.fromisoformat(stamp) == t1 and stamp.endswith(("+01:00", "+02:00"))
        assert job["metadata"]["labels"]["app"] == "tick"
        assert job["spec"]["backoffLimit"] == 6  # the Job's own defaults
        status = await s.until(lambda: s.status("tick"))
        assert status["lastScheduleTime"] == rfc3339(t1.timestamp())
        assert [a["name"] for a in status["active"]] == [f"tick-{minutes(t1)}"]
        assert status["active"][0]["uid"] == job["metadata"]["uid"]
        assert "SuccessfulCreate" in await s.reasons()
        # Looking again in the same minute starts nothing more.
        await s.at(t1 + timedelta(seconds=30), "tick")
        await asyncio.sleep(0.5)
        assert len(await s.jobs()) == 1

    scene(body)


def test_forbid_skips_while_a_job_runs_then_completion_clears_it(scene):
    async def body(s: Scene) -> None:
        cj = await s.create(cronjob("lone", concurrencyPolicy="Forbid"))
        t1 = s.first_run(cj)
        await s.at(t1 + timedelta(seconds=1), "lone")
        (first,) = await s.until(s.jobs)
        await s.until(lambda: s.status("lone"))
        t2 = t1 + timedelta(minutes=1)
        await s.at(t2 + timedelta(seconds=1), "lone")

        async def refused() -> bool:
            return "JobAlreadyActive" in await s.reasons()

        await s.until(refused)
        assert len(await s.jobs()) == 1
        await s.finish(first)

        async def second_started() -> list[Obj]:
            jobs = await s.jobs()
            return jobs if len(jobs) == 2 else []

        jobs = await s.until(second_started)
        assert jobs[1]["metadata"]["name"] == f"lone-{minutes(t2)}"

        async def settled() -> Obj | None:
            status = await s.status("lone")
            names = [a["name"] for a in status.get("active") or []]
            return status if names == [f"lone-{minutes(t2)}"] else None

        status = await s.until(settled)
        assert status["lastSuccessfulTime"]
        assert "SawCompletedJob" in await s.reasons()

    scene(body)


def test_replace_deletes_the_running_job_for_the_new_one(scene):
    async def body(s: Scene) -> None:
        cj = await s.create(cronjob("swap", concurrencyPolicy="Replace"))
        t1 = s.first_run(cj)
        await s.at(t1 + timedelta(seconds=1), "swap")
        await s.until(s.jobs)
        await s.until(lambda: s.status("swap"))
        t2 = t1 + timedelta(minutes=1)
        await s.at(t2 + timedelta(seconds=1), "swap")

        async def replaced() -> list[str]:
            names = [j["metadata"]["name"] for j in await s.jobs()]
            return names if names == [f"swap-{minutes(t2)}"] else []

        await s.until(replaced)

        async def active_is_new() -> bool:
            active = (await s.status("swap")).get("active") or []
            return [a["name"] for a in active] == [f"swap-{minutes(t2)}"]

        await s.until(active_is_new)
        assert "SuccessfulDelete" in await s.reasons()

    scene(body)


def test_allow_runs_alongside_and_history_keeps_the_newest(scene):
    async def body(s: Scene) -> None:
        cj = await s.create(cronjob("many", successfulJobsHistoryLimit=1))
        t1 = s.first_run(cj)
        for n in range(2):
            await s.at(t1 + timedelta(minutes=n, seconds=1), "many")

            async def started(count: int = n + 1) -> list[Obj]:
                jobs = await s.jobs()
                return jobs if len(jobs) == count else []

            await s.until(started)
            await s.until(lambda: s.status("many"))
        jobs = await s.jobs()
        await s.finish(jobs[0], at=datetime.now(UTC) - timedelta(seconds=5))
        await s.finish(jobs[1])

        async def pruned() -> list[str]:
            names = [j["metadata"]["name"] for j in await s.jobs()]
            return names if len(names) == 1 else []

        assert await s.until(pruned) == [f"many-{minutes(t1 + timedelta(minutes=1))}"]

    scene(body)


def test_a_suspended_cronjob_starts_nothing(scene):
    async def body(s: Scene) -> None:
        paused = await s.create(cronjob("paused", suspend=True))
        await s.at(s.first_run(paused) + timedelta(minutes=3), "paused")
        await asyncio.sleep(0.5)
        assert await s.jobs() == []
        assert (await s.status("paused")).get("active") is None

    scene(body)


def test_a_run_older_than_the_starting_deadline_is_skipped(scene):
    async def body(s: Scene) -> None:
        late = await s.create(cronjob("late", startingDeadlineSeconds=10))
        t1 = s.first_run(late)
        await s.at(t1 + timedelta(seconds=30), "late")
        await asyncio.sleep(0.5)
        assert await s.jobs() == []
        await s.at(t1 + timedelta(minutes=1, seconds=5), "late")
        (job,) = await s.until(s.jobs)
        assert job["metadata"]["name"] == f"late-{minutes(t1) + 1}"

    scene(body)


def test_too_many_missed_runs_warn_and_start_only_the_most_recent(scene):
    async def body(s: Scene) -> None:
        behind = await s.create(cronjob("behind"))
        recent = s.first_run(behind) + timedelta(minutes=200)
        await s.at(recent + timedelta(seconds=5), "behind")
        (job,) = await s.until(s.jobs)
        assert job["metadata"]["name"] == f"behind-{minutes(recent)}"
        assert "TooManyMissedTimes" in await s.reasons()

    scene(body)


@pytest.fixture
def manager(apiserver, tmp_path: Path) -> Iterator[ManagerProcess]:
    proc = ManagerProcess(apiserver, tmp_path, "--controllers", "cronjob").start()
    yield proc
    proc.stop()


def test_the_controller_manager_starts_a_job_at_the_next_minute(manager, apiserver, namespace):
    with apiserver.http() as http:
        base = f"/apis/batch/v1/namespaces/{namespace}"
        created = http.post(f"{base}/cronjobs", json=cronjob("minutely")).json()
        first = (math.floor(parse_time(created["metadata"]["creationTimestamp"]) / 60) + 1) * 60

        def job() -> Obj | None:
            items = http.get(f"{base}/jobs").json()["items"]
            return items[0] if items else None

        started = eventually(job, timeout=75, interval=0.5, message=manager.log())
        assert started["metadata"]["name"] == f"minutely-{int(first) // 60}"
        assert parse_time(started["metadata"]["creationTimestamp"]) >= first
        assert parse_time(started["metadata"]["creationTimestamp"]) < first + 5
