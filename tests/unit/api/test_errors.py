"""Kubernetes Status errors: built by the server, rebuilt by clients."""

from __future__ import annotations

from api import errors


def test_namespace_terminating_is_told_apart_from_other_forbidden_answers():
    err = errors.namespace_terminating("shop")
    assert err.code == 403 and "namespace shop because it is being terminated" in err.message
    rebuilt = errors.ApiError.from_status(403, err.status())  # as a client sees it
    assert errors.is_namespace_terminating(rebuilt)
    assert not errors.is_namespace_terminating(errors.forbidden("being terminated"))


def test_statuses_carry_details_where_kubernetes_constructors_fill_them():
    generic = errors.ApiError(404, "the server could not find the requested resource")
    assert generic.status()["details"] == {}
    assert errors.method_not_allowed("no").status()["details"] == {}
    assert "details" not in errors.bad_request("bad").status()  # NewBadRequest has none
    named = errors.not_found("pods", "p").status()["details"]
    assert named == {"name": "p", "kind": "pods"}
