"""kubelet.images: containers asking for one image at the same time share one inspect."""

from __future__ import annotations

import asyncio
from typing import Any

from kubelet.images import ImageManager


class Events:
    def __init__(self) -> None:
        self.emitted: list[tuple[str, str]] = []

    def emit(self, pod: dict, kind: str, reason: str, message: str, path: str = "") -> None:
        self.emitted.append((reason, message))


class SlowDocker:
    def __init__(self) -> None:
        self.inspects = 0
        self.release = asyncio.Event()

    async def image(self, ref: str) -> dict[str, Any] | None:
        self.inspects += 1
        await self.release.wait()
        return {"Id": "sha256:abc", "Config": {"User": "1000"}}


def pod(uid: str) -> dict[str, Any]:
    return {"metadata": {"uid": uid, "name": uid, "namespace": "d"}}


async def _burst() -> None:
    docker, events = SlowDocker(), Events()
    images = ImageManager(docker, events)  # type: ignore[arg-type]
    container = {"name": "app", "image": "busybox:1", "imagePullPolicy": "IfNotPresent"}
    asks = [asyncio.ensure_future(images.ensure(pod(f"u{i}"), container)) for i in range(30)]
    await asyncio.sleep(0)
    docker.release.set()
    results = await asyncio.gather(*asks)
    assert docker.inspects == 1
    assert all(r.ok and r.image_id == "sha256:abc" and r.user == "1000" for r in results)
    assert [reason for reason, _ in events.emitted] == ["Pulled"] * 30
    # a later ask inspects again: nothing is cached beyond the calls in flight
    await images.ensure(pod("late"), container)
    assert docker.inspects == 2


def test_a_burst_of_containers_shares_one_image_inspect() -> None:
    asyncio.run(_burst())
