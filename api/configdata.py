"""ConfigMap and Secret payloads: base64 as Go decodes it, `stringData` folded into
`data` (Kubernetes does this when it converts a v1 Secret, so `stringData` is never
stored nor returned), and reading one key's value back as text or bytes."""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

_ALPHABET = re.compile(r"[^A-Za-z0-9+/=]")


def base64_error(text: str) -> str | None:
    """Go's StdEncoding error for `text` ("illegal base64 data at input byte N"),
    None when it decodes. Go skips CR and LF, as here."""
    text = text.replace("\r", "").replace("\n", "")
    bad = _ALPHABET.search(text)
    if bad is not None:
        return f"illegal base64 data at input byte {bad.start()}"
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        at = len(text) - len(text) % 4 if len(text) % 4 else max(0, text.find("="))
        return f"illegal base64 data at input byte {at}"
    return None


def decode(text: Any) -> bytes:
    """The bytes of a base64 value ("" for anything that does not decode)."""
    try:
        return base64.b64decode(str(text).replace("\r", "").replace("\n", ""), validate=True)
    except (binascii.Error, ValueError):
        return b""


def encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def merge_string_data(secret: dict) -> None:
    """In place: each `stringData` entry overwrites `data`'s, base64-encoded; then
    `stringData` goes."""
    string_data = secret.pop("stringData", None)
    if isinstance(string_data, dict) and string_data:
        data = secret.get("data")
        data = dict(data) if isinstance(data, dict) else {}
        for key, value in string_data.items():
            data[key] = encode(str(value if value is not None else "").encode())
        secret["data"] = data


def bad_binary_fields(kind: str, obj: dict) -> list[tuple[str, str]]:
    """(field, Go's error) for each base64 field of a Secret (`data`) or ConfigMap
    (`binaryData`) that does not decode."""
    field = "data" if kind == "Secret" else "binaryData"
    values = obj.get(field)
    out = []
    for key, value in sorted((values or {}).items() if isinstance(values, dict) else []):
        error = base64_error(value if isinstance(value, str) else "")
        if error is not None:
            out.append((f"{field}.{key}", error))
    return out


def value_bytes(kind: str, obj: dict, key: str) -> bytes | None:
    """The raw value of `key` in a ConfigMap (data, then binaryData) or Secret (data);
    None when the key is absent."""
    data = obj.get("data") or {}
    if key in data:
        return decode(data[key]) if kind == "Secret" else str(data[key]).encode()
    binary = obj.get("binaryData") or {}
    if kind == "ConfigMap" and key in binary:
        return decode(binary[key])
    return None


def items(kind: str, obj: dict) -> dict[str, bytes]:
    """Every key of the object with its raw value (for volumes)."""
    keys = list(obj.get("data") or {})
    if kind == "ConfigMap":
        keys += list(obj.get("binaryData") or {})
    return {key: value_bytes(kind, obj, key) or b"" for key in keys}


def size(kind: str, obj: dict) -> int:
    """Total payload size in bytes, as Kubernetes counts it against the 1 MiB limit."""
    return sum(len(v) for v in items(kind, obj).values())
