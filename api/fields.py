"""Field selectors (`?fieldSelector=spec.nodeName=n1,status.phase!=Failed`): which
fields each resource can be selected by, as Kubernetes allows them, and matching.

kubectl relies on a few of them: `describe` lists events by `involvedObject.*`,
`rollout status` lists by `metadata.name`, and kubelets watch their pods by
`spec.nodeName`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from api.errors import bad_request
from api.resources import Resource, lookup

Getter = Callable[[dict], str]


def _path(*keys: str, missing: str = "") -> Getter:
    """A getter for a nested field rendered as Kubernetes' field set does: strings as
    they are, booleans as "true"/"false", numbers in decimal, a missing field as
    `missing`."""

    def get(obj: dict) -> str:
        value: Any = obj
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        if value is None:
            return missing
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    return get


_COMMON: dict[str, Getter] = {
    "metadata.name": _path("metadata", "name"),
    "metadata.namespace": _path("metadata", "namespace"),
}

# plural -> extra selectable fields (Kubernetes' <kind>ToSelectableFields)
_BY_RESOURCE: dict[str, dict[str, Getter]] = {
    "pods": {
        "spec.nodeName": _path("spec", "nodeName"),
        "spec.restartPolicy": _path("spec", "restartPolicy"),
        "spec.schedulerName": _path("spec", "schedulerName"),
        "spec.serviceAccountName": _path("spec", "serviceAccountName"),
        "spec.hostNetwork": _path("spec", "hostNetwork", missing="false"),
        "status.phase": _path("status", "phase"),
        "status.podIP": _path("status", "podIP"),
        "status.nominatedNodeName": _path("status", "nominatedNodeName"),
    },
    "events": {
        **{
            f"involvedObject.{f}": _path("involvedObject", f)
            for f in (
                "kind",
                "namespace",
                "name",
                "uid",
                "apiVersion",
                "resourceVersion",
                "fieldPath",
            )
        },
        "reason": _path("reason"),
        "reportingComponent": _path("reportingComponent"),
        "source": _path("source", "component"),
        "type": _path("type"),
    },
    "nodes": {"spec.unschedulable": _path("spec", "unschedulable", missing="false")},
    "namespaces": {"status.phase": _path("status", "phase")},
    "replicasets": {"status.replicas": _path("status", "replicas", missing="0")},
    "services": {"spec.clusterIP": _path("spec", "clusterIP"), "spec.type": _path("spec", "type")},
}

_OPERATORS = ("!=", "==", "=")  # longest first, as Kubernetes' splitTerm tries them


def selectable_fields(resource: Resource | str) -> dict[str, Getter]:
    """Every field a resource (a Resource, or its plural / kind / short name) may be
    selected by."""
    from api.apiextensions import CustomResource

    if isinstance(resource, CustomResource):  # metadata, and the CRD's selectableFields
        paths = [p.lstrip(".") for p in resource.selectable if p.startswith(".")]
        return {**_COMMON, **{p: _path(*p.split(".")) for p in paths}}
    plural = _plural(resource)
    return {**_COMMON, **_BY_RESOURCE.get(plural, {})}


def _plural(resource: Resource | str) -> str:
    if isinstance(resource, Resource):
        return resource.plural
    found = lookup(resource)
    return found.plural if found else resource.lower()


@dataclass(frozen=True)
class FieldRequirement:
    field: str
    operator: str  # "=", "==" or "!="
    value: str

    def __str__(self) -> str:
        return f"{self.field}{self.operator}{_escape(self.value)}"


@dataclass(frozen=True)
class FieldSelector:
    """All requirements must hold; getters come from the resource's selectable fields."""

    requirements: tuple[FieldRequirement, ...]
    getters: dict[str, Getter]

    @property
    def empty(self) -> bool:
        return not self.requirements

    def matches(self, obj: dict) -> bool:
        for req in self.requirements:
            have = self.getters[req.field](obj)
            if (have == req.value) == (req.operator == "!="):
                return False
        return True

    def exact(self, field: str) -> str | None:
        """The value `field` must equal, if the selector pins it (lets the server
        answer `metadata.name=x` with one read)."""
        for req in self.requirements:
            if req.field == field and req.operator != "!=":
                return req.value
        return None

    def __str__(self) -> str:
        return ",".join(str(r) for r in self.requirements)


def parse_field_selector(text: str, resource: Resource | str) -> FieldSelector:
    """Parse `field=value,field!=value` for `resource`. Bad syntax or a field the
    resource cannot be selected by raises a 400 ApiError in Kubernetes' wording."""
    getters = selectable_fields(resource)
    reqs = []
    for term in _split_unescaped(text, ","):
        if not term.strip():
            continue
        parsed = _split_term(term)
        if parsed is None:
            raise bad_request(f"invalid selector: '{text}'; can't understand '{term}'")
        lhs, op, rhs = parsed
        field = lhs.strip()
        if field not in getters:
            raise bad_request(f"field label not supported: {field}")
        reqs.append(FieldRequirement(field, op, _unescape(rhs.strip(), text)))
    return FieldSelector(tuple(reqs), getters)


def _split_unescaped(text: str, sep: str) -> list[str]:
    parts, current, i = [], [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            current.append(text[i : i + 2])
            i += 2
            continue
        if ch == sep:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return parts


def _split_term(term: str) -> tuple[str, str, str] | None:
    i = 0
    while i < len(term):
        if term[i] == "\\":
            i += 2
            continue
        for op in _OPERATORS:
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op) :]
        i += 1
    return None


def _unescape(value: str, text: str) -> str:
    out, i = [], 0
    while i < len(value):
        ch = value[i]
        if ch == "\\":
            if i + 1 >= len(value) or value[i + 1] not in "\\,=":
                raise bad_request(
                    f"invalid selector: '{text}'; invalid field value escape sequence in '{value}'"
                )
            out.append(value[i + 1])
            i += 2
            continue
        if ch in ",=":
            raise bad_request(f"invalid selector: '{text}'; unescaped '{ch}' in '{value}'")
        out.append(ch)
        i += 1
    return "".join(out)


def _escape(value: str) -> str:
    for ch in "\\,=":
        value = value.replace(ch, "\\" + ch)
    return value
