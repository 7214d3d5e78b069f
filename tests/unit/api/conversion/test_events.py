"""events.k8s.io/v1 <-> core/v1 Events, and the field labels between them."""

from __future__ import annotations

from api.conversion import for_resource
from api.conversion.events import to_core, to_events_v1, validate_create
from api.resources import EVENTS, EVENTS_V1

CORE = {
    "apiVersion": "v1",
    "kind": "Event",
    "metadata": {"name": "e", "namespace": "ns"},
    "involvedObject": {"kind": "Pod", "name": "p", "namespace": "ns"},
    "reason": "Pulled",
    "message": "done",
    "type": "Normal",
    "source": {"component": "kubelet"},
    "count": 3,
    "firstTimestamp": "2026-01-01T00:00:00Z",
    "reportingComponent": "kubelet",
    "reportingInstance": "node-1",
}


def test_core_event_round_trips_through_events_v1():
    served = to_events_v1(CORE)
    assert served["apiVersion"] == "events.k8s.io/v1"
    assert served["regarding"] == CORE["involvedObject"] and served["note"] == "done"
    assert served["deprecatedCount"] == 3 and served["reportingController"] == "kubelet"
    assert to_core(served) == CORE


def test_events_v1_create_needs_its_fields():
    fields = {c["field"] for c in validate_create({"type": "Other"})}
    assert fields == {"eventTime", "reportingController", "reportingInstance", "action", "reason",
                      "type"}  # fmt: skip


def test_field_labels_are_renamed_for_the_stored_form():
    conversion = for_resource(EVENTS_V1)
    assert conversion is not None and conversion.storage == EVENTS
    selector = "regarding.name=p,reportingController!=kubelet,type=Normal"
    assert conversion.storage_field_selector(selector) == (
        "involvedObject.name=p,reportingComponent!=kubelet,type=Normal"
    )
    assert for_resource(EVENTS) is None
