"""ObjectMeta rules shared by every kind (apimachinery's api/validation and
metav1/validation): names, generateName, namespaces, labels, annotations, label
selectors, owner references, finalizers, and what an update may not change."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from api import labels as lbl
from api.resources import by_kind
from api.validation.field import (
    IMMUTABLE,
    Cause,
    GoText,
    as_dict,
    as_list,
    as_str,
    forbidden,
    go_string_list,
    go_string_map,
    invalid,
    invalid_each,
    nonnegative,
    required,
    too_long,
)

TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024


NameCheck = Callable[[str], list[str]]
_STANDARD_FINALIZERS = frozenset(
    {"kubernetes", "orphan", "foregroundDeletion", "customresourcecleanup.apiextensions.k8s.io"}
)


def _mask_trailing_dash(name: str) -> str:
    """generateName may end in '-' (Kubernetes' maskTrailingDash, quirk included)."""
    return name[:-2] + "a" if len(name) > 1 and name.endswith("-") else name


def validate_labels(labels: Any, path: str) -> list[Cause]:
    causes: list[Cause] = []
    for key, value in sorted(as_dict(labels).items()):
        causes += invalid_each(path, key, lbl.label_key_errors(key))
        causes += invalid_each(path, as_str(value), lbl.label_value_errors(as_str(value)))
    return causes


def validate_annotations(annotations: Any, path: str) -> list[Cause]:
    notes = as_dict(annotations)
    causes: list[Cause] = []
    for key in sorted(notes):
        causes += invalid_each(path, key, lbl.label_key_errors(key.lower()))
    size = sum(len(k.encode()) + len(as_str(v).encode()) for k, v in notes.items())
    if size > TOTAL_ANNOTATION_SIZE_LIMIT:
        causes.append(too_long(path, TOTAL_ANNOTATION_SIZE_LIMIT))
    return causes


def validate_label_selector(selector: Any, path: str) -> list[Cause]:
    """A metav1.LabelSelector's syntax (ValidateLabelSelector)."""
    sel = as_dict(selector)
    causes = validate_labels(sel.get("matchLabels"), f"{path}.matchLabels")
    for i, expr in enumerate(as_list(sel.get("matchExpressions"))):
        p = f"{path}.matchExpressions[{i}]"
        expr = as_dict(expr)
        op, values = expr.get("operator"), as_list(expr.get("values"))
        if op in ("In", "NotIn"):
            if not values:
                causes.append(
                    required(f"{p}.values", "must be specified when `operator` is 'In' or 'NotIn'")
                )
        elif op in ("Exists", "DoesNotExist"):
            if values:
                causes.append(
                    forbidden(
                        f"{p}.values",
                        "may not be specified when `operator` is 'Exists' or 'DoesNotExist'",
                    )
                )
        else:
            causes.append(invalid(f"{p}.operator", as_str(op), "not a valid selector operator"))
        key = as_str(expr.get("key"))
        causes += invalid_each(f"{p}.key", key, lbl.label_key_errors(key))
        for j, value in enumerate(values):
            causes += invalid_each(
                f"{p}.values[{j}]", as_str(value), lbl.label_value_errors(as_str(value))
            )
    return causes


def go_label_selector(selector: Any) -> GoText:
    """A label selector object as Go's %#v prints a v1.LabelSelector."""
    if selector is None:
        return GoText("(*v1.LabelSelector)(nil)")
    sel = as_dict(selector)
    match_labels = sel.get("matchLabels")
    exprs = sel.get("matchExpressions")
    if exprs is None:
        rendered = "[]v1.LabelSelectorRequirement(nil)"
    else:
        items = []
        for e in as_list(exprs):
            e = as_dict(e)
            values = e.get("values")
            items.append(
                f"v1.LabelSelectorRequirement{{Key:{json.dumps(as_str(e.get('key')))}, "
                f"Operator:{json.dumps(as_str(e.get('operator')))}, "
                f"Values:{go_string_list(values if isinstance(values, list) else None)}}}"
            )
        rendered = "[]v1.LabelSelectorRequirement{" + ", ".join(items) + "}"
    ml = go_string_map(match_labels if isinstance(match_labels, dict) else None)
    return GoText(f"v1.LabelSelector{{MatchLabels:{ml}, MatchExpressions:{rendered}}}")


def _owner_references(refs: Any, path: str) -> list[Cause]:
    causes: list[Cause] = []
    controller = ""
    for ref in as_list(refs):
        ref = as_dict(ref)
        api_version = as_str(ref.get("apiVersion"))
        if not api_version.rpartition("/")[2]:
            causes.append(invalid(f"{path}.apiVersion", api_version, "version must not be empty"))
        for key in ("kind", "name", "uid"):
            if not as_str(ref.get(key)):
                causes.append(invalid(f"{path}.{key}", "", "must not be empty"))
        if ref.get("controller") is True:
            current = f"{as_str(ref.get('kind'))}/{as_str(ref.get('name'))}"
            if controller:
                causes.append(
                    invalid(
                        path,
                        refs,
                        "Only one reference can have Controller set "
                        f'to true. Found "true" in references for {controller} '
                        f"and {current}",
                    )
                )
            else:
                controller = current
    return causes


def finalizer_errors(name: str) -> list[str]:
    errs = lbl.label_key_errors(name)
    if not errs and "/" not in name and name not in _STANDARD_FINALIZERS:
        errs = ["name is neither a standard finalizer name nor is it fully qualified"]
    return errs


def validate_metadata(kind: str, obj: dict, name_check: NameCheck) -> list[Cause]:
    """ObjectMeta on create (the server has already filled in a generated name)."""
    md = as_dict(obj.get("metadata"))
    causes: list[Cause] = []
    generate_name = as_str(md.get("generateName"))
    if generate_name:
        causes += invalid_each(
            "metadata.generateName", generate_name, name_check(_mask_trailing_dash(generate_name))
        )
    name = as_str(md.get("name"))
    if not name:
        causes.append(required("metadata.name", "name or generateName is required"))
    else:
        causes += invalid_each("metadata.name", name, name_check(name))
    resource = by_kind(kind)
    if resource is not None and resource.namespaced:
        namespace = as_str(md.get("namespace"))
        if not namespace:
            causes.append(required("metadata.namespace"))
        else:
            causes += invalid_each(
                "metadata.namespace", namespace, lbl.dns1123_label_errors(namespace)
            )
    causes += nonnegative("metadata.generation", md.get("generation"))
    causes += validate_labels(md.get("labels"), "metadata.labels")
    causes += validate_annotations(md.get("annotations"), "metadata.annotations")
    causes += _owner_references(md.get("ownerReferences"), "metadata.ownerReferences")
    finalizers = [as_str(f) for f in as_list(md.get("finalizers"))]
    for i, fin in enumerate(finalizers):
        causes += invalid_each(f"metadata.finalizers[{i}]", fin, finalizer_errors(fin))
    if "orphan" in finalizers and "foregroundDeletion" in finalizers:
        causes.append(
            invalid(
                "metadata.finalizers",
                finalizers,
                "finalizer orphan and foregroundDeletion cannot be both set",
            )
        )
    return causes


def validate_metadata_update(new: dict, old: dict) -> list[Cause]:
    nmd, omd = as_dict(new.get("metadata")), as_dict(old.get("metadata"))
    causes = [
        invalid(f"metadata.{k}", as_str(nmd.get(k)), IMMUTABLE)
        for k in ("name", "namespace")
        if as_str(nmd.get(k)) != as_str(omd.get(k))
    ]
    if nmd.get("uid") and omd.get("uid") and nmd["uid"] != omd["uid"]:
        causes.append(invalid("metadata.uid", as_str(nmd["uid"]), IMMUTABLE))
    return causes
