"""apiextensions.k8s.io/v1 CustomResourceDefinitions, as Kubernetes'
apiextensions/validation: names, group, scope, versions (exactly one storage version),
structural schemas, subresources, printer columns, conversion; and the validation of
custom objects against their CRD's schema."""

from __future__ import annotations

from typing import Any

from api import labels as lbl
from api import structural
from api.validation.field import (
    Cause,
    as_dict,
    as_list,
    as_str,
    cause,
    duplicate,
    forbidden,
    invalid,
    invalid_each,
    not_supported,
    required,
)
from api.validation.meta import validate_metadata, validate_metadata_update

IMMUTABLE = "field is immutable"
PRINTER_TYPES = ("integer", "number", "string", "boolean", "date")


def validate_crd(crd: dict) -> list[Cause]:
    spec = as_dict(crd.get("spec"))
    names = as_dict(spec.get("names"))
    causes: list[Cause] = []
    group = as_str(spec.get("group"))
    plural = as_str(names.get("plural"))
    name = as_str(as_dict(crd.get("metadata")).get("name"))
    if name and plural and group and name != f"{plural}.{group}":
        causes.append(invalid("metadata.name", name, 'must be spec.names.plural+"."+spec.group'))
    if not group:
        causes.append(required("spec.group"))
    else:
        causes += invalid_each("spec.group", group, lbl.dns1123_subdomain_errors(group))
        if "." not in group:
            causes.append(invalid("spec.group", group, "should be a domain with at least one dot"))
    scope = spec.get("scope")
    if not scope:
        causes.append(required("spec.scope"))
    elif scope not in ("Cluster", "Namespaced"):
        causes.append(not_supported("spec.scope", scope, ("Cluster", "Namespaced")))
    if spec.get("preserveUnknownFields"):
        causes.append(
            invalid(
                "spec.preserveUnknownFields",
                True,
                "cannot set to true, set x-kubernetes-preserve-unknown-fields to true in "
                "spec.versions[*].schema instead",
            )
        )
    causes += _names(names, "spec.names")
    causes += _versions(spec)
    conversion = as_dict(spec.get("conversion"))
    strategy = conversion.get("strategy", "None")
    if strategy not in ("None", "Webhook"):
        causes.append(not_supported("spec.conversion.strategy", strategy, ("None", "Webhook")))
    elif strategy == "Webhook":
        causes.append(
            forbidden("spec.conversion.strategy", "conversion webhooks are not supported by minik")
        )
    return causes


def _names(names: dict, path: str) -> list[Cause]:
    causes: list[Cause] = []
    for key in ("plural", "kind"):
        if not names.get(key):
            causes.append(required(f"{path}.{key}"))
    for key in ("plural", "singular"):
        value = as_str(names.get(key))
        if value:
            causes += invalid_each(f"{path}.{key}", value, lbl.dns1035_label_errors(value))
    kind = as_str(names.get("kind"))
    if kind:
        causes += invalid_each(f"{path}.kind", kind, lbl.dns1035_label_errors(kind.lower()))
    list_kind = as_str(names.get("listKind"))
    if list_kind:
        causes += invalid_each(
            f"{path}.listKind", list_kind, lbl.dns1035_label_errors(list_kind.lower())
        )
        if list_kind == kind:
            causes.append(
                invalid(f"{path}.listKind", list_kind, "kind and listKind may not be the same")
            )
    for key in ("shortNames", "categories"):
        seen: set[str] = set()
        for i, value in enumerate(as_list(names.get(key))):
            text = as_str(value)
            causes += invalid_each(f"{path}.{key}[{i}]", text, lbl.dns1035_label_errors(text))
            if text in seen:
                causes.append(duplicate(f"{path}.{key}[{i}]", text))
            seen.add(text)
    return causes


def _versions(spec: dict) -> list[Cause]:
    versions = as_list(spec.get("versions"))
    causes: list[Cause] = []
    if not versions:
        return [
            invalid("spec.versions", [], "must have exactly one version marked as storage version")
        ]
    storage = sum(1 for v in versions if as_dict(v).get("storage"))
    if storage != 1:
        causes.append(
            invalid(
                "spec.versions",
                [as_dict(v).get("name") for v in versions],
                "must have exactly one version marked as storage version",
            )
        )
    if not any(as_dict(v).get("served") for v in versions):
        causes.append(
            invalid(
                "spec.versions",
                [as_dict(v).get("name") for v in versions],
                "must have at least one served version",
            )
        )
    seen: set[str] = set()
    for i, raw in enumerate(versions):
        v = as_dict(raw)
        path = f"spec.versions[{i}]"
        name = as_str(v.get("name"))
        if not name:
            causes.append(required(f"{path}.name"))
        else:
            causes += invalid_each(f"{path}.name", name, lbl.dns1035_label_errors(name))
            if name in seen:
                causes.append(duplicate(f"{path}.name", name))
            seen.add(name)
        schema = as_dict(v.get("schema")).get("openAPIV3Schema")
        if schema is None:
            causes.append(required(f"{path}.schema.openAPIV3Schema", "schemas are required"))
        else:
            causes += structural.structural_errors(schema, f"{path}.schema.openAPIV3Schema")
        causes += _subresources(as_dict(v.get("subresources")), f"{path}.subresources")
        fields = as_list(v.get("selectableFields"))
        if len(fields) > 8:
            causes.append(
                cause(
                    "FieldValueTooMany",
                    f"{path}.selectableFields",
                    f"Too many: {len(fields)}: must have at most 8 items",
                )
            )
        for j, sel in enumerate(fields):
            json_path = as_str(as_dict(sel).get("jsonPath"))
            where = f"{path}.selectableFields[{j}].jsonPath"
            if not json_path:
                causes.append(required(where))
            elif not json_path.startswith(".") or "[" in json_path:
                causes.append(
                    invalid(
                        where, json_path, "must be a simple path to a field, such as .spec.color"
                    )
                )
        for j, col in enumerate(as_list(v.get("additionalPrinterColumns"))):
            causes += _printer_column(as_dict(col), f"{path}.additionalPrinterColumns[{j}]")
    return causes


def _subresources(subs: dict, path: str) -> list[Cause]:
    scale = subs.get("scale")
    if scale is None:
        return []
    scale = as_dict(scale)
    causes: list[Cause] = []
    spec_path = as_str(scale.get("specReplicasPath"))
    if not spec_path:
        causes.append(required(f"{path}.scale.specReplicasPath"))
    elif not spec_path.startswith(".spec."):
        causes.append(
            invalid(
                f"{path}.scale.specReplicasPath", spec_path, "should be a json path under .spec"
            )
        )
    status_path = as_str(scale.get("statusReplicasPath"))
    if not status_path:
        causes.append(required(f"{path}.scale.statusReplicasPath"))
    elif not status_path.startswith(".status."):
        causes.append(
            invalid(
                f"{path}.scale.statusReplicasPath",
                status_path,
                "should be a json path under .status",
            )
        )
    selector = as_str(scale.get("labelSelectorPath"))
    if selector and not selector.startswith((".spec.", ".status.")):
        causes.append(
            invalid(
                f"{path}.scale.labelSelectorPath",
                selector,
                "should be a json path under either .spec or .status",
            )
        )
    return causes


def _printer_column(col: dict, path: str) -> list[Cause]:
    causes: list[Cause] = []
    if not col.get("name"):
        causes.append(required(f"{path}.name"))
    if not col.get("type"):
        causes.append(required(f"{path}.type"))
    elif col["type"] not in PRINTER_TYPES:
        causes.append(not_supported(f"{path}.type", col["type"], PRINTER_TYPES))
    if not col.get("jsonPath"):
        causes.append(required(f"{path}.jsonPath"))
    return causes


def validate_crd_update(new: dict, old: dict) -> list[Cause]:
    causes: list[Cause] = []
    ns, os_ = as_dict(new.get("spec")), as_dict(old.get("spec"))
    for key in ("group", "scope"):
        if ns.get(key) != os_.get(key):
            causes.append(invalid(f"spec.{key}", ns.get(key), IMMUTABLE))
    # Objects may still be stored in every version ever used for storage.
    versions = {as_str(as_dict(v).get("name")) for v in as_list(ns.get("versions"))}
    stored = as_list(as_dict(old.get("status")).get("storedVersions"))
    for i, version in enumerate(stored):
        if as_str(version) not in versions:
            causes.append(
                invalid(
                    f"status.storedVersions[{i}]", as_str(version), "must appear in spec.versions"
                )
            )
    return causes


def validate_custom_object(schema: Any, obj: dict, old: dict | None) -> list[Cause]:
    """A custom object: its ObjectMeta (names as DNS subdomains) and its schema."""
    causes = validate_metadata("", obj, lbl.dns1123_subdomain_errors)
    if old is not None:
        causes += validate_metadata_update(obj, old)
    causes += structural.validate(schema, obj, old)
    return causes
