"""The three-way strategic merge patch of `kubectl apply` (client-side).

Given the configuration applied last time (`original`, from the
last-applied-configuration annotation), the new configuration (`modified`) and the
live object (`current`), the patch is

    deletions(original → modified)  merged with  delta(current → modified)

- delta sets every field whose live value differs from the new configuration, but
  never removes a live field (the server and other writers own those);
- deletions remove exactly the fields the user dropped from the configuration
  since the last apply: `null` for a map key, `{"<mergeKey>": v, "$patch": "delete"}`
  for an element of a merge-keyed list, `$deleteFromPrimitiveList/<field>` for a
  merged list of scalars, and `$retainKeys` for retain-keys maps.

This follows k8s.io/apimachinery's strategicpatch.CreateThreeWayMergePatch (without
the optional `$setElementOrder` lists). With `meta=None` (an unknown kind) it is a
three-way JSON merge patch: maps merge and lists are replaced whole.
"""

from __future__ import annotations

import json
from typing import Any

from client.patchmeta import Field, Node

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"

Obj = dict[str, Any]


class PatchError(ValueError):
    """The documents cannot be diffed (e.g. a merge-keyed element lacks its key)."""


def three_way_patch(original: Obj | None, modified: Obj, current: Obj, meta: Node | None) -> Obj:
    """The patch that turns `current` into `modified`, deleting what `original` had."""
    delta = _diff_maps(current, modified, meta, ignore_deletions=True)
    deletions = _diff_maps(original or {}, modified, meta, ignore_changes=True)
    return _merge_maps(deletions, delta, meta)


def with_last_applied(config: Obj) -> Obj:
    """`config` plus its own last-applied-configuration annotation, as kubectl builds it."""
    annotated = json.loads(json.dumps(config))
    meta = annotated.setdefault("metadata", {})
    annotations = meta.get("annotations") or {}
    annotations.pop(LAST_APPLIED, None)
    meta["annotations"] = annotations
    text = go_json(annotated)
    meta["annotations"] = {**annotations, LAST_APPLIED: text}
    return annotated


def last_applied(live: Obj) -> Obj | None:
    """The configuration recorded by the previous apply, if any."""
    text = ((live.get("metadata") or {}).get("annotations") or {}).get(LAST_APPLIED)
    if not text:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def go_json(value: Any) -> str:
    """Serialise like Go's json.Encoder: compact, sorted keys, HTML-escaped, newline."""
    text = json.dumps(value, separators=(",", ":"), sort_keys=True, ensure_ascii=False)
    for char, escape in (
        ("&", "\\u0026"),
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escape)
    return text + "\n"


# ---- diff ----------------------------------------------------------------------------


def _diff_maps(
    original: Obj,
    modified: Obj,
    node: Node | None,
    *,
    ignore_deletions: bool = False,
    ignore_changes: bool = False,
    retain_keys: bool = False,
) -> Obj:
    opts = {"ignore_deletions": ignore_deletions, "ignore_changes": ignore_changes}
    patch: Obj = {}
    retained = [k for k, v in modified.items() if v is not None] if retain_keys else []
    for key, new in modified.items():
        if key not in original:
            if not ignore_changes:
                patch[key] = new
            continue
        old = original[key]
        if key == "$patch" or _kind(old) != _kind(new):
            if not ignore_changes and not json_equal(old, new):
                patch[key] = new
            continue
        field = node.field(key) if node is not None else Field(None)
        if isinstance(new, dict):
            sub = _diff_maps(old, new, field.node, **opts, retain_keys=field.retain_keys)
            if sub:
                patch[key] = sub
        elif isinstance(new, list) and field.strategy == "merge":
            additions, deletions = _diff_lists(old, new, field, **opts)
            if additions:
                patch[key] = additions
            if deletions:
                patch[f"$deleteFromPrimitiveList/{key}"] = deletions
        elif not ignore_changes and not json_equal(old, new):
            patch[key] = new
    if not ignore_deletions:
        for key in original:
            if key not in modified:
                patch[key] = None
    if retained and (patch or _has_extra_field(original, modified)):
        patch["$retainKeys"] = sorted(retained)
    return patch


def _diff_lists(
    original: list[Any],
    modified: list[Any],
    field: Field,
    *,
    ignore_deletions: bool,
    ignore_changes: bool,
) -> tuple[list[Any], list[Any]]:
    """(patch list, parallel deletion list) for a list with the merge strategy."""
    if not original:
        return ([] if ignore_changes else list(modified)), []
    if any(isinstance(v, dict) for v in (*original, *modified)):
        return _diff_lists_of_maps(
            original,
            modified,
            field,
            ignore_deletions=ignore_deletions,
            ignore_changes=ignore_changes,
        ), []
    old_keys = {_key_text(v) for v in original}
    new_keys = {_key_text(v) for v in modified}
    additions = [] if ignore_changes else [v for v in modified if _key_text(v) not in old_keys]
    deletions: list[Any] = []
    if not ignore_deletions:
        for v in original:
            if _key_text(v) not in new_keys and v not in deletions:
                deletions.append(v)
    return additions, deletions


def _diff_lists_of_maps(
    original: list[Any],
    modified: list[Any],
    field: Field,
    *,
    ignore_deletions: bool,
    ignore_changes: bool,
) -> list[Any]:
    key = field.merge_key
    if not key:
        raise PatchError("a merged list of objects needs a merge key")
    old_by_key = {_merge_value(e, key): e for e in original}
    new_keys = {_merge_value(e, key) for e in modified}
    patch: list[Any] = []
    for elem in modified:
        old = old_by_key.get(_merge_value(elem, key))
        if old is None:
            if not ignore_changes:
                patch.append(elem)
            continue
        sub = _diff_maps(
            old,
            elem,
            field.node,
            ignore_deletions=ignore_deletions,
            ignore_changes=ignore_changes,
            retain_keys=field.retain_keys,
        )
        if sub:
            sub[key] = elem[key]
            patch.append(sub)
    if not ignore_deletions:
        for elem in original:
            if _merge_value(elem, key) not in new_keys:
                patch.append({key: elem[key], "$patch": "delete"})
    return patch


# ---- merging the two halves ------------------------------------------------------------


def _merge_maps(base: Obj, patch: Obj, node: Node | None) -> Obj:
    """Merge two patches (deletions, then delta); the second wins on conflicts."""
    out = dict(base)
    for key, value in patch.items():
        if key not in out or key.startswith("$") or out[key] is None or value is None:
            out[key] = value
            continue
        old = out[key]
        field = node.field(key) if node is not None else Field(None)
        if isinstance(old, dict) and isinstance(value, dict):
            out[key] = _merge_maps(old, value, field.node)
        elif isinstance(old, list) and isinstance(value, list) and field.strategy == "merge":
            out[key] = _merge_lists(old, value, field)
        else:
            out[key] = value
    return out


def _merge_lists(base: list[Any], patch: list[Any], field: Field) -> list[Any]:
    merged = list(base)
    if field.merge_key and any(isinstance(v, dict) for v in (*base, *patch)):
        index = {_merge_value(e, field.merge_key): i for i, e in enumerate(merged)}
        for elem in patch:
            i = index.get(_merge_value(elem, field.merge_key))
            if i is None:
                index[_merge_value(elem, field.merge_key)] = len(merged)
                merged.append(elem)
            else:
                merged[i] = _merge_maps(merged[i], elem, field.node)
        return merged
    return merged + [v for v in patch if v not in merged]


# ---- JSON value helpers -------------------------------------------------------------------


def json_equal(a: Any, b: Any) -> bool:
    """Equality of decoded JSON: 1 == 1.0 (both are numbers) but True != 1."""
    if _kind(a) != _kind(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "list"
    if isinstance(value, dict):
        return "map"
    return type(value).__name__


def _key_text(value: Any) -> str:
    """Go compares merge keys by their `%v` text; 80 and 80.0 are the same number."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, sort_keys=True) if isinstance(value, dict | list) else str(value)


def _merge_value(elem: Any, key: str) -> str:
    if not isinstance(elem, dict):
        raise PatchError(f"expected an object with merge key {key!r}, got {elem!r}")
    if key not in elem:
        raise PatchError(f"{go_json(elem).strip()} does not contain declared merge key: {key}")
    return _key_text(elem[key])


def _has_extra_field(original: Obj, modified: Obj) -> bool:
    return any(v is not None and k not in modified for k, v in original.items())
