"""The status manager's promises: no write when nothing changed, bursts coalesce
into one write of the newest status, every write tests the pod's uid."""

from __future__ import annotations

import asyncio
from typing import Any

from api.errors import ApiError
from kubelet.statusmanager import StatusManager, normalized


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
            manager.set_status(pod(), {"phase": "Pending", "n": n})
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.4)
        task.cancel()
        return api

    api = asyncio.run(scenario())
    assert len(api.patches) == 2, api.patches
    assert api.patches[0][0] == {"op": "test", "path": "/metadata/uid", "value": "u1"}
    assert api.patches[1][1]["value"] == {"phase": "Pending", "n": 5}


def ready(flag: str, n: int) -> dict[str, Any]:
    return {"phase": "Running", "n": n, "conditions": [{"type": "Ready", "status": flag}]}


def test_phase_and_readiness_changes_are_written_at_once() -> None:
    """Endpoints and rollouts wait on Ready: it does not wait out min_interval, while
    other changes right after it still coalesce."""

    async def scenario() -> FakeApi:
        api = FakeApi()
        manager = StatusManager(api, min_interval=5.0)  # type: ignore[arg-type]
        task = asyncio.create_task(manager.run())
        manager.set_status(pod(), ready("False", 1))  # Pending → Running
        await asyncio.sleep(0.02)
        manager.set_status(pod(), ready("True", 2))  # not ready → ready
        await asyncio.sleep(0.02)
        manager.set_status(pod(), ready("True", 3))  # no milestone: waits
        await asyncio.sleep(0.1)
        task.cancel()
        return api

    values = [p[1]["value"] for p in asyncio.run(scenario()).patches]
    assert values == [ready("False", 1), ready("True", 2)]


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


def waiting(reason: str) -> dict[str, Any]:
    state = {"waiting": {"reason": reason, "message": f"{reason} …"}}
    return {"phase": "Pending", "containerStatuses": [{"name": "app", "state": state}]}


def test_each_container_state_is_written() -> None:
    """ErrImagePull, then ImagePullBackOff: both reach the API, as users watch for them."""

    async def scenario() -> FakeApi:
        api = FakeApi()
        manager = StatusManager(api, min_interval=5.0)  # type: ignore[arg-type]
        task = asyncio.create_task(manager.run())
        for reason in ("ContainerCreating", "ErrImagePull", "ImagePullBackOff"):
            manager.set_status(pod(), waiting(reason))
            await asyncio.sleep(0.02)
        task.cancel()
        return api

    values = [p[1]["value"] for p in asyncio.run(scenario()).patches]
    assert values == [waiting(r) for r in ("ContainerCreating", "ErrImagePull", "ImagePullBackOff")]


def test_normalisation() -> None:
    assert normalized({"a": None, "b": [{"c": None, "d": 1}]}) == {"b": [{"d": 1}]}
