"""api.validation.validate: the dispatch by kind, the odd shapes it tolerates, and how its
causes fit the Invalid Status."""

from api.errors import invalid as invalid_error
from api.validation import validate
from tests.unit.api.validation.objects import defaulted, make_deployment, make_pod, make_service


def test_valid_objects_have_no_causes():
    assert validate("Pod", make_pod()) == []
    assert validate("Deployment", make_deployment()) == []
    assert validate("ReplicaSet", make_deployment("ReplicaSet")) == []
    assert validate("Service", make_service()) == []
    ns = defaulted("Namespace", {"metadata": {"name": "team-a"}})
    assert validate("Namespace", ns) == []


def test_odd_shapes_do_not_crash():
    for obj in ({}, {"spec": "x"}, {"metadata": [], "spec": {"containers": [None, 3]}}):
        for kind in ("Pod", "Deployment", "Service", "Node", "Endpoints", "Event", "Lease"):
            assert isinstance(validate(kind, obj), list)
            assert isinstance(validate(kind, obj, obj), list)


def test_causes_fit_the_invalid_status_builder():
    pod = make_pod()
    pod["spec"]["containers"] = []
    err = invalid_error("Pod", "web", validate("Pod", pod))
    assert err.code == 422
    assert err.message == 'Pod "web" is invalid: spec.containers: Required value'
