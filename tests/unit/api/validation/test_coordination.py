"""api.validation.coordination: Leases."""

from api.validation import validate
from tests.unit.api.validation.objects import fields


def test_lease():
    lease = {"metadata": {"name": "l", "namespace": "kube-system"}, "spec": {}}
    assert validate("Lease", lease) == []
    lease["spec"] = {"leaseDurationSeconds": 0, "leaseTransitions": -1}
    assert fields(validate("Lease", lease)) == [
        "spec.leaseDurationSeconds",
        "spec.leaseTransitions",
    ]
