import json

import pytest

from api.credentials import bearer_token
from componentbase import delegatedauth
from componentbase.delegatedauth import Caller, Verdict, _Cache, access_review
from componentbase.metrics import refusal


@pytest.mark.parametrize(
    ("header", "token"),
    [
        ("Bearer abc", "abc"),
        ("bearer  abc ", "abc"),
        ("Basic dXNlcjpwdw==", None),
        ("Bearer", None),
        ("", None),
        (None, None),
    ],
)
def test_bearer_token(header, token):
    assert bearer_token(header) == token


def test_access_review_carries_the_whole_caller():
    caller = Caller("jane", ("dev", "system:authenticated"), "u-1", {"scopes": ["a"]})
    review = access_review(caller, {"nonResourceAttributes": {"path": "/metrics", "verb": "get"}})
    assert review == {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": "jane",
            "groups": ["dev", "system:authenticated"],
            "uid": "u-1",
            "extra": {"scopes": ["a"]},
            "nonResourceAttributes": {"path": "/metrics", "verb": "get"},
        },
    }


def test_cache_forgets_after_its_ttl(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(delegatedauth.time, "monotonic", lambda: now[0])
    cache = _Cache(10)
    cache.put("k", "v")
    now[0] += 9.9
    assert cache.get("k") == "v"
    now[0] += 0.2
    assert cache.get("k") is None


def test_cache_is_bounded(monkeypatch):
    monkeypatch.setattr(delegatedauth, "MAX_CACHED", 3)
    cache = _Cache(10)
    for key in "abcd":
        cache.put(key, key)
    assert cache.get("a") is None  # the oldest went first
    assert [cache.get(k) for k in "bcd"] == ["b", "c", "d"]


@pytest.mark.parametrize(
    ("verdict", "line", "reason"),
    [
        (Verdict(401, "Unauthorized"), "401 Unauthorized", "Unauthorized"),
        (Verdict(403, 'forbidden: User "x"'), "403 Forbidden", "Forbidden"),
    ],
)
def test_refusals_are_kubernetes_status_objects(verdict, line, reason):
    status_line, content_type, body = refusal(verdict)
    assert (status_line, content_type) == (line, "application/json")
    status = json.loads(body)
    assert status["kind"] == "Status" and status["status"] == "Failure"
    assert (status["reason"], status["code"], status["message"]) == (
        reason,
        verdict.code,
        verdict.reason,
    )
