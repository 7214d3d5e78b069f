"""api.bootstraptoken: which Secrets authenticate which bearer tokens."""

from __future__ import annotations

import base64

from api import bootstraptoken as bt
from api.timefmt import parse_time


def secret(**data: str) -> dict:
    values = {
        "token-id": "abcdef",
        "token-secret": "0123456789abcdef",
        "usage-bootstrap-authentication": "true",
        **data,
    }
    return {
        "type": bt.SECRET_TYPE,
        "metadata": {"name": "bootstrap-token-abcdef", "namespace": "kube-system"},
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in values.items()},
    }


def test_parse_token():
    assert bt.parse_token("abcdef.0123456789abcdef") == ("abcdef", "0123456789abcdef")
    assert bt.parse_token("ABCDEF.0123456789abcdef") is None
    assert bt.parse_token("abcdef.0123456789abcde") is None
    assert bt.parse_token("a.b.c") is None


def test_authentication_problems():
    now = parse_time("2026-01-01T00:00:00Z") or 0.0
    ok = ("abcdef", "0123456789abcdef", now)
    assert bt.authentication_problem(secret(), *ok) is None
    assert bt.authentication_problem(secret(), "abcdef", "x" * 16, now) == (
        "has invalid value for key token-secret."
    )
    assert bt.authentication_problem(secret(**{"token-id": "zzzzzz"}), *ok) == (
        "has invalid value for key token-id."
    )
    assert (
        bt.authentication_problem(secret(expiration="2025-12-31T23:59:59Z"), *ok) == "has expired."
    )
    assert bt.authentication_problem(secret(expiration="2026-01-01T00:00:01Z"), *ok) is None
    assert bt.authentication_problem(secret(expiration="soon"), *ok) == "has expired."
    unused = secret(**{"usage-bootstrap-authentication": "false"})
    assert bt.authentication_problem(unused, *ok) == (
        "not marked usage-bootstrap-authentication=true."
    )
    wrong_type = {**secret(), "type": "Opaque"}
    assert bt.authentication_problem(wrong_type, *ok) == (
        "has invalid type, expected bootstrap.kubernetes.io/token."
    )
    deleting = secret()
    deleting["metadata"]["deletionTimestamp"] = "2025-12-31T00:00:00Z"
    assert bt.authentication_problem(deleting, *ok) == "is deleted and awaiting removal"
    bad_group = secret(**{"auth-extra-groups": "system:bootstrappers:ok,admins"})
    assert (bt.authentication_problem(bad_group, *ok) or "").startswith(
        "has invalid value for key auth-extra-groups"
    )


def test_groups_are_sorted_and_include_the_default():
    extra = secret(**{"auth-extra-groups": "system:bootstrappers:z, system:bootstrappers:a"})
    assert bt.groups(extra) == [
        "system:bootstrappers",
        "system:bootstrappers:a",
        "system:bootstrappers:z",
    ]
    assert bt.groups(secret()) == ["system:bootstrappers"]
