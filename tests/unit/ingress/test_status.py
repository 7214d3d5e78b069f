"""The Ingress status this controller publishes: only its own addresses change."""

from ingress import status


def ing(*entries):
    return {"status": {"loadBalancer": {"ingress": list(entries)}}}


def test_ours_added_others_kept_and_removed_when_not_serving():
    other = {"ip": "10.0.0.9"}
    assert status.desired(ing(other), ["10.0.0.1"], True) == [{"ip": "10.0.0.1"}, other]
    assert status.desired(ing(other, {"ip": "10.0.0.1"}), ["10.0.0.1"], False) == [other]
    assert not status.needs_update(ing({"ip": "10.0.0.1"}), ["10.0.0.1"], True)
    assert status.needs_update({}, ["10.0.0.1"], True)
