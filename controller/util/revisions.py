"""The writes of a workload's ControllerRevision history (Kubernetes'
controller/history.Interface as the DaemonSet and StatefulSet controllers drive it):
make sure the current template has its revision, renumber it when an undo brings an
old template back, drop duplicates, and trim the history to revisionHistoryLimit."""

from __future__ import annotations

import copy
from typing import Any

from api.errors import AlreadyExists, NotFound
from api.resources import CONTROLLERREVISIONS, Resource
from client.rest import AsyncClient
from controller.util import history
from controller.util.controllerref import meta
from controller.util.history import REVISION_HASH

Obj = dict[str, Any]


class HashCollision(RuntimeError):
    """Two templates hashed alike; the sync is retried with the bumped collisionCount."""


class RevisionHistory:
    """One owner kind's revisions (DaemonSet, StatefulSet)."""

    def __init__(self, api: AsyncClient, owner_resource: Resource) -> None:
        self.api = api
        self.resource = owner_resource
        self.kind = owner_resource.kind

    async def construct(self, owner: Obj, revisions: list[Obj]) -> tuple[Obj, list[Obj]]:
        """(the revision of the current template, the older ones); creates the current
        one when the template is new and renumbers it when an undo brought it back."""
        labelled = []
        for revision in revisions:
            if REVISION_HASH not in (meta(revision).get("labels") or {}):
                # Kubernetes labels an unlabelled revision with its name, not a new hash.
                revision = copy.deepcopy(revision)
                labels = revision["metadata"].setdefault("labels", {})
                labels[REVISION_HASH] = meta(revision)["name"]
                revision = await self.api.update(CONTROLLERREVISIONS, revision)
            labelled.append(revision)
        matching, old = history.split(self.kind, owner, labelled)
        number = history.max_revision(old) + 1
        if not matching:
            return await self._snapshot(owner, number), old
        current = history.newest(matching)
        for duplicate in matching:
            if duplicate is not current:
                await self.delete(duplicate)
        if history.revision_number(current) < number:
            current = await self.api.update(CONTROLLERREVISIONS, {**current, "revision": number})
        return current, old

    async def _snapshot(self, owner: Obj, number: int) -> Obj:
        revision = history.snapshot(owner, self.resource, number, history.template_hash(owner))
        namespace = meta(owner).get("namespace")
        try:
            return await self.api.create(CONTROLLERREVISIONS, revision, namespace)
        except AlreadyExists:
            existing = await self.api.get(CONTROLLERREVISIONS, meta(revision)["name"], namespace)
            if history.matches(self.kind, owner, existing):
                return existing
        # A different template hashed to the same name: bump collisionCount and retry.
        status = dict(owner.get("status") or {})
        status["collisionCount"] = int(status.get("collisionCount") or 0) + 1
        await self.api.update_status(self.resource, {**owner, "status": status})
        raise HashCollision(
            f"hash collision for {self.kind.lower()} {meta(owner).get('name')}, retrying"
        )

    async def delete(self, revision: Obj) -> None:
        try:
            await self.api.delete(
                CONTROLLERREVISIONS, meta(revision)["name"], meta(revision).get("namespace")
            )
        except NotFound:
            pass

    async def cleanup(self, owner: Obj, old: list[Obj], live_hashes: set[str]) -> None:
        """Delete the oldest revisions beyond revisionHistoryLimit (default 10) that no
        live pod runs."""
        limit = (owner.get("spec") or {}).get("revisionHistoryLimit")
        for revision in history.to_clean(old, limit if isinstance(limit, int) else 10, live_hashes):
            await self.delete(revision)
