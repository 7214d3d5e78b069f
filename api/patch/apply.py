"""Server-side apply (`application/apply-patch+yaml`) and the managedFields bookkeeping
of ordinary writes.

An apply configuration states every field its manager cares about. Applying it sets
those fields (lists merged by key, as strategic merge patch does), removes the fields
the same manager applied before but no longer mentions (unless another manager owns
them too), and records the manager's field set in `metadata.managedFields`. Changing
a field another manager owns with a different value is a 409 conflict unless forced;
forcing takes the field over. Simplifications: one merge key per list (Kubernetes adds
`protocol` for ports), no defaulted-key matching, no per-version field conversion.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from api.errors import Conflict, bad_request
from api.patch.fieldset import (
    MISSING,
    Path,
    field_paths,
    from_fields_v1,
    is_key_field,
    lookup,
    path_string,
    remove,
    to_fields_v1,
)
from api.patch.lists import deep_same
from api.patch.strategic import merge_into
from api.timefmt import rfc3339

APPLY = "Apply"
UPDATE = "Update"


def now_rfc3339() -> str:
    return rfc3339()


def apply_patch(
    live: dict | None, applied: dict, manager: str, force: bool = False, now: str | None = None
) -> dict:
    """Server-side apply `applied` by `manager` onto `live` (None: create it)."""
    config = _config(applied)
    kind = config.get("kind") or (live or {}).get("kind")
    api_version = config.get("apiVersion") or (live or {}).get("apiVersion", "")
    wanted = field_paths(config, kind)
    entry = _entry(manager, APPLY, api_version, now or now_rfc3339(), wanted) if wanted else None
    if live is None:
        return _with_entries(config, [entry] if entry else [])
    owners = _Owners(live, manager)
    conflicts = owners.conflicts(live, config, wanted)
    if conflicts and not force:
        raise _conflict_error([(owners.entries[i], path) for i, path in conflicts])
    owners.take(conflicts)
    result = copy.deepcopy(live)
    _remove_dropped(result, owners.previous - wanted, wanted, owners.others())
    result = merge_into(result, config, kind)
    if not conflicts and owners.previous == wanted and deep_same(_strip(result), _strip(live)):
        entry = owners.keep_mine(entry)  # nothing happened: not even the time moves
    return _with_entries(result, owners.entries_with(entry))


class _Owners:
    """The managedFields of a live object, seen by one applier."""

    def __init__(self, live: dict, manager: str) -> None:
        self.entries = copy.deepcopy((live.get("metadata") or {}).get("managedFields") or [])
        self.mine = _find(self.entries, manager, APPLY, None)
        self.owned = {
            i: from_fields_v1(e.get("fieldsV1"))
            for i, e in enumerate(self.entries)
            if i != self.mine
        }
        self.previous = (
            from_fields_v1(self.entries[self.mine].get("fieldsV1"))
            if self.mine is not None
            else set()
        )
        self.taken: set[int] = set()

    def others(self) -> list[set[Path]]:
        return list(self.owned.values())

    def conflicts(self, live: dict, config: dict, wanted: set[Path]) -> list[tuple[int, Path]]:
        """(entry index, path) for each field the config changes that another manager
        owns."""
        out: list[tuple[int, Path]] = []
        for path in sorted(wanted):
            if not path[-1].startswith("f:"):
                continue
            have = lookup(live, path)
            if have is MISSING or deep_same(have, lookup(config, path)):
                continue
            out.extend((i, path) for i, paths in self.owned.items() if path in paths)
        return out

    def take(self, conflicts: list[tuple[int, Path]]) -> None:
        """Forced: the other managers lose the fields in conflict."""
        for i, path in conflicts:
            self.owned[i].discard(path)
            self.taken.add(i)

    def keep_mine(self, entry: dict | None) -> dict | None:
        old = self.entries[self.mine] if self.mine is not None else None
        same_version = entry and old and old.get("apiVersion") == entry["apiVersion"]
        return old if same_version else entry

    def entries_with(self, mine: dict | None) -> list[dict]:
        """The new managedFields: the applier's entry where it was (or last), others
        trimmed of what was taken, managers owning nothing dropped."""
        out = []
        for i, entry in enumerate(self.entries):
            if i == self.mine:
                out.append(mine)
            elif self.owned[i]:
                out.append(_refill(entry, self.owned[i]) if i in self.taken else entry)
        if self.mine is None:
            out.append(mine)
        return [e for e in out if e]


def update_managed_fields(
    old: dict | None,
    new: dict,
    manager: str,
    operation: str = UPDATE,
    subresource: str | None = None,
    now: str | None = None,
) -> dict:
    """Record an ordinary write (create, update, patch) by `manager`: it owns the fields
    it changed, other managers lose those, and nobody owns fields that are gone.

    The entries start from `new`'s managedFields when it carries the key (a client may
    rewrite them), else from `old`'s."""
    kind = new.get("kind")
    new_paths = field_paths(new, kind)
    gone = field_paths(old, kind) - new_paths if old else set()
    changed = {p for p in new_paths if _changed(old, new, p)}
    meta = new.get("metadata") or {}
    base = (
        meta["managedFields"]
        if "managedFields" in meta
        else ((old or {}).get("metadata") or {}).get("managedFields")
    )
    entries = copy.deepcopy(base or [])
    api_version = new.get("apiVersion", "")
    mine = _find(entries, manager, operation, subresource, api_version)
    out = []
    for i, entry in enumerate(entries):
        paths = from_fields_v1(entry.get("fieldsV1"))
        kept = paths - gone if i == mine else paths - gone - changed
        if i == mine:
            kept |= changed
        if kept == paths:
            out.append(entry)
        elif kept:
            out.append(
                _entry(manager, operation, api_version, now or now_rfc3339(), kept, subresource)
                if i == mine
                else _refill(entry, kept)
            )
    if mine is None and changed:
        out.append(
            _entry(manager, operation, api_version, now or now_rfc3339(), changed, subresource)
        )
    return _with_entries(copy.deepcopy(new), out)


# the apply configuration


def _config(applied: Any) -> dict:
    """Validate the apply body and drop its nulls (a null states no opinion)."""
    if not isinstance(applied, dict):
        raise bad_request("an apply patch must be a JSON or YAML object")
    if (applied.get("metadata") or {}).get("managedFields"):
        raise bad_request("metadata.managedFields must be nil")
    return _clean(applied)


def _clean(value: Any) -> Any:
    if isinstance(value, dict):
        for key in value:
            if isinstance(key, str) and key.startswith("$"):
                raise bad_request(
                    f"an apply configuration cannot hold the patch directive "
                    f"{key!r}: it is a plain object, not a strategic merge patch"
                )
        return {k: _clean(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


# conflicts


def _who(entry: dict) -> str:
    """How Kubernetes names a manager in conflict messages."""
    name = f'"{entry.get("manager", "")}"'
    if entry.get("operation") == UPDATE:
        return f"{name} using {entry.get('apiVersion', '')}"
    return name


def _conflict_error(conflicts: list[tuple[dict, Path]]) -> Conflict:
    """Kubernetes' wording: one line for one conflict, else grouped by manager."""
    causes = [
        {
            "type": "FieldManagerConflict",
            "message": f"conflict with {_who(entry)}",
            "field": path_string(p),
        }
        for entry, p in conflicts
    ]
    if len(conflicts) == 1:
        entry, path = conflicts[0]
        text = f"conflict with {_who(entry)}: {path_string(path)}"
    else:
        by_manager: dict[str, list[str]] = {}
        for entry, path in conflicts:
            by_manager.setdefault(_who(entry), []).append(path_string(path))
        text = "\n".join(
            f"conflicts with {who}:\n" + "\n".join(f"- {p}" for p in paths)
            for who, paths in sorted(by_manager.items())
        )
    count = f"{len(conflicts)} conflict" + ("s" if len(conflicts) > 1 else "")
    return Conflict(409, f"Apply failed with {count}: {text}", "Conflict", {"causes": causes})


# removal of fields the manager stopped applying


def _remove_dropped(
    obj: dict, dropped: set[Path], wanted: set[Path], others: Iterable[set[Path]]
) -> None:
    """Remove what only this manager owned; keep what anyone still claims, under it,
    and the merge keys of elements that stay."""
    kept = set(wanted).union(*others)
    for path in sorted(dropped, key=len):
        if path in kept or any(k[: len(path)] == path for k in kept):
            continue
        if is_key_field(path) and lookup(obj, path[:-1]) is not MISSING:
            continue
        remove(obj, path)


# managedFields entries


def _entry(
    manager: str,
    operation: str,
    api_version: str,
    time: str,
    paths: set[Path],
    subresource: str | None = None,
) -> dict:
    entry = {
        "manager": manager,
        "operation": operation,
        "apiVersion": api_version,
        "time": time,
        "fieldsType": "FieldsV1",
        "fieldsV1": to_fields_v1(paths),
    }
    if subresource:
        entry["subresource"] = subresource
    return entry


def _refill(entry: dict, paths: set[Path]) -> dict:
    return {**entry, "fieldsV1": to_fields_v1(paths)}


def _find(
    entries: list[dict],
    manager: str,
    operation: str,
    subresource: str | None,
    api_version: str | None = None,
) -> int | None:
    """The entry of this manager identity (Update entries are per apiVersion)."""
    for i, e in enumerate(entries):
        if (
            e.get("manager") == manager
            and e.get("operation") == operation
            and e.get("subresource") == subresource
            and (api_version is None or e.get("apiVersion") == api_version)
        ):
            return i
    return None


def _with_entries(obj: dict, entries: list[dict]) -> dict:
    meta = obj.setdefault("metadata", {})
    if entries:
        meta["managedFields"] = entries
    else:
        meta.pop("managedFields", None)
    return obj


def _strip(obj: dict) -> dict:
    """`obj` without its managedFields, to compare contents."""
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k != "managedFields"}
    return {**obj, "metadata": meta}


def _changed(old: dict | None, new: dict, path: Path) -> bool:
    """A field is changed if it is new or its value differs; a list element (`k:`,
    `v:`) only if it is new, since its fields carry their own ownership."""
    before = MISSING if old is None else lookup(old, path)
    if before is MISSING:
        return True
    return path[-1].startswith("f:") and not deep_same(before, lookup(new, path))
