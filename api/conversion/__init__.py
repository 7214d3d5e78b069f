"""Served versions whose shape differs from what is stored: the apiserver stores one
form (the storage version) and converts on the way in and out, as Kubernetes'
conversion does for e.g. events.k8s.io/v1 over core/v1 Events. Each conversion says
which stored resource it serves and how its field selector labels map."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from api.resources import (
    EVENTS,
    EVENTS_V1,
    HORIZONTALPODAUTOSCALERS,
    HORIZONTALPODAUTOSCALERS_V1,
    Resource,
)

Obj = dict[str, Any]


@dataclass(frozen=True)
class Conversion:
    served: Resource
    storage: Resource
    to_served: Callable[[Obj], Obj]
    to_storage: Callable[[Obj], Obj]
    validate_create: Callable[[Obj], list[dict[str, str]]] = lambda obj: []
    field_labels: dict[str, str] = field(default_factory=dict)  # served -> stored

    def storage_field_selector(self, selector: str) -> str:
        """The selector in the stored form's labels (`regarding.name=x` becomes
        `involvedObject.name=x`)."""
        terms = []
        for term in selector.split(","):
            label = term.split("!", 1)[0].split("=", 1)[0].strip()
            if label in self.field_labels:
                term = term.replace(label, self.field_labels[label], 1)
            terms.append(term)
        return ",".join(terms)


def for_resource(resource: Resource) -> Conversion | None:
    return _CONVERSIONS.get((resource.group, resource.version, resource.plural))


def _events() -> Conversion:
    from api.conversion import events

    return Conversion(
        served=EVENTS_V1,
        storage=EVENTS,
        to_served=events.to_events_v1,
        to_storage=events.to_core,
        validate_create=events.validate_create,
        field_labels=events.FIELD_LABELS,
    )


def _hpa_v1() -> Conversion:
    from api.conversion import autoscaling

    return Conversion(
        served=HORIZONTALPODAUTOSCALERS_V1,
        storage=HORIZONTALPODAUTOSCALERS,
        to_served=autoscaling.to_v1,
        to_storage=autoscaling.to_v2,
    )


_CONVERSIONS: dict[tuple[str, str, str], Conversion] = {
    (EVENTS_V1.group, EVENTS_V1.version, EVENTS_V1.plural): _events(),
    (
        HORIZONTALPODAUTOSCALERS_V1.group,
        HORIZONTALPODAUTOSCALERS_V1.version,
        HORIZONTALPODAUTOSCALERS_V1.plural,
    ): _hpa_v1(),
}
