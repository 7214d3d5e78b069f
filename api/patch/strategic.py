"""Strategic merge patch (`application/strategic-merge-patch+json`), as kubectl's
client-side apply, `kubectl patch` and `kubectl edit` send it.

Semantics follow apimachinery's `strategicpatch.StrategicMergeMapPatch` (server side:
parallel lists merged, unmatched nulls ignored). Deliberate differences, all lenient:
`$patch: merge` is accepted as the explicit default instead of an error, directives are
stripped from values the patch adds (Kubernetes copies those verbatim), a
`$deleteFromPrimitiveList` for a missing list is a no-op, and malformed patches are
400s where Kubernetes sometimes answers 500.
"""

from __future__ import annotations

import builtins
import copy
import json
from typing import Any

from api.errors import bad_request
from api.patch.keys import SET, list_strategy
from api.patch.lists import dedupe, index_of, matches, normalize_order

DIRECTIVE = "$patch"
RETAIN_KEYS = "$retainKeys"
SET_ORDER = "$setElementOrder"
DELETE_FROM = "$deleteFromPrimitiveList"
PATCH_TYPES = ("delete", "replace", "merge")

Path = tuple[str, ...]


def strategic_merge_patch(doc: dict, patch: dict, kind: str | None = None) -> dict:
    """Apply a strategic merge patch to `doc` (kind taken from `doc` when not given)."""
    if not isinstance(patch, dict):
        raise bad_request(f"a strategic merge patch must be a JSON object, got {_json_type(patch)}")
    return _Merger(kind or doc.get("kind")).map(copy.deepcopy(doc), patch, ())


def merge_into(target: dict, values: dict, kind: str | None = None) -> dict:
    """Merge a plain object (no directives) into `target` in place, lists by key: the
    merge server-side apply does once it has removed the fields a manager dropped."""
    return _Merger(kind).map(target, values, ())


def _json_type(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def _show(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)


def _directive_field(key: str, prefix: str, what: str) -> str:
    """`$setElementOrder/containers` -> `containers`; a bare prefix is malformed."""
    field = key[len(prefix) + 1 :] if key.startswith(prefix + "/") else ""
    if not field:
        raise bad_request(f"invalid patch format of {what}")
    return field


def _is_special(item: Any) -> bool:
    return isinstance(item, dict) and DIRECTIVE in item


class _Merger:
    """One patch application; `kind` disambiguates the few kind-specific list keys."""

    def __init__(self, kind: str | None) -> None:
        self.kind = kind

    # maps

    def map(self, original: dict, patch: dict, path: Path) -> dict:
        """Merge `patch` into `original` (a private copy, changed in place)."""
        if DIRECTIVE in patch:
            return self._map_directive(original, patch, path)
        self._retain_keys(original, patch)
        ordered = self._ordered_lists(original, patch, path)
        deletions: dict[str, list[Any]] = {}
        for key, value in patch.items():
            if key.startswith("$"):
                self._collect_directive(key, value, deletions)
            elif key not in ordered:
                self._merge_field(original, key, value, (*path, key))
        for field, values in deletions.items():
            current = original.get(field)
            if isinstance(current, list):
                original[field] = [x for x in current if index_of(values, x, None) < 0]
        return original

    def _map_directive(self, original: dict, patch: dict, path: Path) -> dict:
        directive = patch[DIRECTIVE]
        rest = {k: v for k, v in patch.items() if k != DIRECTIVE}
        if directive == "replace":
            return self.map({}, rest, path)
        if directive == "delete":
            return {}
        if directive == "merge":
            return self.map(original, rest, path)
        raise bad_request(
            f"unknown patch type: {_show(directive)} in map: {_show(patch)} "
            f"($patch must be one of {', '.join(PATCH_TYPES)})"
        )

    def _collect_directive(self, key: str, value: Any, deletions: dict[str, list]) -> None:
        """Validate a `$` key; keep `$deleteFromPrimitiveList` lists for the end."""
        if key == RETAIN_KEYS or key.startswith(SET_ORDER + "/"):
            return
        if key.startswith(DELETE_FROM):
            field = _directive_field(key, DELETE_FROM, "primitive list")
            if not isinstance(value, list):
                raise bad_request("invalid patch format of primitive list")
            deletions[field] = value
            return
        if key.startswith(SET_ORDER):
            _directive_field(key, SET_ORDER, "setElementOrder list")
        raise bad_request(
            f"unknown directive {key!r} in strategic merge patch (known: "
            f"$patch, {RETAIN_KEYS}, {SET_ORDER}/<list>, {DELETE_FROM}/<list>)"
        )

    def _merge_field(self, original: dict, key: str, value: Any, path: Path) -> None:
        if value is None:
            original.pop(key, None)
            return
        current = original.get(key)
        if isinstance(value, dict):
            if value.get(DIRECTIVE) == "delete" and key not in original:
                return  # deleting what is not there leaves nothing behind
            base = current if isinstance(current, dict) else {}
            original[key] = self.map(base, value, path)
        elif isinstance(value, list):
            original[key] = self.list(current if isinstance(current, list) else [], value, path)
        else:
            original[key] = value

    def _retain_keys(self, original: dict, patch: dict) -> None:
        """`$retainKeys`: drop every key of the map not listed (after validating that
        the patch itself only sets listed keys, as Kubernetes requires)."""
        if RETAIN_KEYS not in patch:
            return
        keep = patch[RETAIN_KEYS]
        if not isinstance(keep, list):
            raise bad_request("invalid patch format of retainKeys")
        for key, value in patch.items():
            if value is not None and not key.startswith("$") and key not in keep:
                raise bad_request(
                    f"invalid patch format of retainKeys: {key!r} is set "
                    f"but not in {RETAIN_KEYS} {_show(keep)}"
                )
        for key in [k for k in original if k not in keep]:
            del original[key]

    # lists

    def list(self, original: list, patch: list, path: Path) -> list:
        key = list_strategy(path, self.kind).key
        if key is None:  # atomic: replaced whole
            return [self._fresh(it, path) for it in patch if not _is_special(it)]
        if key == SET:
            return self._merge_set(original, patch)
        return self._merge_keyed(original, patch, key, path)

    def _fresh(self, item: Any, path: Path) -> Any:
        """A value the patch adds: copied, with directives and nulls processed away."""
        if isinstance(item, dict):
            return self.map({}, item, path)
        return copy.deepcopy(item)

    def _merge_set(self, original: builtins.list, patch: builtins.list) -> builtins.list:
        if any(isinstance(x, (dict, list)) for x in patch):
            raise bad_request(
                f"list element types are not identical: {_show(patch)} "
                "(expected a list of primitives)"
            )
        return normalize_order(dedupe(original + patch), patch, original, None)

    def _merge_keyed(
        self, original: builtins.list, patch: builtins.list, key: str, path: Path
    ) -> builtins.list:
        items, deletes, replace = self._split_special(patch, key)
        if replace:
            return [self._fresh(it, path) for it in items]
        base = [it for it in original if not any(matches(it, d, key) for d in deletes)]
        merged = list(base)
        for item in items:
            i = index_of(merged, item, key)
            if i >= 0 and isinstance(merged[i], dict):
                merged[i] = self.map(merged[i], item, path)
            else:
                merged.append(self._fresh(item, path))
        return normalize_order(merged, items, base, key)

    def _split_special(
        self, patch: builtins.list, key: str
    ) -> tuple[builtins.list, builtins.list, bool]:
        """Separate `$patch` elements: deletions (by key) and `replace` (whole list)."""
        items: list[dict] = []
        deletes: list[dict] = []
        replace = False
        for item in patch:
            if not isinstance(item, dict):
                raise bad_request(
                    f"expected a map, but received {_json_type(item)}: "
                    f"{_show(item)} (elements are merged by {key!r})"
                )
            directive = item.get(DIRECTIVE)
            if directive == "replace":
                replace = True
                continue
            if directive not in (None, "delete", "merge"):
                raise bad_request(
                    f"unknown patch type: {_show(directive)} in map: "
                    f"{_show(item)} ($patch must be one of "
                    f"{', '.join(PATCH_TYPES)})"
                )
            if key not in item:
                raise bad_request(f"map: {_show(item)} does not contain declared merge key: {key}")
            if directive == "delete":
                deletes.append(item)
            else:
                items.append({k: v for k, v in item.items() if k != DIRECTIVE})
        return items, deletes, replace

    # $setElementOrder

    def _ordered_lists(self, original: dict, patch: dict, path: Path) -> set[str]:
        """Merge each list named by a `$setElementOrder/<list>` and put it in that
        order; returns the lists done, so the main loop skips them."""
        done: set[str] = set()
        for dkey, order in patch.items():
            if not dkey.startswith(SET_ORDER + "/"):
                continue
            field = _directive_field(dkey, SET_ORDER, "setElementOrder list")
            patched = patch.get(field)
            if not isinstance(order, list) or (
                patched is not None and not isinstance(patched, list)
            ):
                raise bad_request("invalid patch format of setElementOrder list")
            if field in patch and patched is None:
                continue  # the list is being deleted; the main loop does that
            current = original.get(field)
            current = current if isinstance(current, list) else None
            if current is None and patched is None:
                continue
            key = list_strategy((*path, field), self.kind).key or None
            self._check_order(patched or [], order, key)
            base = current or []
            merged = base if patched is None else self.list(base, patched, (*path, field))
            original[field] = normalize_order(merged, order, base, key)
            done.add(field)
        return done

    def _check_order(self, patched: builtins.list, order: builtins.list, key: str | None) -> None:
        """The patch list's elements must appear in `$setElementOrder`, in its order."""
        if key and any(not isinstance(o, dict) or key not in o for o in order):
            raise bad_request(
                f"invalid patch format of setElementOrder list: every "
                f"element needs the merge key {key!r}: {_show(order)}"
            )
        rest = [it for it in patched if not _is_special(it)]
        i = 0
        for wanted in order:
            if i < len(rest) and matches(rest[i], wanted, key):
                i += 1
        if i < len(rest):
            raise bad_request(
                f"The order in patch list:\n{_show(patched)}\n doesn't match "
                f"{SET_ORDER} list:\n{_show(order)}"
            )
