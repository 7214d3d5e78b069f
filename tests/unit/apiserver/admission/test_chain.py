"""The admission chain: every mutating plugin before any validating one, plugins that
do not handle a write are skipped, and DefaultTolerationSeconds' additions."""

from __future__ import annotations

import asyncio
from typing import Any

from api.resources import find
from apiserver.admission import CREATE, UPDATE, Admission, Attributes, Plugin
from apiserver.admission.tolerations import DefaultTolerationSeconds
from apiserver.options import WriteOptions
from apiserver.requestinfo import RequestInfo


def _attributes(operation: str, plural: str = "pods") -> Attributes:
    resource = find("", "v1", plural)
    assert resource is not None
    info = RequestInfo(resource, "default", None, None)
    return Attributes(
        operation, info, {"metadata": {"name": "p"}, "spec": {}}, None, WriteOptions()
    )


class Recorder(Plugin):
    def __init__(self, name: str, calls: list[str], operation: str = CREATE) -> None:
        super().__init__(storage=None)  # type: ignore[arg-type]
        self.name, self.calls, self.operation = name, calls, operation

    def handles(self, a: Attributes) -> bool:
        return a.operation == self.operation

    async def admit(self, a: Attributes) -> None:
        self.calls.append(f"admit {self.name}")

    async def validate(self, a: Attributes) -> None:
        self.calls.append(f"validate {self.name}")


def _chain(plugins: list[Any]) -> Admission:
    admission = Admission.__new__(Admission)
    admission.plugins = plugins
    return admission


def test_mutating_plugins_all_run_before_validating_ones() -> None:
    calls: list[str] = []
    chain = _chain([Recorder("a", calls), Recorder("b", calls), Recorder("u", calls, UPDATE)])
    a = _attributes(CREATE)
    asyncio.run(chain.admit(a))
    asyncio.run(chain.validate(a))
    assert calls == ["admit a", "admit b", "validate a", "validate b"]


def test_default_toleration_seconds_adds_both_unless_covered() -> None:
    plugin = DefaultTolerationSeconds(None, 300, 200)  # type: ignore[arg-type]
    a = _attributes(CREATE)
    a.obj["spec"]["tolerations"] = [{"operator": "Exists"}]  # tolerates everything
    assert plugin.handles(a)
    asyncio.run(plugin.admit(a))
    assert a.obj["spec"]["tolerations"] == [{"operator": "Exists"}]

    b = _attributes(CREATE)
    asyncio.run(plugin.admit(b))
    seconds = {t["key"]: t["tolerationSeconds"] for t in b.obj["spec"]["tolerations"]}
    assert seconds == {
        "node.kubernetes.io/not-ready": 300,
        "node.kubernetes.io/unreachable": 200,
    }
    assert not plugin.handles(_attributes(UPDATE))
    assert not plugin.handles(_attributes(CREATE, "services"))
