"""CustomResourceDefinitions (apiextensions.k8s.io/v1) as the apiserver serves them: the
`Resource` each served version of a CRD becomes, its accepted names and conditions.
Pure logic: the apiserver's dynamic registry (apiserver/customresources.py) feeds it the
CRDs it watches; validation of a CRD lives in api/validation/apiextensions.py, schema
checks of custom objects in api/structural.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from api.resources import ALL_VERBS, Resource
from api.timefmt import rfc3339

Obj = dict[str, Any]

# The finalizer the apiserver puts on every CRD: its objects go before it does.
CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"
ESTABLISHED = "Established"
NAMES_ACCEPTED = "NamesAccepted"
TERMINATING = "Terminating"


@dataclass(frozen=True)
class CustomResource(Resource):
    """One served version of a CRD. The schema and printer columns ride along (not part
    of equality), so the store, tables and OpenAPI read them from the resource itself."""

    storage_version: str = ""
    crd_name: str = ""
    schema: Any = field(default=None, compare=False, hash=False)
    printer_columns: tuple[Obj, ...] = field(default=(), compare=False, hash=False)
    scale: Any = field(default=None, compare=False, hash=False)  # the scale subresource
    selectable: tuple[str, ...] = field(default=(), compare=False, hash=False)  # ".spec.x"

    @property
    def storage_api_version(self) -> str:
        return f"{self.group}/{self.storage_version}"

    @property
    def status_enabled(self) -> bool:
        return "status" in self.subresources


def names(crd: Obj) -> Obj:
    return (crd.get("spec") or {}).get("names") or {}


def singular(crd: Obj) -> str:
    n = names(crd)
    return str(n.get("singular") or str(n.get("kind", "")).lower())


def storage_version(crd: Obj) -> str:
    for v in (crd.get("spec") or {}).get("versions") or []:
        if v.get("storage"):
            return str(v.get("name"))
    return ""


def resources_for(crd: Obj) -> list[CustomResource]:
    """The resources a CRD serves: one per version with `served: true`."""
    spec = crd.get("spec") or {}
    n = names(crd)
    group, plural = str(spec.get("group", "")), str(n.get("plural", ""))
    out = []
    for v in spec.get("versions") or []:
        if not v.get("served"):
            continue
        subs = (v.get("subresources") or {}) if isinstance(v.get("subresources"), dict) else {}
        subresources = tuple(s for s in ("status", "scale") if s in subs)
        out.append(
            CustomResource(
                group,
                str(v.get("name")),
                str(n.get("kind", "")),
                plural,
                singular(crd),
                spec.get("scope") == "Namespaced",
                tuple(n.get("shortNames") or ()),
                tuple(n.get("categories") or ()),
                ALL_VERBS,
                subresources,
                storage=f"{group}/{plural}",
                storage_version=storage_version(crd),
                crd_name=str((crd.get("metadata") or {}).get("name", "")),
                schema=(v.get("schema") or {}).get("openAPIV3Schema"),
                printer_columns=tuple(v.get("additionalPrinterColumns") or ()),
                scale=subs.get("scale"),
                selectable=tuple(
                    str(f.get("jsonPath", ""))
                    for f in v.get("selectableFields") or []
                    if isinstance(f, dict)
                ),
            )
        )
    return out


def accepted_names(crd: Obj) -> Obj:
    """The names as Kubernetes reports them in status.acceptedNames (singular and
    listKind filled in)."""
    n = dict(names(crd))
    n.setdefault("singular", singular(crd))
    n.setdefault("listKind", f"{n.get('kind', '')}List")
    return n


def condition(type_: str, status: str, reason: str, message: str) -> Obj:
    return {
        "type": type_,
        "status": status,
        "lastTransitionTime": rfc3339(),
        "reason": reason,
        "message": message,
    }


def set_condition(status: Obj, new: Obj) -> None:
    """Replace the condition of the same type, keeping its transition time when the
    status did not change."""
    conditions = status.setdefault("conditions", [])
    for i, c in enumerate(conditions):
        if c.get("type") == new["type"]:
            if c.get("status") == new["status"]:
                new = {**new, "lastTransitionTime": c.get("lastTransitionTime")}
            conditions[i] = new
            return
    conditions.append(new)


def established_status(crd: Obj, old_status: Obj | None = None) -> Obj:
    """The status a CRD whose names were accepted carries: NamesAccepted and
    Established true, its accepted names, and the storage versions it ever had."""
    status = dict(old_status or {})
    status["acceptedNames"] = accepted_names(crd)
    set_condition(status, condition(NAMES_ACCEPTED, "True", "NoConflicts", "no conflicts found"))
    set_condition(
        status,
        condition(
            ESTABLISHED, "True", "InitialNamesAccepted", "the initial names have been accepted"
        ),
    )
    stored = list(status.get("storedVersions") or [])
    current = storage_version(crd)
    if current and current not in stored:
        stored.append(current)
    status["storedVersions"] = stored
    return status


def is_condition_true(crd: Obj, type_: str) -> bool:
    for c in (crd.get("status") or {}).get("conditions") or []:
        if c.get("type") == type_:
            return c.get("status") == "True"
    return False


def name_conflicts(crd: Obj, others: list[Obj]) -> list[str]:
    """Kubernetes' naming controller: within one group, plural, singular, short names
    and kind (and list kind) may belong to one CRD only. Returns the messages."""
    spec = crd.get("spec") or {}
    group = spec.get("group")
    mine = names(crd)
    my_name = (crd.get("metadata") or {}).get("name")
    problems: list[str] = []
    for other in others:
        if (other.get("metadata") or {}).get("name") == my_name:
            continue
        if (other.get("spec") or {}).get("group") != group:
            continue
        theirs = accepted_names(other)
        resource_names = {
            theirs.get("plural"),
            theirs.get("singular"),
            *(theirs.get("shortNames") or []),
        }
        for label, value in (("plural", mine.get("plural")), ("singular", singular(crd))):
            if value in resource_names:
                problems.append(f'{label} "{value}" is already in use')
        for short in mine.get("shortNames") or []:
            if short in resource_names:
                problems.append(f'shortName "{short}" is already in use')
        kinds = {theirs.get("kind"), theirs.get("listKind")}
        if mine.get("kind") in kinds:
            problems.append(f'kind "{mine.get("kind")}" is already in use')
        list_kind = mine.get("listKind") or f"{mine.get('kind', '')}List"
        if list_kind in kinds:
            problems.append(f'listKind "{list_kind}" is already in use')
    return problems
