"""Pod workers' lifecycle with a fake syncer: a pod deleted, or marked for deletion,
while its sync is under way cancels that sync (as Kubernetes' pod workers do) and is
stopped and cleaned up at once; any other update lets the sync finish; stopping the
workers still stops them."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from client.rest import AsyncClient
from kubelet.podworkers import PodWorkers

POD = {"metadata": {"name": "web", "namespace": "shop", "uid": "u1"}, "spec": {}}
DELETING = {"metadata": {**POD["metadata"], "deletionTimestamp": "2026-01-01T00:00:00Z"}}


class FakeSyncer:
    """Records what the workers asked for; sync blocks until `release` is set."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.release = asyncio.Event()
        self.syncing = asyncio.Event()

    async def sync(self, pod: dict[str, Any]) -> float | None:
        self.calls.append("sync")
        self.syncing.set()
        try:
            await self.release.wait()
        except asyncio.CancelledError:
            self.calls.append("sync cancelled")
            raise
        self.calls.append("sync done")
        return None

    async def terminate(self, pod: dict[str, Any]) -> None:
        self.calls.append("terminate")

    async def cleanup(self, uid: str, pod: dict[str, Any] | None) -> None:
        self.calls.append(f"cleanup {uid}")


def api_answering(deletes: list[str]) -> AsyncClient:
    def handle(request: httpx.Request) -> httpx.Response:
        deletes.append(request.url.path)
        body = json.loads(request.content or b"{}")
        assert body.get("gracePeriodSeconds") == 0
        return httpx.Response(200, json={"kind": "Status", "status": "Success"})

    return AsyncClient(server="http://apiserver", transport=httpx.MockTransport(handle))


async def until(check: Any, what: str) -> None:
    for _ in range(500):
        if check():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def run(scenario: Any) -> None:
    async def main() -> None:
        syncer, deletes = FakeSyncer(), []
        ready = asyncio.Event()
        ready.set()
        api = api_answering(deletes)
        workers = PodWorkers(syncer, api, ready)  # type: ignore[arg-type]
        try:
            await scenario(workers, syncer, deletes)
        finally:
            await workers.stop()
            await api.aclose()

    asyncio.run(main())


def test_a_pod_gone_from_the_api_cancels_its_sync_and_is_cleaned_up() -> None:
    async def scenario(workers: PodWorkers, syncer: FakeSyncer, deletes: list[str]) -> None:
        workers.update(POD)
        await syncer.syncing.wait()
        task = workers.workers["u1"].task
        workers.remove(POD)
        await until(lambda: "u1" not in workers, "the worker to end")
        assert syncer.calls == ["sync", "sync cancelled", "cleanup u1"]
        assert task is not None and task.done() and not task.cancelled()

    run(scenario)


def test_a_pod_marked_for_deletion_cancels_its_sync_and_is_stopped() -> None:
    async def scenario(workers: PodWorkers, syncer: FakeSyncer, deletes: list[str]) -> None:
        workers.update(POD)
        await syncer.syncing.wait()
        workers.update(DELETING)
        await until(lambda: deletes, "the pod's final delete")
        assert syncer.calls == ["sync", "sync cancelled", "terminate"]
        assert deletes == ["/api/v1/namespaces/shop/pods/web"]
        assert "u1" in workers  # until the API says it is gone
        workers.remove(DELETING)
        await until(lambda: "u1" not in workers, "the worker to end")
        assert syncer.calls[-1] == "cleanup u1"

    run(scenario)


def test_an_update_that_does_not_delete_lets_the_sync_finish() -> None:
    async def scenario(workers: PodWorkers, syncer: FakeSyncer, deletes: list[str]) -> None:
        workers.update(POD)
        await syncer.syncing.wait()
        workers.update({**POD, "spec": {"activeDeadlineSeconds": 5}})
        workers.update_quietly(POD)
        syncer.release.set()
        await until(lambda: syncer.calls.count("sync done") == 2, "the sync to run again")
        assert "sync cancelled" not in syncer.calls

    run(scenario)


def test_stopping_the_workers_stops_a_worker_in_the_middle_of_a_sync() -> None:
    async def scenario(workers: PodWorkers, syncer: FakeSyncer, deletes: list[str]) -> None:
        workers.update(POD)
        await syncer.syncing.wait()
        task = workers.workers["u1"].task
        await workers.stop()
        assert task is not None and task.cancelled()
        assert syncer.calls == ["sync", "sync cancelled"]
        assert "u1" not in workers

    run(scenario)
