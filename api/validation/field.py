"""The causes of a validation failure, worded as apimachinery's field.Error
(k8s.io/apimachinery/pkg/util/validation/field): "Required value", "Invalid value: <v>",
with bad values printed the way Go's %#v prints them; plus the small readers every
validator uses, which tolerate any JSON shape (validation never raises on odd shapes:
api.schema.type_errors runs before it)."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

Cause = dict[str, str]

MAX_INT32 = 2**31 - 1
IMMUTABLE = "field is immutable"
NEGATIVE = "must be greater than or equal to 0"
PORT_RANGE = "must be between 1 and 65535, inclusive"
IP_ERROR = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"
CIDR_ERROR = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)"


class GoText(str):
    """A value already rendered the way Go's %#v prints it; shown as is."""


def go_value(value: Any) -> str:
    """A bad value as Kubernetes prints it in "Invalid value: <v>": strings quoted,
    numbers bare, string maps and lists in Go syntax, anything else as JSON."""
    if isinstance(value, GoText):
        return str(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping) and all(isinstance(v, str) for v in value.values()):
        return go_string_map(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return go_string_list(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def go_string_map(value: Mapping[str, Any] | None) -> str:
    if value is None:
        return "map[string]string(nil)"
    items = ", ".join(f"{json.dumps(k)}:{json.dumps(str(v))}" for k, v in sorted(value.items()))
    return f"map[string]string{{{items}}}"


def go_string_list(value: list[Any] | None) -> str:
    if value is None:
        return "[]string(nil)"
    return "[]string{" + ", ".join(json.dumps(str(v)) for v in value) + "}"


def cause(reason: str, path: str, message: str) -> Cause:
    return {"field": path, "message": message, "reason": reason}


def required(path: str, detail: str = "") -> Cause:
    return cause("FieldValueRequired", path, "Required value" + (f": {detail}" if detail else ""))


def invalid(path: str, value: Any, detail: str = "") -> Cause:
    text = f"Invalid value: {go_value(value)}" + (f": {detail}" if detail else "")
    return cause("FieldValueInvalid", path, text)


def not_supported(path: str, value: Any, supported: Iterable[str]) -> Cause:
    values = ", ".join(json.dumps(v) for v in supported)
    text = f"Unsupported value: {go_value(value)}" + (
        f": supported values: {values}" if values else ""
    )
    return cause("FieldValueNotSupported", path, text)


def duplicate(path: str, value: Any, detail: str = "") -> Cause:
    text = f"Duplicate value: {go_value(value)}" + (f": {detail}" if detail else "")
    return cause("FieldValueDuplicate", path, text)


def forbidden(path: str, detail: str) -> Cause:
    return cause("FieldValueForbidden", path, f"Forbidden: {detail}")


def not_found(path: str, value: Any) -> Cause:
    return cause("FieldValueNotFound", path, f"Not found: {go_value(value)}")


def too_long(path: str, limit: int) -> Cause:
    return cause("FieldValueTooLong", path, f"Too long: must have at most {limit} bytes")


def as_dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def as_str(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def as_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def one_of(path: str, value: Any, supported: Iterable[str]) -> list[Cause]:
    """Required when empty, NotSupported when not one of `supported`."""
    if value in (None, ""):
        return [required(path)]
    return [] if value in supported else [not_supported(path, value, supported)]


def nonnegative(path: str, value: Any) -> list[Cause]:
    number = as_int(value)
    return [invalid(path, number, NEGATIVE)] if number is not None and number < 0 else []


def invalid_each(path: str, value: str, messages: Iterable[str]) -> list[Cause]:
    return [invalid(path, value, m) for m in messages]


def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def is_cidr(value: str) -> bool:
    try:
        ipaddress.ip_network(value, strict=False)
    except ValueError:
        return False
    return "/" in value
