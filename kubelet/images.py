"""Images for containers, following `imagePullPolicy` as Kubernetes does.

`Never` uses only what is on the machine; `IfNotPresent` pulls when missing;
`Always` pulls every time a container starts (and fails if the registry cannot be
reached, even when a copy is present — as Kubernetes does; images tagged `:latest`
or untagged default to `Always`, so for images built locally set
`imagePullPolicy: IfNotPresent` or give them a tag). A failed pull is
`ErrImagePull`; retries then wait (10 s doubling to 5 min), and meanwhile the
container waits with `ImagePullBackOff`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from api.defaults import image_pull_policy
from kubelet.backoff import Backoff
from kubelet.events import NORMAL, WARNING, EventSink, container_field_path
from kubelet.runtime import DockerRuntime, PullFailure

ERR_IMAGE_PULL = "ErrImagePull"
IMAGE_PULL_BACKOFF = "ImagePullBackOff"
ERR_IMAGE_NEVER_PULL = "ErrImageNeverPull"
INVALID_IMAGE_NAME = "InvalidImageName"
RESYNC_AFTER_FAILURE = 1.0
# Seconds an image found on the machine is taken to be there still, without asking
# Docker again: a Job's pods or a burst of replicas start one after another, each
# one `docker image inspect` more in Docker's queue otherwise. A create that then
# finds the image gone forgets it (`forget`), and the next try asks Docker.
PRESENT_FOR = 10.0


@dataclass(frozen=True)
class ImageResult:
    ok: bool
    reason: str = ""
    message: str = ""
    retry_after: float | None = None
    image_id: str = ""  # sha256:…, when known without another call
    user: str = ""  # the image's USER (`user[:group]`; "" runs as root)


def _user(inspect: dict[str, Any] | None) -> str:
    return str(((inspect or {}).get("Config") or {}).get("User") or "")


class ImageManager:
    def __init__(self, runtime: DockerRuntime, events: EventSink, backoff: Backoff | None = None):
        self.runtime = runtime
        self.events = events
        self.backoff = backoff or Backoff()
        self._inspecting: dict[str, asyncio.Future[dict[str, Any] | None]] = {}
        self._present: dict[str, tuple[float, dict[str, Any]]] = {}  # ref → (when, inspect)

    def forget(self, ref: str) -> None:
        """Docker said the image is not there (a create failed): ask it next time."""
        self._present.pop(ref, None)

    async def _present_image(self, ref: str) -> dict[str, Any] | None:
        seen = self._present.get(ref)
        if seen is not None and time.monotonic() - seen[0] < PRESENT_FOR:
            return seen[1]
        found = await self._inspect(ref)
        if found is not None:
            self._present[ref] = (time.monotonic(), found)
        else:
            self._present.pop(ref, None)
        return found

    async def _inspect(self, ref: str) -> dict[str, Any] | None:
        """`docker image inspect`, one call for every container asking at the same
        time: 30 pods of one Deployment arriving at once cost Docker one inspect, not
        30 queued beside their creates and starts. A later ask gets a fresh answer."""
        pending = self._inspecting.get(ref)
        if pending is None:
            pending = asyncio.ensure_future(self.runtime.image(ref))
            self._inspecting[ref] = pending
            pending.add_done_callback(lambda done: self._forget(ref, done))
        return await asyncio.shield(pending)

    def _forget(self, ref: str, done: asyncio.Future[dict[str, Any] | None]) -> None:
        if self._inspecting.get(ref) is done:
            del self._inspecting[ref]
        if not done.cancelled():
            done.exception()  # retrieved: every waiter has it raised already

    async def ensure(
        self, pod: dict[str, Any], container: dict[str, Any], *, init: bool = False
    ) -> ImageResult:
        ref = container.get("image") or ""
        path = container_field_path(container.get("name", ""), init)
        if not ref:
            return ImageResult(False, INVALID_IMAGE_NAME, "image is empty")
        policy = container.get("imagePullPolicy") or image_pull_policy(ref)
        # `Always` pulls whatever is here: no need to look first.
        found = None if policy == "Always" else await self._present_image(ref)
        if found is not None:
            self.events.emit(
                pod, NORMAL, "Pulled", f'Container image "{ref}" already present on machine', path
            )
            return ImageResult(True, image_id=str(found.get("Id") or ""), user=_user(found))
        if policy == "Never":
            message = f'Container image "{ref}" is not present with pull policy of Never'
            self.events.emit(pod, WARNING, ERR_IMAGE_NEVER_PULL, message, path)
            return ImageResult(False, ERR_IMAGE_NEVER_PULL, message)
        key = ((pod.get("metadata") or {}).get("uid", ""), ref)
        if self.backoff.in_backoff_since_update(key):
            message = f'Back-off pulling image "{ref}"'
            self.events.emit(pod, NORMAL, "BackOff", message, path)
            return ImageResult(
                False, IMAGE_PULL_BACKOFF, message, self.backoff.remaining_since_update(key)
            )
        self.events.emit(pod, NORMAL, "Pulling", f'Pulling image "{ref}"', path)
        began = time.monotonic()
        try:
            await self.runtime.pull(ref)
        except PullFailure as err:
            self.backoff.next(key, time.time())
            message = f'Failed to pull image "{ref}": {err}'
            self.events.emit(pod, WARNING, "Failed", message, path)
            # Sync again soon: the container then shows ImagePullBackOff while the
            # back-off runs, as in Kubernetes.
            return ImageResult(False, ERR_IMAGE_PULL, message, RESYNC_AFTER_FAILURE)
        took = time.monotonic() - began
        self.events.emit(
            pod, NORMAL, "Pulled", f'Successfully pulled image "{ref}" in {took:.3f}s', path
        )
        self.forget(ref)
        pulled = await self.runtime.image(ref)
        return ImageResult(True, image_id=str((pulled or {}).get("Id") or ""), user=_user(pulled))
