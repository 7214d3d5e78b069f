"""The Priority admission plugin: pods get their class's priority and policy (or the
global default's, or 0), unknown classes and conflicting priorities are refused with
Kubernetes' messages, and only one class may be the global default."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from api import errors
from api.resources import PODS, PRIORITYCLASSES, Resource
from apiserver.admission import CREATE, UPDATE, Attributes
from apiserver.admission.priority import Priority
from apiserver.options import WriteOptions
from apiserver.requestinfo import RequestInfo


class FakeStorage:
    """The two reads the plugin makes, over a dict of PriorityClasses by name."""

    def __init__(self, *classes: dict[str, Any]) -> None:
        self.classes = {c["metadata"]["name"]: c for c in classes}

    async def list(self, prefix: str) -> tuple[list[dict[str, Any]], int]:
        assert prefix.startswith("/registry/priorityclasses")
        return list(self.classes.values()), 1

    async def get(self, key: str) -> dict[str, Any] | None:
        return self.classes.get(key.rsplit("/", 1)[-1])


def pc(name: str, value: int, default: bool = False, policy: str | None = None) -> dict:
    obj: dict[str, Any] = {"metadata": {"name": name}, "value": value, "globalDefault": default}
    if policy:
        obj["preemptionPolicy"] = policy
    return obj


def attrs(
    obj: dict, operation: str = CREATE, res: Resource = PODS, old: dict | None = None
) -> Attributes:
    ns = "default" if res.namespaced else None
    return Attributes(operation, RequestInfo(res, ns, None, None), obj, old, WriteOptions())


def pod(**spec: Any) -> dict:
    return {"metadata": {"name": "p", "namespace": "default"}, "spec": {"containers": [], **spec}}


def admit(plugin: Priority, a: Attributes) -> dict:
    assert plugin.handles(a)
    asyncio.run(plugin.admit(a))
    return a.obj["spec"]


def test_class_resolves_into_priority_and_policy() -> None:
    plugin = Priority(FakeStorage(pc("high", 1000, policy="Never")))  # type: ignore[arg-type]
    spec = admit(plugin, attrs(pod(priorityClassName="high")))
    assert (spec["priority"], spec["preemptionPolicy"]) == (1000, "Never")


def test_no_class_takes_the_lowest_global_default_else_zero() -> None:
    plugin = Priority(FakeStorage())  # type: ignore[arg-type]
    spec = admit(plugin, attrs(pod()))
    assert (spec["priority"], spec["preemptionPolicy"]) == (0, "PreemptLowerPriority")
    assert "priorityClassName" not in spec
    plugin = Priority(FakeStorage(pc("a", 50, True), pc("b", 7, True), pc("c", 1)))  # type: ignore[arg-type]
    spec = admit(plugin, attrs(pod()))
    assert (spec["priorityClassName"], spec["priority"]) == ("b", 7)


def test_unknown_class_and_conflicting_values_are_forbidden() -> None:
    plugin = Priority(FakeStorage(pc("high", 1000, policy="PreemptLowerPriority")))  # type: ignore[arg-type]
    with pytest.raises(errors.ApiError) as err:
        admit(plugin, attrs(pod(priorityClassName="nope")))
    assert err.value.code == 403
    assert err.value.message == 'pods "p" is forbidden: no PriorityClass with name nope was found'
    with pytest.raises(errors.ApiError) as err:
        admit(plugin, attrs(pod(priorityClassName="high", priority=5)))
    assert err.value.message == (
        'pods "p" is forbidden: the integer value of priority (5) must not be provided in pod '
        "spec; priority admission controller computed 1000 from the given PriorityClass name"
    )
    with pytest.raises(errors.ApiError) as err:
        admit(plugin, attrs(pod(priorityClassName="high", preemptionPolicy="Never")))
    assert "the string value of PreemptionPolicy (Never) must not be provided" in str(err.value)
    spec = admit(plugin, attrs(pod(priorityClassName="high", priority=1000)))
    assert spec["priority"] == 1000


def test_update_keeps_the_stored_priority() -> None:
    plugin = Priority(FakeStorage(pc("d", 9, True)))  # type: ignore[arg-type]
    old = pod(priorityClassName="d", priority=9, preemptionPolicy="PreemptLowerPriority")
    spec = admit(plugin, attrs(pod(priorityClassName="d"), UPDATE, old=old))
    assert (spec["priority"], spec["preemptionPolicy"]) == (9, "PreemptLowerPriority")


def test_only_one_global_default() -> None:
    plugin = Priority(FakeStorage(pc("first", 1, True)))  # type: ignore[arg-type]
    second = attrs(pc("second", 2, True), res=PRIORITYCLASSES)
    assert plugin.handles(second)
    with pytest.raises(errors.ApiError) as err:
        asyncio.run(plugin.validate(second))
    assert err.value.code == 403
    assert err.value.message == (
        'priorityclasses.scheduling.k8s.io "second" is forbidden: PriorityClass first is '
        "already marked as default. Only one default can exist"
    )
    # the default itself may be updated; a non-default class is never refused
    asyncio.run(plugin.validate(attrs(pc("first", 1, True), UPDATE, PRIORITYCLASSES)))
    asyncio.run(plugin.validate(attrs(pc("third", 3), CREATE, PRIORITYCLASSES)))
