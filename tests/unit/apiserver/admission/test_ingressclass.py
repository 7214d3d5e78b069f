"""DefaultIngressClass: an Ingress without a class gets the newest default class."""

from __future__ import annotations

import asyncio
from typing import Any

from api.resources import INGRESSES
from apiserver.admission import CREATE, UPDATE, Attributes
from apiserver.admission.ingressclass import DefaultIngressClass
from apiserver.options import WriteOptions
from apiserver.requestinfo import RequestInfo


class FakeStorage:
    def __init__(self, classes: list[dict[str, Any]]) -> None:
        self.classes = classes

    async def list(self, prefix: str) -> tuple[list[dict[str, Any]], int]:
        assert prefix.startswith("/registry/ingressclasses")
        return self.classes, 1


def ingress_class(name: str, created: str, default: bool) -> dict[str, Any]:
    annotations = {"ingressclass.kubernetes.io/is-default-class": "true"} if default else {}
    return {"metadata": {"name": name, "creationTimestamp": created, "annotations": annotations}}


def admit(classes: list[dict[str, Any]], ingress: dict[str, Any], op: str = CREATE) -> dict:
    plugin = DefaultIngressClass(FakeStorage(classes))  # type: ignore[arg-type]
    a = Attributes(op, RequestInfo(INGRESSES, "default", None, None), ingress, None, WriteOptions())
    if plugin.handles(a):
        asyncio.run(plugin.admit(a))
    return ingress


CLASSES = [
    ingress_class("old", "2026-01-01T00:00:00Z", True),
    ingress_class("b-new", "2026-02-01T00:00:00Z", True),
    ingress_class("a-new", "2026-02-01T00:00:00Z", True),
    ingress_class("newest-not-default", "2026-03-01T00:00:00Z", False),
]


def test_the_newest_default_class_is_set_ties_by_name() -> None:
    ing = admit(CLASSES, {"metadata": {"name": "x"}, "spec": {}})
    assert ing["spec"]["ingressClassName"] == "a-new"


def test_a_class_already_named_or_annotated_is_kept() -> None:
    ing = admit(CLASSES, {"metadata": {"name": "x"}, "spec": {"ingressClassName": "other"}})
    assert ing["spec"]["ingressClassName"] == "other"
    annotated = {
        "metadata": {"name": "x", "annotations": {"kubernetes.io/ingress.class": "nginx"}},
        "spec": {},
    }
    assert "ingressClassName" not in admit(CLASSES, annotated)["spec"]


def test_no_default_class_and_updates_leave_it_alone() -> None:
    assert "ingressClassName" not in admit(CLASSES[3:], {"metadata": {}, "spec": {}})["spec"]
    assert "ingressClassName" not in admit(CLASSES, {"metadata": {}, "spec": {}}, UPDATE)["spec"]
