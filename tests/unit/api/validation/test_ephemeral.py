from __future__ import annotations

import copy
from typing import Any

from api.defaults import apply_defaults
from api.validation import validate, validate_ephemeral_write


def pod(*ephemeral: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "containers": [{"name": "c", "image": "busybox"}],
        "terminationGracePeriodSeconds": 30,
    }
    if ephemeral:
        spec["ephemeralContainers"] = copy.deepcopy(list(ephemeral))  # DEBUG stays as written
    obj = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "namespace": "ns"}}
    obj["spec"] = spec
    apply_defaults("Pod", obj)
    return obj


DEBUG = {"name": "dbg", "image": "busybox", "targetContainerName": "c"}


def fields(causes: list[dict]) -> list[tuple[str, str]]:
    return [(c["field"], c["reason"]) for c in causes]


def test_an_addition_is_valid() -> None:
    assert validate_ephemeral_write(pod(DEBUG), pod()) == []
    second = {"name": "dbg2", "image": "busybox"}
    assert validate_ephemeral_write(pod(DEBUG, second), pod(DEBUG)) == []


def test_existing_ones_may_not_change_or_go() -> None:
    changed = {**pod(DEBUG)["spec"]["ephemeralContainers"][0], "image": "other"}
    causes = validate_ephemeral_write(pod(changed), pod(DEBUG))
    assert fields(causes) == [("spec.ephemeralContainers[0]", "FieldValueForbidden")]
    assert 'existing ephemeral containers "dbg" may not be changed' in causes[0]["message"]
    removed = validate_ephemeral_write(pod(), pod(DEBUG))
    assert fields(removed) == [("spec.ephemeralContainers", "FieldValueForbidden")]


def test_names_fields_and_target() -> None:
    clash = {"name": "c", "image": "busybox"}
    assert ("spec.ephemeralContainers[0].name", "FieldValueDuplicate") in fields(
        validate_ephemeral_write(pod(clash), pod())
    )
    ported = {**DEBUG, "ports": [{"containerPort": 80}], "resources": {"limits": {"cpu": "1"}}}
    found = fields(validate_ephemeral_write(pod(ported), pod()))
    assert ("spec.ephemeralContainers[0].ports", "FieldValueForbidden") in found
    assert ("spec.ephemeralContainers[0].resources", "FieldValueForbidden") in found
    lost = {**DEBUG, "targetContainerName": "nope"}
    assert fields(validate_ephemeral_write(pod(lost), pod())) == [
        ("spec.ephemeralContainers[0].targetContainerName", "FieldValueNotFound")
    ]
    nameless = {"image": "busybox"}
    assert ("spec.ephemeralContainers[0].name", "FieldValueRequired") in fields(
        validate_ephemeral_write(pod(nameless), pod())
    )


def test_a_plain_pod_update_may_not_add_them() -> None:
    old = pod()
    new = copy.deepcopy(old)
    new["spec"]["ephemeralContainers"] = pod(DEBUG)["spec"]["ephemeralContainers"]
    assert [c["field"] for c in validate("Pod", new, old)] == ["spec"]


def test_ephemeral_containers_cannot_be_set_on_create():
    from api.defaults import apply_defaults
    from api.validation import validate

    pod = {
        "metadata": {"name": "p", "namespace": "d"},
        "spec": {
            "containers": [{"name": "c", "image": "busybox"}],
            "ephemeralContainers": [{"name": "dbg", "image": "busybox"}],
        },
    }
    apply_defaults("Pod", pod)
    causes = validate("Pod", pod)
    assert {"field": "spec.ephemeralContainers", "message": "Forbidden: cannot be set on create",
            "reason": "FieldValueForbidden"} in causes  # fmt: skip
    assert not [c for c in validate("Pod", pod, pod) if c["field"] == "spec.ephemeralContainers"]
