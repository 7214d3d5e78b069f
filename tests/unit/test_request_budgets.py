"""The pure parts of issue 11's budgets: go-yaml's alias rule, YAML and JSON depth,
JSON patch copy accounting, integer widths (the apiserver's behaviour is tested
against a real server in tests/security)."""

from __future__ import annotations

import itertools

import pytest

from api import errors, schema
from api.patch import json_patch
from api.patch.merge import MAX_ACCUMULATED_COPY_BYTES
from apiserver import codec, safeyaml


def _bomb(levels: int) -> str:
    names = "abcdefghij"[:levels]
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, cur in itertools.pairwise(names):
        lines.append(f"{cur}: &{cur} [{','.join([f'*{prev}'] * 9)}]")
    return "\n".join(lines)


def test_an_alias_bomb_is_refused_as_go_yaml_does() -> None:
    with pytest.raises(safeyaml.ExcessiveAliasing):
        safeyaml.safe_load(_bomb(9))


def test_ordinary_anchors_aliases_and_merge_keys_still_load() -> None:
    doc = "base: &b {app: web}\nx: *b\ny:\n  <<: *b\n  tier: db\nz: [*b, *b]\n"
    assert safeyaml.safe_load(doc) == {
        "base": {"app": "web"},
        "x": {"app": "web"},
        "y": {"app": "web", "tier": "db"},
        "z": [{"app": "web"}, {"app": "web"}],
    }
    assert safeyaml.safe_load(_bomb(3)) is not None  # 729 strings: below go-yaml's floor


def test_an_alias_of_its_own_anchor_is_refused() -> None:
    with pytest.raises(safeyaml.ExcessiveAliasing):
        safeyaml.safe_load("a: &a [1, *a]")


def test_allowed_alias_ratio_follows_go_yaml() -> None:
    assert safeyaml.allowed_alias_ratio(1000) == 0.99
    assert safeyaml.allowed_alias_ratio(4_000_000) == 0.10
    assert 0.10 < safeyaml.allowed_alias_ratio(2_000_000) < 0.99


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"[" * 201 + b"]" * 201, "application/json"),
        (b"a: " + b"[" * 201 + b"]" * 201, "application/yaml"),
        (b"a: " + b"{b: " * 201 + b"}" * 201, "application/yaml"),
        (b'{"a": "\\ud800"}', "application/json"),
        (b'{"a": Infinity}', "application/json"),
        (b'{"a": 1e999}', "application/json"),
    ],
)
def test_malformed_bodies_are_bad_requests(body: bytes, content_type: str) -> None:
    with pytest.raises(errors.ApiError) as caught:
        codec.decode_body(body, content_type)
    assert caught.value.code == 400


def test_nesting_up_to_the_limit_and_surrogate_pairs_decode() -> None:
    assert codec.decode_body(b"[" * 200 + b"]" * 200, "application/json")
    assert codec.decode_body(b'{"a": "\\ud83d\\ude00"}', "application/json") == {"a": "😀"}


def test_json_patch_copies_are_bounded_by_their_accumulated_size() -> None:
    doc = {"metadata": {"name": "x"}}
    ops: list[dict] = [{"op": "add", "path": "/metadata/labels", "value": {"k": "v" * 40}}]
    ops += [
        {"op": "copy", "from": "/metadata/labels", "path": f"/metadata/labels/k{i}"}
        for i in range(30)
    ]
    with pytest.raises(errors.ApiError) as caught:
        json_patch(doc, ops)
    assert caught.value.code == 422
    assert str(MAX_ACCUMULATED_COPY_BYTES) in caught.value.causes[0]["message"]
    small = json_patch(doc, [{"op": "copy", "from": "/metadata/name", "path": "/metadata/n"}])
    assert small["metadata"]["n"] == "x"


def test_integer_fields_are_checked_against_their_go_width() -> None:
    assert schema.int_format("V1DeploymentSpec", "replicas") == "int32"
    assert schema.int_format("V1PodSpec", "terminationGracePeriodSeconds") == "int64"
    ok = {"spec": {"replicas": 2**31 - 1}}
    assert schema.type_errors("apps/v1", "Deployment", ok) == []
    causes = schema.type_errors("apps/v1", "Deployment", {"spec": {"replicas": 2**31}})
    assert [c["field"] for c in causes] == ["spec.replicas"]
    limits = {"spec": {"containers": [{"resources": {"limits": {"cpu": 2**70}}}]}}
    assert schema.type_errors("v1", "Pod", limits) == []  # a Quantity has no width
