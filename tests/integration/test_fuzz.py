"""An API that fuzzing cannot break: schema-shaped but malformed bodies (wrong types,
nulls, odd Unicode, stray fields) and odd query parameters, sent to every write and
read verb of several kinds, always get an answer, and never a 5xx. Bounded and
seeded (hypothesis, derandomized), so a failure reproduces."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api import schema
from api.resources import CONFIGMAPS, DEPLOYMENTS, PODS, SERVICES, Resource

KINDS = (PODS, CONFIGMAPS, SERVICES, DEPLOYMENTS)
EXAMPLES = 400  # per test: a few thousand requests in all, well under a minute

# Text that breaks naive code: control characters, non-Latin-1, quotes, long runs.
odd_text = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", " ", "\n", '"', "\\", "☃", "é", "\x00", "a" * 300, "-1", "1.5"]),
)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.floats(allow_nan=False), odd_text
)
any_json = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(odd_text, inner, max_size=3)
    ),
    max_leaves=6,
)


def shaped(definition: str, depth: int = 0) -> st.SearchStrategy[Any]:
    """Objects with a random subset of the definition's fields, each either a value
    shaped by its schema or anything at all (wrong types, nulls)."""
    props = (schema.definitions().get(definition) or {}).get("properties") or {}
    if depth > 3 or not props:
        return st.dictionaries(odd_text, any_json, max_size=2)
    fields = {name: st.one_of(any_json, _for_property(node, depth)) for name, node in props.items()}
    return st.fixed_dictionaries({}, optional=fields)


def _for_property(node: dict, depth: int) -> st.SearchStrategy[Any]:
    if "$ref" in node:
        return st.deferred(lambda: shaped(node["$ref"], depth + 1))
    if node.get("type") == "array":
        return st.lists(_for_property(node.get("items") or {}, depth + 1), max_size=2)
    return any_json


def body_for(resource: Resource) -> st.SearchStrategy[dict]:
    root = schema.root_definition(resource.api_version, resource.kind)
    assert root is not None
    named = st.fixed_dictionaries(
        {"metadata": st.fixed_dictionaries({"name": st.sampled_from(["fz", "fz-2", "☃"])})}
    )
    return st.one_of(shaped(root), st.builds(lambda a, b: {**a, **b}, shaped(root), named))


def request_for(resource: Resource, namespace: str) -> st.SearchStrategy[tuple]:
    base = resource.base_path(namespace)
    query = st.dictionaries(
        st.sampled_from(
            ["labelSelector", "fieldSelector", "limit", "continue", "watch", "resourceVersion",
             "dryRun", "fieldManager", "fieldValidation", "gracePeriodSeconds",
             "propagationPolicy", "timeoutSeconds", "force"]
        ),
        odd_text,
        max_size=2,
    )  # fmt: skip
    patch_types = st.sampled_from(
        [
            "application/merge-patch+json",
            "application/strategic-merge-patch+json",
            "application/json-patch+json",
            "application/apply-patch+yaml",
        ]
    )
    return st.one_of(
        st.tuples(st.just("POST"), st.just(base), body_for(resource), query, st.none()),
        st.tuples(st.just("PUT"), st.just(f"{base}/fz"), body_for(resource), query, st.none()),
        st.tuples(st.just("PATCH"), st.just(f"{base}/fz"), any_json, query, patch_types),
        st.tuples(st.just("DELETE"), st.just(f"{base}/fz"), any_json, query, st.none()),
        st.tuples(st.just("DELETE"), st.just(base), any_json, query, st.none()),
        st.tuples(st.just("GET"), st.just(base), st.none(), query, st.none()),
    )


@pytest.mark.parametrize("resource", KINDS, ids=lambda r: r.plural)
def test_malformed_requests_always_get_a_4xx_status_never_a_5xx(
    http: httpx.Client, namespace: str, resource: Resource
) -> None:
    seen: dict[int, int] = {}

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(request_for(resource, namespace))
    def one(request: tuple) -> None:
        method, path, body, params, patch_type = request
        params = {k: v.replace("\x00", "") for k, v in params.items()}
        if params.get("watch") not in (None, "0", "false", "False", "FALSE"):
            params["timeoutSeconds"] = "1"
        headers = {"Content-Type": patch_type or "application/json"}
        content = None if body is None else json.dumps(body).encode()
        try:
            r = http.request(method, path, params=params, content=content, headers=headers,
                             timeout=10)  # fmt: skip
        except httpx.HTTPError as err:
            raise AssertionError(f"no answer to {method} {path} {params} {body!r}: {err}") from err
        seen[r.status_code] = seen.get(r.status_code, 0) + 1
        assert r.status_code < 500, (method, path, params, body, r.text[:300])
        if r.status_code >= 400 and not (method == "GET" and "watch" in params):
            assert r.json()["kind"] == "Status", r.text[:300]

    one()
    assert sum(seen.values()) >= EXAMPLES // 2
