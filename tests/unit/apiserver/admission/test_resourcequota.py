"""The ResourceQuota plugin's charging loop against a fake store: a conflicting quota
write is retried against the fresh quota, quotas already charged are not charged twice,
dry runs and taken names charge nothing, and refusals are 403s with Kubernetes' text."""

from __future__ import annotations

import asyncio
import copy
from typing import Any

import pytest

from api import errors
from api.resources import find
from apiserver.admission import CREATE, Attributes
from apiserver.admission.resourcequota import ResourceQuota
from apiserver.options import WriteOptions
from apiserver.requestinfo import RequestInfo
from apiserver.storage import RevisionMismatch

Obj = dict[str, Any]


class FakeStore:
    """Quotas by name with revisions; `interfere` bumps a quota's usage once, just
    before the plugin's first write to it (another apiserver charging meanwhile)."""

    def __init__(self, quotas: list[Obj], interfere: str = "") -> None:
        self.quotas = {q["metadata"]["name"]: q for q in quotas}
        self.revision = 10
        for q in quotas:
            q["metadata"]["resourceVersion"] = str(self.revision)
        self.interfere = interfere
        self.writes: list[str] = []
        self.existing: set[str] = set()

    async def list(self, prefix: str) -> tuple[list[Obj], int]:
        return [copy.deepcopy(q) for q in self.quotas.values()], self.revision

    async def exists(self, key: str) -> bool:
        return key.rsplit("/", 1)[-1] in self.existing

    async def update(self, key: str, obj: Obj, expected: int) -> Obj:
        name = key.rsplit("/", 1)[-1]
        if name == self.interfere:
            self.interfere = ""
            self._bump(name, "pods", 1)
        current = self.quotas[name]
        if int(current["metadata"]["resourceVersion"]) != expected:
            raise RevisionMismatch(copy.deepcopy(current))
        self.revision += 1
        obj["metadata"]["resourceVersion"] = str(self.revision)
        self.quotas[name] = obj
        self.writes.append(name)
        return obj

    def _bump(self, name: str, resource: str, by: int) -> None:
        q = self.quotas[name]
        used = q["status"]["used"]
        used[resource] = str(int(used[resource]) + by)
        self.revision += 1
        q["metadata"]["resourceVersion"] = str(self.revision)


def quota(name: str, hard: Obj, used: Obj) -> Obj:
    return {
        "metadata": {"name": name},
        "spec": {"hard": hard},
        "status": {"hard": hard, "used": used},
    }


def attributes(name: str = "p", dry_run: bool = False) -> Attributes:
    pods = find("", "v1", "pods")
    assert pods is not None
    pod = {"metadata": {"name": name, "namespace": "ns"}, "spec": {"containers": [{"name": "c"}]}}
    opts = WriteOptions()
    if dry_run:
        opts.dry_run = True
    return Attributes(CREATE, RequestInfo(pods, "ns", None, None), pod, None, opts)


def plugin(store: FakeStore) -> ResourceQuota:
    p = ResourceQuota(store)  # type: ignore[arg-type]
    p.cached.list = store_list(store)  # type: ignore[method-assign]
    return p


def store_list(store: FakeStore):
    async def listed(namespace: str) -> list[Obj]:
        return (await store.list(namespace))[0]

    return listed


def used(store: FakeStore, name: str) -> Obj:
    return store.quotas[name]["status"]["used"]


def test_a_conflict_is_retried_and_charged_quotas_are_not_charged_twice() -> None:
    store = FakeStore(
        [quota("a", {"pods": "5"}, {"pods": "1"}), quota("b", {"pods": "5"}, {"pods": "1"})],
        interfere="b",
    )
    asyncio.run(plugin(store).validate(attributes()))
    assert used(store, "a") == {"pods": "2"}
    assert used(store, "b") == {"pods": "3"}  # the other writer's 2, then ours
    assert store.writes == ["a", "b"]


def test_a_conflict_that_fills_the_quota_refuses() -> None:
    store = FakeStore([quota("q", {"pods": "2"}, {"pods": "1"})], interfere="q")
    with pytest.raises(errors.ApiError) as err:
        asyncio.run(plugin(store).validate(attributes()))
    assert err.value.code == 403
    assert err.value.message == (
        'pods "p" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2'
    )
    assert store.writes == []


def test_dry_runs_and_taken_names_charge_nothing() -> None:
    store = FakeStore([quota("q", {"pods": "2"}, {"pods": "0"})])
    asyncio.run(plugin(store).validate(attributes(dry_run=True)))
    store.existing.add("p")
    asyncio.run(plugin(store).validate(attributes()))
    assert store.writes == [] and used(store, "q") == {"pods": "0"}
