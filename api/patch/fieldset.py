"""Field sets: which fields of an object a manager owns, as `metadata.managedFields`
records them (`fieldsType: FieldsV1`).

A field path is a tuple of Kubernetes' FieldsV1 segments: `f:<field>`, `k:<json of the
merge key>` for an element of a keyed list, `v:<json value>` for an element of a set.
A FieldsV1 tree nests them; `".": {}` marks that the node itself is owned (a list
element), and a leaf `{}` an owned value. Lists are keyed by the same table strategic
merge patch uses (one key; Kubernetes also keys ports by `protocol`).
"""

from __future__ import annotations

import json
from typing import Any

from api.patch.keys import list_strategy
from api.patch.lists import has_key, same

Path = tuple[str, ...]
MISSING: Any = object()

# Fields nobody owns: identity and server-set metadata (Kubernetes' stripMeta manager).
_UNOWNED = {
    (): {"apiVersion", "kind"},
    ("metadata",): {
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "selfLink",
        "managedFields",
    },
}


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def key_segment(key: str, value: Any) -> str:
    return "k:" + _json({key: value})


def value_segment(value: Any) -> str:
    return "v:" + _json(value)


# computing a field set


def field_paths(obj: dict, kind: str | None = None) -> set[Path]:
    """Every field `obj` sets: leaves, plus each keyed-list or set element."""
    out: set[Path] = set()
    _walk_map(obj, (), (), kind or obj.get("kind"), out)
    return out


def _walk_map(
    obj: dict, ctx: tuple[str, ...], path: Path, kind: str | None, out: set[Path]
) -> None:
    unowned = _UNOWNED.get(ctx, set()) if len(path) == len(ctx) else set()
    for key, value in obj.items():
        if value is not None and key not in unowned:
            _walk_value(value, (*ctx, key), (*path, f"f:{key}"), kind, out)


def _walk_value(
    value: Any, ctx: tuple[str, ...], path: Path, kind: str | None, out: set[Path]
) -> None:
    if isinstance(value, dict) and value:
        _walk_map(value, ctx, path, kind, out)
    elif not (isinstance(value, list) and value and _walk_list(value, ctx, path, kind, out)):
        out.add(path)  # a scalar, an empty map or list, or an atomic list


def _walk_list(
    items: list, ctx: tuple[str, ...], path: Path, kind: str | None, out: set[Path]
) -> bool:
    """Add a merging list's elements; False if the list is atomic after all."""
    strategy = list_strategy(ctx, kind)
    if strategy.is_set and not any(isinstance(i, (dict, list)) for i in items):
        out.update((*path, value_segment(i)) for i in items)
        return True
    key = strategy.key
    if not key or not all(has_key(i, key) for i in items):
        return False
    for item in items:
        item_path = (*path, key_segment(key, item[key]))
        out.add(item_path)
        _walk_map(item, ctx, item_path, kind, out)
    return True


# FieldsV1 trees


def to_fields_v1(paths: set[Path]) -> dict:
    """Encode paths as a FieldsV1 tree (`"."` first, then segments sorted)."""
    tree: dict = {}
    for path in paths:
        node = tree
        for seg in path:
            node = node.setdefault(seg, {})
    for path in paths:
        node = _node(tree, path)
        if node:
            node["."] = {}
    return _sorted(tree)


def _node(tree: dict, path: Path) -> dict:
    for seg in path:
        tree = tree[seg]
    return tree


def _sorted(tree: dict) -> dict:
    return {k: _sorted(tree[k]) for k in sorted(tree, key=lambda k: (k != ".", k))}


def from_fields_v1(tree: Any, prefix: Path = ()) -> set[Path]:
    """Decode a FieldsV1 tree; anything malformed owns nothing."""
    out: set[Path] = set()
    if not isinstance(tree, dict):
        return out
    for seg, sub in tree.items():
        if seg == ".":
            if prefix:
                out.add(prefix)
        elif sub:
            out |= from_fields_v1(sub, (*prefix, seg))
        else:
            out.add((*prefix, seg))
    return out


def fields_v1(obj: dict, kind: str | None = None) -> dict:
    """The FieldsV1 tree of every field `obj` sets (what a create's manager owns)."""
    return to_fields_v1(field_paths(obj, kind))


def path_string(path: Path) -> str:
    """Kubernetes' printed form: `.spec.containers[name="web"].image`."""
    parts = []
    for seg in path:
        tag, body = seg[:2], seg[2:]
        if tag == "f:":
            parts.append("." + body)
        elif tag == "k:":
            key = json.loads(body)
            parts.append("[" + ",".join(f"{k}={_json(v)}" for k, v in key.items()) + "]")
        else:
            parts.append("[=" + body + "]")
    return "".join(parts)


# reading and removing by path


def lookup(obj: Any, path: Path) -> Any:
    """The value at `path`, or MISSING."""
    node = obj
    for seg in path:
        node = _child(node, seg)
        if node is MISSING:
            break
    return node


def _child(node: Any, seg: str) -> Any:
    tag, body = seg[:2], seg[2:]
    if tag == "f:":
        return node.get(body, MISSING) if isinstance(node, dict) else MISSING
    if not isinstance(node, list):
        return MISSING
    want = json.loads(body)
    for item in node:
        if tag == "k:" and _has_key_values(item, want):
            return item
        if tag == "v:" and same(item, want):
            return item
    return MISSING


def _has_key_values(item: Any, want: dict) -> bool:
    return isinstance(item, dict) and all(k in item and same(item[k], v) for k, v in want.items())


def remove(obj: Any, path: Path) -> bool:
    """Delete the field or element at `path`; maps and lists it leaves empty go too."""
    if not path:
        return False
    if len(path) == 1:
        return _drop(obj, path[0])
    child = _child(obj, path[0])
    if child is MISSING or not remove(child, path[1:]):
        return False
    if isinstance(child, (dict, list)) and not child:
        _drop(obj, path[0])
    return True


def _drop(node: Any, seg: str) -> bool:
    tag, body = seg[:2], seg[2:]
    if tag == "f:":
        return isinstance(node, dict) and node.pop(body, MISSING) is not MISSING
    if not isinstance(node, list):
        return False
    before = len(node)
    want = json.loads(body)
    if tag == "k:":
        node[:] = [it for it in node if not _has_key_values(it, want)]
    else:
        node[:] = [it for it in node if not same(it, want)]
    return len(node) != before


def is_key_field(path: Path) -> bool:
    """Whether `path` is the merge-key field of a keyed-list element."""
    if len(path) < 2 or not path[-2].startswith("k:") or not path[-1].startswith("f:"):
        return False
    return path[-1][2:] in json.loads(path[-2][2:])
