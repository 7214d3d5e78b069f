"""kubectl's wording of a 422, from the Status details rather than its message."""

from __future__ import annotations

from api import errors
from minikctl.invalid import describe_invalid


def cause(field: str, message: str) -> dict:
    return {"field": field, "message": message, "reason": "FieldValueInvalid"}


def test_one_cause_names_the_bare_kind_while_the_message_qualifies_it() -> None:
    err = errors.invalid(
        "Deployment", "web", [cause("spec.replicas", "Invalid value: -1: bad")], "apps"
    )
    assert err.message == 'Deployment.apps "web" is invalid: spec.replicas: Invalid value: -1: bad'
    assert (
        describe_invalid(err)
        == 'The Deployment "web" is invalid: spec.replicas: Invalid value: -1: bad'
    )


def test_several_causes_are_listed_one_per_line() -> None:
    err = errors.invalid("Pod", "p", [cause("a", "x"), cause("b", "y")])
    assert err.message == 'Pod "p" is invalid: [a: x, b: y]'
    assert describe_invalid(err) == 'The Pod "p" is invalid: \n* a: x\n* b: y'


def test_without_details_the_message_stands() -> None:
    assert describe_invalid(errors.ApiError(422, "no good")) == "error: no good"
