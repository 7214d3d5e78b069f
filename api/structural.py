"""Structural schemas, as kube-apiextensions-apiserver applies a CRD's openAPIV3Schema to
its objects: pruning of unknown fields (and of nulls where not nullable), defaulting,
then validation of the OpenAPI v3 subset Kubernetes accepts. Also the check that a
schema *is* structural, which CRD validation runs. Pure functions on JSON dicts.

Paths are printed as Kubernetes prints them in causes: `spec.items[0].name`."""

from __future__ import annotations

import base64
import copy
import json
import re
from datetime import datetime
from typing import Any

from api import celrules
from api.schema import json_type

Obj = dict[str, Any]
Cause = dict[str, str]

PRESERVE = "x-kubernetes-preserve-unknown-fields"
INT_OR_STRING = "x-kubernetes-int-or-string"
EMBEDDED = "x-kubernetes-embedded-resource"
LIST_TYPE = "x-kubernetes-list-type"
LIST_MAP_KEYS = "x-kubernetes-list-map-keys"
MAP_TYPE = "x-kubernetes-map-type"
_META_FIELDS = ("apiVersion", "kind", "metadata")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _show(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    if value is None:
        return '"null"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    return json.dumps(value, separators=(",", ":"))


# --- pruning ---------------------------------------------------------------------------


def prune(schema: Obj | None, obj: Obj) -> list[str]:
    """Drop, in place, every field the schema does not specify (unless it preserves
    unknown fields), and nulls where a field is not nullable. Returns the paths of the
    unknown fields (nulls are dropped silently, as Kubernetes does)."""
    if not schema:
        return []
    unknown: list[str] = []
    _prune_object(schema, obj, "", unknown, root=True)
    return unknown


def _prune(schema: Obj, value: Any, path: str, unknown: list[str]) -> None:
    if isinstance(value, dict):
        _prune_object(schema, value, path, unknown, root=bool(schema.get(EMBEDDED)))
    elif isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, dict):
            for i, item in enumerate(value):
                _prune(items, item, f"{path}[{i}]", unknown)


def _prune_object(schema: Obj, obj: Obj, path: str, unknown: list[str], root: bool) -> None:
    props = schema.get("properties") or {}
    additional = schema.get("additionalProperties")
    preserve = bool(schema.get(PRESERVE))
    for key in list(obj):
        if root and key in _META_FIELDS and key not in props:
            continue
        sub = props.get(key)
        if sub is None and isinstance(additional, dict):
            sub = additional
        if sub is None:
            if preserve or additional is True:
                continue
            unknown.append(_join(path, key))
            del obj[key]
            continue
        if obj[key] is None and not sub.get("nullable"):
            del obj[key]
            continue
        _prune(sub, obj[key], _join(path, key), unknown)


# --- defaulting ------------------------------------------------------------------------


def default(schema: Obj | None, obj: Any) -> None:
    """Fill, in place, every absent field that has a `default` (recursively: a default
    object is itself defaulted below)."""
    if not schema:
        return
    if isinstance(obj, dict):
        props = schema.get("properties") or {}
        for key, sub in props.items():
            if not isinstance(sub, dict):
                continue
            if key not in obj and "default" in sub:
                obj[key] = copy.deepcopy(sub["default"])
            if key in obj:
                default(sub, obj[key])
        additional = schema.get("additionalProperties")
        if isinstance(additional, dict):
            for key in obj:
                if key not in props:
                    default(additional, obj[key])
    elif isinstance(obj, list) and isinstance(schema.get("items"), dict):
        for item in obj:
            default(schema["items"], item)


# --- validation ------------------------------------------------------------------------


class _Missing:
    """No previous value (a create, or a new field): transition rules do not run."""


MISSING: Any = _Missing()


def validate(schema: Obj | None, obj: Obj, old: Obj | None = None) -> list[Cause]:
    """Causes for every value the schema refuses (the root's apiVersion, kind and
    metadata are the generic store's business). With `old`, CEL transition rules
    (`oldSelf`) run too."""
    if not schema:
        return []
    causes: list[Cause] = []

    def root_of(o: Obj) -> Obj:
        root = {
            k: v
            for k, v in o.items()
            if k not in _META_FIELDS or k in (schema.get("properties") or {})
        }
        if isinstance(root.get("metadata"), dict):
            root.pop("metadata")  # metadata is validated as ObjectMeta
        return root

    _validate(schema, root_of(obj), "", causes, MISSING if old is None else root_of(old))
    return causes


def _invalid(path: str, value: Any, detail: str) -> Cause:
    return {
        "field": path,
        "reason": "FieldValueInvalid",
        "message": f"Invalid value: {_show(value)}: {detail}",
    }


def _where(path: str) -> str:
    return f"{path or 'body'} in body" if path else "body"


def _type_ok(type_: str, value: Any) -> bool:
    if type_ == "object":
        return isinstance(value, dict)
    if type_ == "array":
        return isinstance(value, list)
    if type_ == "string":
        return isinstance(value, str)
    if type_ == "boolean":
        return isinstance(value, bool)
    if type_ == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, float) and value.is_integer()
        )
    if type_ == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return True


_FORMATS = {
    "int32": lambda v: isinstance(v, int) and -(2**31) <= v < 2**31,
    "int64": lambda v: isinstance(v, int) and -(2**63) <= v < 2**63,
    "date-time": lambda v: _parses_datetime(v),
    "datetime": lambda v: _parses_datetime(v),
    "date": lambda v: bool(re.fullmatch(r"\d{4}-\d{2}-\d{2}", v)),
    "uuid": lambda v: bool(
        re.fullmatch(
            r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}", v
        )
    ),
    "byte": lambda v: _parses_base64(v),
    "ipv4": lambda v: (
        bool(re.fullmatch(r"(\d{1,3}\.){3}\d{1,3}", v)) and all(int(p) < 256 for p in v.split("."))
    ),
    "hostname": lambda v: bool(
        re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*", v)
    ),
    "email": lambda v: bool(re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", v)),
}


def _parses_datetime(v: str) -> bool:
    try:
        datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        return False
    return True


def _parses_base64(v: str) -> bool:
    try:
        base64.b64decode(v, validate=True)
    except ValueError:
        return False
    return True


def _validate(schema: Obj, value: Any, path: str, causes: list[Cause], old: Any = MISSING) -> None:
    if value is None:
        if not schema.get("nullable"):
            want = schema.get("type") or "object"
            causes.append(_invalid(path, None, f'{_where(path)} must be of type {want}: "null"'))
        return
    if schema.get(INT_OR_STRING):
        if not (isinstance(value, str) or _type_ok("integer", value)):
            causes.append(
                _invalid(path, value, f"{_where(path)} must be of type integer or string")
            )
            return
    elif (type_ := schema.get("type")) and not _type_ok(type_, value):
        kind = json_type(value)  # never None here: nulls are handled above
        causes.append(
            {
                "field": path,
                "reason": "FieldValueTypeInvalid",
                "message": f'Invalid value: "{kind}": {_where(path)} '
                f'must be of type {type_}: "{kind}"',
            }
        )
        return
    if "enum" in schema and value not in schema["enum"]:
        supported = ", ".join(_show(e) for e in schema["enum"])
        causes.append(
            {
                "field": path,
                "reason": "FieldValueNotSupported",
                "message": f"Unsupported value: {_show(value)}: supported values: {supported}",
            }
        )
    if isinstance(value, str):
        _validate_string(schema, value, path, causes)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        _validate_number(schema, value, path, causes)
    elif isinstance(value, list):
        _validate_array(schema, value, path, causes)
    elif isinstance(value, dict):
        _validate_object(schema, value, path, causes, old)
    _validate_combinators(schema, value, path, causes)
    if rules := schema.get(celrules.RULES):
        causes += celrules.check(rules, value, path, old, old is not MISSING)


def _validate_string(schema: Obj, value: str, path: str, causes: list[Cause]) -> None:
    if (n := schema.get("maxLength")) is not None and len(value) > n:
        causes.append(
            {
                "field": path,
                "reason": "FieldValueTooLong",
                "message": f"Too long: may not be more than {n} bytes",
            }
        )
    if (n := schema.get("minLength")) is not None and len(value) < n:
        causes.append(_invalid(path, value, f"{_where(path)} should be at least {n} chars long"))
    if (pattern := schema.get("pattern")) is not None:
        try:
            matched = re.search(pattern, value) is not None
        except re.error:
            matched = True
        if not matched:
            causes.append(_invalid(path, value, f"{_where(path)} should match '{pattern}'"))
    fmt = schema.get("format")
    if fmt in _FORMATS and fmt not in ("int32", "int64") and not _FORMATS[fmt](value):
        causes.append(
            _invalid(path, value, f"{_where(path)} must be of type {fmt}: {_show(value)}")
        )


def _validate_number(schema: Obj, value: float, path: str, causes: list[Cause]) -> None:
    if (n := schema.get("minimum")) is not None:
        if schema.get("exclusiveMinimum") and value <= n:
            causes.append(_invalid(path, value, f"{_where(path)} should be greater than {n}"))
        elif value < n:
            causes.append(
                _invalid(path, value, f"{_where(path)} should be greater than or equal to {n}")
            )
    if (n := schema.get("maximum")) is not None:
        if schema.get("exclusiveMaximum") and value >= n:
            causes.append(_invalid(path, value, f"{_where(path)} should be less than {n}"))
        elif value > n:
            causes.append(
                _invalid(path, value, f"{_where(path)} should be less than or equal to {n}")
            )
    if (n := schema.get("multipleOf")) and (value / n) != int(value / n):
        causes.append(_invalid(path, value, f"{_where(path)} should be a multiple of {n}"))
    fmt = schema.get("format")
    if fmt in ("int32", "int64") and isinstance(value, int) and not _FORMATS[fmt](value):
        causes.append(_invalid(path, value, f"{_where(path)} must be of type {fmt}"))


def _validate_array(schema: Obj, value: list, path: str, causes: list[Cause]) -> None:
    if (n := schema.get("maxItems")) is not None and len(value) > n:
        causes.append(
            {
                "field": path,
                "reason": "FieldValueTooMany",
                "message": f"Too many: {len(value)}: must have at most {n} items",
            }
        )
    if (n := schema.get("minItems")) is not None and len(value) < n:
        causes.append(_invalid(path, value, f"{_where(path)} should have at least {n} items"))
    items = schema.get("items")
    if isinstance(items, dict):
        for i, item in enumerate(value):
            _validate(items, item, f"{path}[{i}]", causes)
    list_type = schema.get(LIST_TYPE)
    if list_type == "set":
        seen: list[Any] = []
        for i, item in enumerate(value):
            if item in seen:
                causes.append(
                    {
                        "field": f"{path}[{i}]",
                        "reason": "FieldValueDuplicate",
                        "message": f"Duplicate value: {_show(item)}",
                    }
                )
            seen.append(item)
    elif list_type == "map":
        keys = schema.get(LIST_MAP_KEYS) or []
        seen_keys: list[tuple] = []
        for i, item in enumerate(value):
            if not isinstance(item, dict):
                continue
            key = tuple(item.get(k) for k in keys)
            if key in seen_keys:
                shown = ", ".join(f'"{k}":{_show(item.get(k))}' for k in keys)
                causes.append(
                    {
                        "field": f"{path}[{i}]",
                        "reason": "FieldValueDuplicate",
                        "message": f"Duplicate value: map[string]interface {{}}{{{shown}}}",
                    }
                )
            seen_keys.append(key)


def _validate_object(
    schema: Obj, value: Obj, path: str, causes: list[Cause], old: Any = MISSING
) -> None:
    for key in schema.get("required") or []:
        if key not in value:
            causes.append(
                {
                    "field": _join(path, key),
                    "reason": "FieldValueRequired",
                    "message": "Required value",
                }
            )
    if (n := schema.get("maxProperties")) is not None and len(value) > n:
        causes.append(
            {
                "field": path,
                "reason": "FieldValueTooMany",
                "message": f"Too many: {len(value)}: must have at most {n} items",
            }
        )
    if (n := schema.get("minProperties")) is not None and len(value) < n:
        causes.append(_invalid(path, value, f"{_where(path)} should have at least {n} properties"))
    if schema.get(EMBEDDED):
        for key in ("apiVersion", "kind"):
            if not value.get(key):
                causes.append(
                    {
                        "field": _join(path, key),
                        "reason": "FieldValueRequired",
                        "message": "Required value: must not be empty",
                    }
                )
    props = schema.get("properties") or {}
    additional = schema.get("additionalProperties")
    for key, item in value.items():
        sub = props.get(key)
        if sub is None and isinstance(additional, dict):
            sub = additional
        if isinstance(sub, dict):
            old_item = old.get(key, MISSING) if isinstance(old, dict) else MISSING
            _validate(sub, item, _join(path, key), causes, old_item)


def _validate_combinators(schema: Obj, value: Any, path: str, causes: list[Cause]) -> None:
    def ok(sub: Obj) -> bool:
        found: list[Cause] = []
        _validate(sub, value, path, found)
        return not found

    for sub in schema.get("allOf") or []:
        _validate(sub, value, path, causes)
    if (any_of := schema.get("anyOf")) and not any(ok(s) for s in any_of):
        causes.append(
            _invalid(path, value, f"{_where(path)} must validate at least one schema (anyOf)")
        )
    if (one_of := schema.get("oneOf")) and sum(ok(s) for s in one_of) != 1:
        causes.append(
            _invalid(path, value, f"{_where(path)} must validate one and only one schema (oneOf)")
        )
    if isinstance(schema.get("not"), dict) and ok(schema["not"]):
        causes.append(_invalid(path, value, f"{_where(path)} must not validate the schema (not)"))


# --- is the schema structural? -----------------------------------------------------------

_TYPES = ("object", "array", "string", "integer", "number", "boolean")
_LIST_TYPES = ("atomic", "set", "map")


def structural_errors(schema: Any, path: str) -> list[Cause]:
    """Kubernetes' structural schema rules (a subset): a type everywhere a value is
    specified, object at the root, `items` for arrays, no `$ref`/`uniqueItems`, sane
    list types, and at the root's metadata only name and generateName."""
    causes: list[Cause] = []
    if not isinstance(schema, dict):
        return [{"field": path, "reason": "FieldValueRequired", "message": "Required value"}]
    if schema.get("type") != "object":
        causes.append(
            {
                "field": f"{path}.type",
                "reason": "FieldValueInvalid" if schema.get("type") else "FieldValueRequired",
                "message": 'Invalid value: "'
                + str(schema.get("type"))
                + '": must be object at the root'
                if schema.get("type")
                else "Required value: must not be empty at the root",
            }
        )
    meta = (schema.get("properties") or {}).get("metadata")
    if isinstance(meta, dict):
        for key in meta:
            if key not in ("type", "properties", "description"):
                causes.append(
                    _forbidden(f"{path}.properties[metadata].{key}", "must not be specified")
                )
        for prop in meta.get("properties") or {}:
            if prop not in ("name", "generateName"):
                causes.append(
                    _forbidden(
                        f"{path}.properties[metadata].properties[{prop}]", "must not be specified"
                    )
                )
    _structural(schema, path, causes, root=True)
    return causes


def _forbidden(path: str, message: str) -> Cause:
    return {"field": path, "reason": "FieldValueForbidden", "message": f"Forbidden: {message}"}


def _structural(schema: Obj, path: str, causes: list[Cause], root: bool = False) -> None:
    type_ = schema.get("type")
    if type_ is not None and type_ not in _TYPES:
        causes.append(
            {
                "field": f"{path}.type",
                "reason": "FieldValueNotSupported",
                "message": f'Unsupported value: "{type_}": supported values: '
                + ", ".join(f'"{t}"' for t in _TYPES),
            }
        )
    if not type_ and not root and not schema.get(INT_OR_STRING) and not schema.get(PRESERVE):
        causes.append(
            {
                "field": f"{path}.type",
                "reason": "FieldValueRequired",
                "message": "Required value: must not be empty for specified object fields"
                if schema.get("properties")
                else "Required value: must not be empty",
            }
        )
    if schema.get(INT_OR_STRING) and type_:
        causes.append(
            _forbidden(f"{path}.type", "must be empty if x-kubernetes-int-or-string is true")
        )
    if "$ref" in schema:
        causes.append(_forbidden(f"{path}.$ref", "$ref is not supported"))
    if schema.get("uniqueItems"):
        causes.append(
            _forbidden(
                f"{path}.uniqueItems",
                "uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
            )
        )
    if (
        "properties" in schema
        and "additionalProperties" in schema
        and schema["additionalProperties"] is not False
    ):
        causes.append(
            _forbidden(
                f"{path}.additionalProperties",
                "additionalProperties and properties are mutual exclusive",
            )
        )
    if type_ == "array" and not isinstance(schema.get("items"), dict):
        causes.append(
            {
                "field": f"{path}.items",
                "reason": "FieldValueRequired",
                "message": "Required value: must be specified",
            }
        )
    if (lt := schema.get(LIST_TYPE)) is not None:
        if lt not in _LIST_TYPES:
            causes.append(
                {
                    "field": f"{path}.{LIST_TYPE}",
                    "reason": "FieldValueNotSupported",
                    "message": f'Unsupported value: "{lt}": '
                    'supported values: "atomic", "map", "set"',
                }
            )
        if lt == "map" and not schema.get(LIST_MAP_KEYS):
            causes.append(
                {
                    "field": f"{path}.{LIST_MAP_KEYS}",
                    "reason": "FieldValueRequired",
                    "message": "Required value: must not be empty if x-kubernetes-list-type is map",
                }
            )
    if (mt := schema.get(MAP_TYPE)) is not None and mt not in ("granular", "atomic"):
        causes.append(
            {
                "field": f"{path}.{MAP_TYPE}",
                "reason": "FieldValueNotSupported",
                "message": f'Unsupported value: "{mt}": supported values: "atomic", "granular"',
            }
        )
    if schema.get(EMBEDDED) and type_ != "object":
        causes.append(
            {
                "field": f"{path}.type",
                "reason": "FieldValueRequired",
                "message": "Required value: must be object if "
                "x-kubernetes-embedded-resource is true",
            }
        )
    for i, rule in enumerate(schema.get(celrules.RULES) or []):
        text = str(rule.get("rule", "")) if isinstance(rule, dict) else ""
        where = f"{path}.{celrules.RULES}[{i}].rule"
        if not text:
            causes.append(
                {"field": where, "reason": "FieldValueRequired", "message": "Required value"}
            )
        elif (problem := celrules.compile_error(text)) is not None:
            causes.append(
                {
                    "field": where,
                    "reason": "FieldValueInvalid",
                    "message": f"Invalid value: {json.dumps(text)}: compilation failed: {problem}",
                }
            )
    if "default" in schema and root:
        causes.append(_forbidden(f"{path}.default", "must not be set at the root"))
    for key, sub in (schema.get("properties") or {}).items():
        if isinstance(sub, dict):
            _structural(sub, f"{path}.properties[{key}]", causes)
    if isinstance(schema.get("items"), dict):
        _structural(schema["items"], f"{path}.items", causes)
    if isinstance(schema.get("additionalProperties"), dict):
        _structural(schema["additionalProperties"], f"{path}.additionalProperties", causes)
