"""kubelet.images: containers asking for one image at the same time share one inspect;
an image found is taken as present for a while, until a create finds it gone."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from kubelet.images import PRESENT_FOR, ImageManager


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
    # a later ask within PRESENT_FOR needs no inspect; once forgotten (a create
    # found the image gone), or once PRESENT_FOR has passed, Docker is asked again
    await images.ensure(pod("late"), container)
    assert docker.inspects == 1
    images.forget("busybox:1")
    await images.ensure(pod("later"), container)
    assert docker.inspects == 2
    images._present["busybox:1"] = (time.monotonic() - PRESENT_FOR - 1, {})
    await images.ensure(pod("latest"), container)
    assert docker.inspects == 3


def test_a_burst_of_containers_shares_one_image_inspect() -> None:
    asyncio.run(_burst())


async def _always() -> None:
    docker, events = SlowDocker(), Events()
    docker.release.set()
    images = ImageManager(docker, events)  # type: ignore[arg-type]
    pulled: list[str] = []

    async def pull(ref: str) -> None:
        pulled.append(ref)

    docker.pull = pull  # type: ignore[attr-defined]
    container = {"name": "app", "image": "busybox:1", "imagePullPolicy": "Always"}
    result = await images.ensure(pod("u"), container)
    assert result.ok and pulled == ["busybox:1"]
    assert docker.inspects == 1  # after the pull only: Always does not look first


def test_always_pulls_without_looking_first() -> None:
    asyncio.run(_always())
