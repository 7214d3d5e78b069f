"""find_resource: a kind the static table does not know, from an APIResourceList,
with the subresources listed beside it (`widgets/scale`)."""

from __future__ import annotations

import asyncio
from typing import Any

from api.errors import ApiError
from client.discovery import find_resource

LISTED = {
    "kind": "APIResourceList",
    "groupVersion": "x.io/v1",
    "resources": [
        {"name": "widgets", "singularName": "widget", "kind": "Widget", "namespaced": True,
         "shortNames": ["wdg"], "verbs": ["get", "list"]},
        {"name": "widgets/status", "kind": "Widget", "namespaced": True, "verbs": ["get"]},
        {"name": "widgets/scale", "kind": "Scale", "namespaced": True, "verbs": ["get"]},
        {"name": "gadgets", "kind": "Gadget", "namespaced": False, "verbs": ["get"]},
    ],
}  # fmt: skip


class Api:
    """Answers one discovery path; anything else is a 404, as the apiserver answers
    a group version it does not serve."""

    async def get_path(self, path: str) -> dict[str, Any]:
        if path == "/apis/x.io/v1":
            return LISTED
        raise ApiError(404, f"{path} not found")


def find(api_version: str, kind: str):
    return asyncio.run(find_resource(Api(), api_version, kind))


def test_a_custom_kind_with_its_subresources():
    widgets = find("x.io/v1", "Widget")
    assert widgets is not None
    assert (widgets.group, widgets.version, widgets.plural) == ("x.io", "v1", "widgets")
    assert widgets.namespaced and widgets.short_names == ("wdg",)
    assert widgets.subresources == ("status", "scale")
    gadgets = find("x.io/v1", "Gadget")
    assert gadgets is not None and not gadgets.namespaced and gadgets.subresources == ()


def test_unknown_kinds_and_versions_are_none():
    assert find("x.io/v1", "Scale") is None  # only a subresource's kind
    assert find("x.io/v2", "Widget") is None
    assert find("apps/v1", "Deployment").subresources == ("status", "scale")  # built in
