"""controller.util.revisions: a workload's revision history against a fake API."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest

from api.errors import AlreadyExists
from api.resources import STATEFULSETS
from controller.util import history
from controller.util.revisions import HashCollision, RevisionHistory
from tests.unit.controller.statefulset.builders import statefulset

Obj = dict[str, Any]


class FakeApi:
    def __init__(self) -> None:
        self.revisions: dict[str, Obj] = {}
        self.deleted: list[str] = []
        self.status_writes: list[Obj] = []

    async def create(self, res: Any, obj: Obj, namespace: str | None = None) -> Obj:
        name = obj["metadata"]["name"]
        if name in self.revisions:
            raise AlreadyExists(409, f'"{name}" already exists', "AlreadyExists", {})
        self.revisions[name] = copy.deepcopy(obj)
        return obj

    async def get(self, res: Any, name: str, namespace: str | None = None) -> Obj:
        return self.revisions[name]

    async def update(self, res: Any, obj: Obj) -> Obj:
        self.revisions[obj["metadata"]["name"]] = copy.deepcopy(obj)
        return obj

    async def update_status(self, res: Any, obj: Obj) -> Obj:
        self.status_writes.append(obj["status"])
        return obj

    async def delete(self, res: Any, name: str, namespace: str | None = None) -> Obj:
        self.deleted.append(name)
        self.revisions.pop(name, None)
        return {}


def image(sts: Obj, value: str) -> Obj:
    sts = copy.deepcopy(sts)
    sts["spec"]["template"]["spec"]["containers"][0]["image"] = value
    return sts


def test_a_new_template_gets_a_revision_and_an_undo_renumbers_the_old_one():
    api = FakeApi()
    revisions = RevisionHistory(api, STATEFULSETS)  # type: ignore[arg-type]
    v1 = statefulset()
    current, old = asyncio.run(revisions.construct(v1, []))
    assert (current["revision"], old) == (1, [])
    assert current["metadata"]["ownerReferences"][0]["kind"] == "StatefulSet"
    v2 = image(v1, "busybox:2")
    second, old = asyncio.run(revisions.construct(v2, [current]))
    assert second["revision"] == 2 and old == [current]
    # back to v1 (rollout undo): the old revision is reused as revision 3
    third, old = asyncio.run(revisions.construct(v1, [current, second]))
    assert third["metadata"]["name"] == current["metadata"]["name"]
    assert third["revision"] == 3 and old == [second]


def test_trimming_keeps_the_limit_and_live_revisions():
    api = FakeApi()
    revisions = RevisionHistory(api, STATEFULSETS)  # type: ignore[arg-type]
    sts = statefulset(revisionHistoryLimit=1)
    old = [history.snapshot(image(sts, f"b:{i}"), STATEFULSETS, i, f"h{i}") for i in (1, 2, 3)]
    asyncio.run(revisions.cleanup(sts, old, {"h1"}))
    assert api.deleted == [old[1]["metadata"]["name"], old[2]["metadata"]["name"]]


def test_a_hash_collision_bumps_the_collision_count():
    api = FakeApi()
    revisions = RevisionHistory(api, STATEFULSETS)  # type: ignore[arg-type]
    sts = statefulset()
    other = history.snapshot(image(sts, "other"), STATEFULSETS, 1, history.template_hash(sts))
    api.revisions[other["metadata"]["name"]] = other
    with pytest.raises(HashCollision):
        asyncio.run(revisions.construct(sts, []))
    assert api.status_writes[-1]["collisionCount"] == 1
