"""events.k8s.io/v1 Event <-> core/v1 Event, field for field as Kubernetes converts
them (pkg/apis/events/v1): the new names for the old fields, and the stricter rules
events.k8s.io applies to the Events created through it."""

from __future__ import annotations

import copy
from typing import Any

Obj = dict[str, Any]

# events.k8s.io/v1 name -> core/v1 name (both directions use this table).
RENAMED = {
    "regarding": "involvedObject",
    "note": "message",
    "reportingController": "reportingComponent",
    "deprecatedSource": "source",
    "deprecatedFirstTimestamp": "firstTimestamp",
    "deprecatedLastTimestamp": "lastTimestamp",
    "deprecatedCount": "count",
}
SAME = (
    "metadata",
    "eventTime",
    "series",
    "reportingInstance",
    "action",
    "reason",
    "related",
    "type",
)

FIELD_LABELS = {
    **{
        f"regarding.{f}": f"involvedObject.{f}"
        for f in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")
    },
    "reportingController": "reportingComponent",
    "deprecatedSource": "source",
}


def to_events_v1(core: Obj) -> Obj:
    out: Obj = {"apiVersion": "events.k8s.io/v1", "kind": "Event"}
    for name in SAME:
        if name in core:
            out[name] = copy.deepcopy(core[name])
    for new, old in RENAMED.items():
        if core.get(old) not in (None, "", 0, {}):
            out[new] = copy.deepcopy(core[old])
    return out


def to_core(event: Obj) -> Obj:
    out: Obj = {"apiVersion": "v1", "kind": "Event"}
    for name in SAME:
        if name in event:
            out[name] = copy.deepcopy(event[name])
    for new, old in RENAMED.items():
        if new in event:
            out[old] = copy.deepcopy(event[new])
    out.setdefault("involvedObject", {})
    return out


def validate_create(event: Obj) -> list[dict[str, str]]:
    """What events.k8s.io/v1 requires of a new Event beyond core/v1 (Kubernetes'
    ValidateEventCreate for that version), in its field names."""
    causes: list[dict[str, str]] = []

    def required(field: str) -> None:
        causes.append({"field": field, "message": "Required value", "reason": "FieldValueRequired"})

    if not event.get("eventTime"):
        required("eventTime")
    for name in ("reportingController", "reportingInstance", "action", "reason"):
        value = event.get(name)
        if not value:
            required(name)
        elif len(str(value)) > 128 and name != "reportingController":
            causes.append(
                {
                    "field": name,
                    "message": "Too long: may not be more than 128 bytes",
                    "reason": "FieldValueTooLong",
                }
            )
    if event.get("type") not in ("Normal", "Warning"):
        causes.append(
            {
                "field": "type",
                "message": f'Unsupported value: "{event.get("type") or ""}": supported values: '
                '"Normal", "Warning"',
                "reason": "FieldValueNotSupported",
            }
        )
    note = event.get("note") or ""
    if len(note.encode()) > 1024:
        causes.append(
            {"field": "note", "message": "Too long: may not be more than 1024 bytes",
             "reason": "FieldValueTooLong"}
        )  # fmt: skip
    return causes
