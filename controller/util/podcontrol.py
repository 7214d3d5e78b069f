"""Kubernetes' PodControl: a workload controller's creates and deletes of its pods,
each with the Event that says so (SuccessfulCreate / FailedCreate, SuccessfulDelete /
FailedDelete, Kubernetes' reasons and wording). What the controller then expects
stays with the controller: only it knows what it waits for."""

from __future__ import annotations

from typing import Any

from api.errors import ApiError, NotFound, is_namespace_terminating
from api.resources import PODS
from client.events import NORMAL, WARNING, EventRecorder
from client.rest import AsyncClient

Obj = dict[str, Any]


def _meta(obj: Obj) -> Obj:
    return obj.get("metadata") or {}


class PodControl:
    def __init__(self, api: AsyncClient, events: EventRecorder) -> None:
        self.api = api
        self.events = events

    async def create(self, owner: Obj, pod: Obj) -> Obj:
        """Create `pod` in the owner's namespace; the created pod. A failure is
        raised after a FailedCreate event, except in a terminating namespace, where
        every create fails and Kubernetes records nothing."""
        try:
            created = await self.api.create(PODS, pod, _meta(owner).get("namespace"))
        except ApiError as err:
            if not is_namespace_terminating(err):
                await self.events.record(
                    owner, WARNING, "FailedCreate", f"Error creating: {err.message}"
                )
            raise
        await self.events.record(
            owner, NORMAL, "SuccessfulCreate", f"Created pod: {_meta(created).get('name')}"
        )
        return created

    async def delete(self, owner: Obj, pod: Obj) -> None:
        """Delete `pod`. NotFound (gone already) is raised as it is; any other
        failure after a FailedDelete event."""
        name = _meta(pod).get("name") or ""
        try:
            await self.api.delete(PODS, name, _meta(pod).get("namespace"))
        except NotFound:
            raise
        except ApiError as err:
            await self.events.record(
                owner, WARNING, "FailedDelete", f"Error deleting: {err.message}"
            )
            raise
        await self.events.record(owner, NORMAL, "SuccessfulDelete", f"Deleted pod: {name}")
