"""Kubernetes Status errors: built by the server, rebuilt by clients."""

from __future__ import annotations

from api import errors


def test_namespace_terminating_is_told_apart_from_other_forbidden_answers():
    err = errors.namespace_terminating("shop")
    assert err.code == 403 and "namespace shop because it is being terminated" in err.message
    rebuilt = errors.ApiError.from_status(403, err.status())  # as a client sees it
    assert errors.is_namespace_terminating(rebuilt)
    assert not errors.is_namespace_terminating(errors.forbidden("being terminated"))
