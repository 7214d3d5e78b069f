"""CertificateSigningRequest's REST strategy: the requestor comes from the caller,
the spec never changes, /status cannot touch Approved/Denied, /approval touches only
the conditions; condition timestamps as Kubernetes fills them."""

from __future__ import annotations

from apiserver.auth import User
from apiserver.strategies import CertificateSigningRequestStrategy

S = CertificateSigningRequestStrategy()


def stored() -> dict:
    return {
        "metadata": {"name": "x", "resourceVersion": "5"},
        "spec": {"request": "AAAA", "signerName": "example.com/s", "username": "ann"},
        "status": {
            "conditions": [
                {
                    "type": "Approved",
                    "status": "True",
                    "lastUpdateTime": "2026-01-01T00:00:00Z",
                    "lastTransitionTime": "2026-01-01T00:00:00Z",
                }
            ]
        },
    }


def test_requestor_from_the_caller():
    obj = {"spec": {"username": "mallory", "groups": ["system:masters"], "extra": {"a": ["b"]}}}
    S.prepare_create(obj)
    S.set_requestor(obj, User("ann", "u1", ("team", "system:authenticated"), (("k", ("v",)),)))
    assert obj["spec"] == {
        "username": "ann",
        "uid": "u1",
        "groups": ["team", "system:authenticated"],
        "extra": {"k": ["v"]},
    }
    assert obj["status"] == {}
    anonymous_write = {"spec": {"username": "mallory"}}
    S.set_requestor(anonymous_write, None)
    assert anonymous_write["spec"] == {}


def test_update_keeps_spec_and_status():
    old = stored()
    new = {**stored(), "spec": {"request": "BBBB"}, "status": {}}
    S.prepare_update(new, old)
    assert new["spec"] == old["spec"] and new["status"] == old["status"]


def test_status_keeps_the_decision_and_writes_the_rest():
    old = stored()
    new = {
        **stored(),
        "spec": {"signerName": "changed"},
        "status": {"certificate": "Q0VSVA==", "conditions": [{"type": "Failed", "status": "True"}]},
    }
    result = S.prepare_status_update(new, old)
    assert result["spec"] == old["spec"]
    assert result["status"]["certificate"] == "Q0VSVA=="
    types = [c["type"] for c in result["status"]["conditions"]]
    assert types == ["Failed", "Approved"]
    failed = result["status"]["conditions"][0]
    assert failed["lastUpdateTime"] and failed["lastTransitionTime"]


def test_approval_writes_conditions_only():
    old = {**stored(), "status": {"certificate": "Q0VSVA=="}}
    new = {
        **stored(),
        "spec": {"signerName": "changed"},
        "status": {"certificate": "", "conditions": [{"type": "Denied", "reason": "No"}]},
    }
    result = S.prepare_approval_update(new, old)
    assert result["spec"] == old["spec"]
    assert result["status"]["certificate"] == "Q0VSVA=="
    (denied,) = result["status"]["conditions"]
    assert denied["status"] == "True"  # defaulted
    # the same type and status keep their transition time
    again = S.prepare_approval_update(
        {**stored(), "status": {"conditions": [{"type": "Approved", "status": "True"}]}}, stored()
    )
    assert again["status"]["conditions"][0]["lastTransitionTime"] == "2026-01-01T00:00:00Z"
