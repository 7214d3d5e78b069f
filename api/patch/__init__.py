"""The four ways to change an object with PATCH, as kube-apiserver implements them:
JSON merge patch (RFC 7386), JSON patch (RFC 6902), strategic merge patch, and
server-side apply with its managedFields. All functions are pure: they return new
dicts, never change their inputs, and raise `api.errors.ApiError` for bad patches."""

from api.patch.apply import apply_patch, update_managed_fields
from api.patch.fieldset import fields_v1
from api.patch.keys import MERGE_KEYS, list_strategy
from api.patch.merge import json_patch, merge_patch
from api.patch.strategic import strategic_merge_patch

__all__ = [
    "MERGE_KEYS",
    "apply_patch",
    "fields_v1",
    "json_patch",
    "list_strategy",
    "merge_patch",
    "strategic_merge_patch",
    "update_managed_fields",
]
