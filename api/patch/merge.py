"""JSON merge patch (RFC 7386, `application/merge-patch+json`) and JSON patch
(RFC 6902, `application/json-patch+json`), answering errors as kube-apiserver does."""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonpatch
import jsonpointer

from api.errors import ApiError, bad_request

MAX_JSON_PATCH_OPERATIONS = 10000  # kube-apiserver's limit
# kube-apiserver's JSONPatchMaxCopyBytes (json-patch's AccumulatedCopySizeLimit): how
# much all `copy` operations of one patch may add, in bytes of JSON. Without it a
# kilobyte of doubling copies asks for gigabytes.
MAX_ACCUMULATED_COPY_BYTES = 3 * 1024 * 1024

# kube-apiserver answers a patch that does not apply with a generic 422 and drops the
# library's text; kubectl prints "The request is invalid: <this>".
UNPROCESSABLE = "the server rejected our request due to an error in our request"


def merge_patch(doc: dict, patch: dict) -> dict:
    """RFC 7386: maps merge recursively, `null` deletes, everything else (lists too)
    replaces."""
    if not isinstance(patch, dict):
        raise bad_request("a JSON merge patch must be a JSON object")
    return _merge(copy.deepcopy(doc) if isinstance(doc, dict) else {}, patch)


def _merge(target: dict, patch: dict) -> dict:
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict):
            current = target.get(key)
            target[key] = _merge(current if isinstance(current, dict) else {}, value)
        else:
            target[key] = copy.deepcopy(value)
    return target


def json_patch(doc: dict, ops: list) -> dict:
    """RFC 6902. A body that is not a list of operation objects is a 400; operations
    that cannot be applied (failed `test`, missing path, unknown op) are a 422."""
    if not isinstance(ops, list) or not all(isinstance(op, dict) for op in ops):
        raise bad_request(
            "a JSON patch must be a JSON array of operation objects, e.g. "
            '[{"op": "replace", "path": "/spec/replicas", "value": 3}]'
        )
    if len(ops) > MAX_JSON_PATCH_OPERATIONS:
        raise ApiError(
            413,
            "Request entity too large: The allowed maximum operations in a "
            f"JSON patch is {MAX_JSON_PATCH_OPERATIONS}, got {len(ops)}",
            "RequestEntityTooLarge",
        )
    try:
        result: Any = _apply_json_patch(doc, ops)
    except CopyTooLarge as exc:
        cause = {"reason": "UnexpectedServerResponse", "message": str(exc)}
        raise ApiError(422, UNPROCESSABLE, "Invalid", {"causes": [cause]}) from exc
    except (
        jsonpatch.JsonPatchException,
        jsonpointer.JsonPointerException,
        KeyError,
        IndexError,
        TypeError,
        ValueError,
    ) as exc:
        raise ApiError(422, UNPROCESSABLE, "Invalid") from exc
    if not isinstance(result, dict):
        raise ApiError(422, UNPROCESSABLE, "Invalid")
    return result


class CopyTooLarge(Exception):
    def __init__(self, accumulated: int) -> None:
        super().__init__(
            "Unable to complete the copy, the accumulated size increase of copy is "
            f"{accumulated}, exceeding the limit {MAX_ACCUMULATED_COPY_BYTES}"
        )


def _apply_json_patch(doc: dict, ops: list) -> Any:
    """The operations in order on a copy of `doc`, counting what `copy` adds as
    json-patch does (the copied value's JSON size) and stopping past the limit."""
    obj: Any = copy.deepcopy(doc)
    accumulated = 0
    for op in ops:
        if op.get("op") == "copy" and isinstance(op.get("from"), str):
            value = jsonpointer.resolve_pointer(obj, op["from"])
            accumulated += len(json.dumps(value, separators=(",", ":")))
            if accumulated > MAX_ACCUMULATED_COPY_BYTES:
                raise CopyTooLarge(accumulated)
        obj = jsonpatch.JsonPatch([op]).apply(obj, in_place=True)
    return obj
