"""The status manager's promises: no write when nothing changed, bursts coalesce
into one write of the newest status, every write tests the pod's uid."""

from __future__ import annotations

import asyncio
from typing import Any

from api.errors import ApiError
from kubelet.statusmanager import StatusManager


class FakeApi:
    """Records status patches; answers like the apiserver (or fails on demand)."""

    def __init__(self) -> None:
        self.patches: list[list[dict[str, Any]]] = []
        self.fail_with: ApiError | None = None

    async def patch(
        self,
        res: Any,
        name: str,
        patch: Any,
        patch_type: str,
        namespace: str,
        subresource: str | None = None,
    ) -> dict[str, Any]:
        assert patch_type == "json" and subresource == "status"
        self.patches.append(patch)
        if self.fail_with is not None:
            raise self.fail_with
        return {"status": patch[1]["value"]}


def pod(status: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "metadata": {"name": "web", "namespace": "d", "uid": "u1"},
        "status": status or {"phase": "Pending"},
    }


async def run_for(manager: StatusManager, seconds: float) -> None:
    task = asyncio.create_task(manager.run())
    await asyncio.sleep(seconds)
    task.cancel()


def test_unchanged_status_is_not_written() -> None:
    async def scenario() -> FakeApi:
        api = FakeApi()
        manager = StatusManager(api, min_interval=0.05)  # type: ignore[arg-type]
        manager.set_status(pod({"phase": "Running", "x": None}), {"phase": "Running"})
        await run_for(manager, 0.1)
        return api

    assert asyncio.run(scenario()).patches == []


def test_burst_coalesces_and_patch_tests_the_uid() -> None:
    async def scenario() -> FakeApi:
        api = FakeApi()
        manager = StatusManager(api, min_interval=0.2)  # type: ignore[arg-type]
        task = asyncio.create_task(manager.run())
        manager.set_status(pod(), {"phase": "Pending", "n": 0})
        await asyncio.sleep(0.02)  # the first write goes at once
        for n in range(1, 6):
            manager.set_status(pod(), {"phase": "Running", "n": n})
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.4)
        task.cancel()
        return api

    api = asyncio.run(scenario())
    assert len(api.patches) == 2, api.patches
    assert api.patches[0][0] == {"op": "test", "path": "/metadata/uid", "value": "u1"}
    assert api.patches[1][1]["value"] == {"phase": "Running", "n": 5}


def test_replaced_pod_is_forgotten() -> None:
    async def scenario() -> tuple[FakeApi, StatusManager]:
        api = FakeApi()
        api.fail_with = ApiError(422, "test failed", "Invalid")
        manager = StatusManager(api, min_interval=0.01)  # type: ignore[arg-type]
        manager.set_status(pod(), {"phase": "Running"})
        await run_for(manager, 0.1)
        return api, manager

    api, manager = asyncio.run(scenario())
    assert len(api.patches) == 1 and manager.desired("u1") is None
