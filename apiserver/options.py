"""The options of a request, parsed from its query and body as kube-apiserver's
metav1.CreateOptions/ListOptions/DeleteOptions: shared by the REST store, admission,
the namespace lifecycle, watches and subresources without importing the store."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from api import errors
from api.fields import FieldSelector, parse_field_selector
from api.labels import LabelSelector, parse_selector
from api.resources import Resource

FIELD_VALIDATION = ("Strict", "Warn", "Ignore")


def query_flag(params: Mapping[str, str], name: str) -> bool:
    """A boolean query parameter as kube-apiserver converts it
    (runtime.Convert_Slice_string_To_bool): absent, "0" or any case of "false" is false;
    anything else, even an empty value or "True", is true. kubernetes_asyncio sends
    `watch=True`; a stricter parse turns its watches into lists."""
    if name not in params:
        return False
    value = params[name]
    return not (value == "0" or value.lower() == "false")


@dataclass
class WriteOptions:
    field_manager: str | None = None
    # the requesting user (apiserver.auth.User) for checks that depend on who writes
    # (RBAC escalation); None for the apiserver's own writes
    user: Any = None
    field_validation: str = "Warn"
    dry_run: bool = False
    force: bool = False
    warnings: list[str] = field(default_factory=list)
    # apply a patch in a worker thread (apiserver/offload.py): a large body or copies
    offload: bool = False
    # out: the created object's JSON answer when the store made it on the way
    # (Registry.create), so it is not encoded a second time
    encoded: bytes | None = None
    # in: the body is this request's own, just decoded from JSON that holds no null
    # (app.read_body), so the store checks it in place instead of copying it first
    # (Registry._decode_object, which takes the flag back: it covers one body)
    own_body: bool = False


@dataclass
class ListOptions:
    label_selector: LabelSelector | None = None
    field_selector: FieldSelector | None = None
    limit: int | None = None
    continue_token: str | None = None
    resource_version: str | None = None  # "" and None: the newest, read from etcd
    resource_version_match: str | None = None  # "Exact", "NotOlderThan" or None
    send_initial_events: bool | None = None  # a watch's; None: not asked (the default)

    @classmethod
    def parse(cls, resource: Resource, params: dict[str, str]) -> ListOptions:
        limit = params.get("limit")
        try:
            limit_n = int(limit) if limit else None
        except ValueError as err:
            raise errors.bad_request(f"invalid limit {limit!r}") from err
        return cls(
            label_selector=parse_selector(params["labelSelector"])
            if params.get("labelSelector")
            else None,
            field_selector=parse_field_selector(params["fieldSelector"], resource)
            if params.get("fieldSelector")
            else None,
            limit=limit_n if limit_n and limit_n > 0 else None,
            continue_token=params.get("continue") or None,
            resource_version=params.get("resourceVersion") or None,
            resource_version_match=params.get("resourceVersionMatch") or None,
            send_initial_events=query_flag(params, "sendInitialEvents")
            if "sendInitialEvents" in params
            else None,
        )

    @property
    def any_version(self) -> bool:
        """resourceVersion=0 on a whole list: any recent state will do, so the watch
        cache answers, as kube-apiserver's cacher does for informers' first lists (a
        page, limit or continue, still reads etcd)."""
        return self.resource_version == "0" and self.limit is None and not self.continue_token

    @property
    def filtered(self) -> bool:
        return self.label_selector is not None or self.field_selector is not None

    def check_list(self) -> None:
        """A LIST's options as kube-apiserver refuses them: resourceVersionMatch as
        ValidateListOptions checks it (422), a resourceVersion beside a continue token
        or not a number (400)."""
        match, rv = self.resource_version_match, self.resource_version
        if self.continue_token and rv:
            raise errors.bad_request(
                "specifying resource version is not allowed when using continue"
            )
        causes: list[dict[str, str]] = []
        if match:
            field = "resourceVersionMatch"
            if not rv:
                causes.append(
                    _forbidden(field, f"{field} is forbidden unless resourceVersion is provided")
                )
            if self.continue_token:
                causes.append(_forbidden(field, f"{field} is forbidden when continue is provided"))
            if match not in ("Exact", "NotOlderThan"):
                causes.append(_not_supported(field, match, '"Exact", "NotOlderThan", ""'))
            if match == "Exact" and rv == "0":
                causes.append(
                    _forbidden(field, f'{field} "exact" is forbidden for resourceVersion "0"')
                )
        if causes:
            raise errors.invalid("ListOptions", "", causes, group="meta.k8s.io")
        if rv and not is_revision(rv):
            raise errors.bad_request(f"invalid resourceVersion {rv!r}: not a number")

    def check_watch(self) -> None:
        """A watch's resourceVersionMatch and sendInitialEvents (a streaming list) as
        kube-apiserver's validateWatchOptions checks them (422)."""
        match, field = self.resource_version_match, "resourceVersionMatch"
        causes: list[dict[str, str]] = []
        if self.send_initial_events is not None and match != "NotOlderThan":
            causes.append(
                _forbidden(
                    field, "sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"
                )
            )
        if match:
            if self.send_initial_events is None:
                causes.append(
                    _forbidden(
                        field,
                        f"{field} is forbidden for watch unless sendInitialEvents is provided",
                    )
                )
            if match != "NotOlderThan":
                causes.append(_not_supported(field, match, '"NotOlderThan"'))
            if self.continue_token:
                causes.append(_forbidden(field, f"{field} is forbidden when continue is provided"))
        if causes:
            raise errors.invalid("ListOptions", "", causes, group="meta.k8s.io")

    @property
    def exact_revision(self) -> int | None:
        """The revision a LIST must be read at: resourceVersionMatch=Exact, or (the
        legacy rule) a page asked for at a resourceVersion other than 0."""
        rv = self.resource_version
        if not rv or rv == "0" or not is_revision(rv):  # not a number: check_list refuses it
            return None
        if self.resource_version_match == "Exact":
            return int(rv)
        if not self.resource_version_match and self.limit is not None:
            return int(rv)
        return None

    @property
    def min_revision(self) -> int:
        """The revision a LIST's state must be at least as new as (0: any)."""
        rv = self.resource_version
        if not rv or not is_revision(rv) or self.exact_revision is not None:
            return 0
        return int(rv)

    def matches(self, obj: dict) -> bool:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        if self.label_selector is not None and not self.label_selector.matches(labels):
            return False
        return self.field_selector is None or self.field_selector.matches(obj)


def is_revision(rv: str) -> bool:
    return rv.isascii() and rv.isdigit()  # "²" is a digit to str.isdigit, not to int()


def _not_supported(field: str, value: str, supported: str) -> dict[str, str]:
    return {
        "field": field,
        "reason": "FieldValueNotSupported",
        "message": f'Unsupported value: "{value}": supported values: {supported}',
    }


def _forbidden(field: str, message: str) -> dict[str, str]:
    return {"field": field, "reason": "FieldValueForbidden", "message": f"Forbidden: {message}"}


# The fields of metav1.DeleteOptions a body may carry, with their JSON types (bool is
# an int in Python: checked apart).
_DELETE_OPTION_TYPES: dict[str, type | tuple[type, ...]] = {
    "gracePeriodSeconds": int,
    "propagationPolicy": str,
    "orphanDependents": bool,
    "preconditions": dict,
    "dryRun": list,
}
_TYPE_WORDS: dict[type | tuple[type, ...], str] = {
    int: "an integer",
    str: "a string",
    bool: "a boolean",
    dict: "an object",
    list: "an array",
}


def _json_type(value: Any) -> str:
    for t, word in ((bool, "a boolean"), (int, "a number"), (float, "a number"),
                    (str, "a string"), (list, "an array"), (dict, "an object")):  # fmt: skip
        if isinstance(value, t):
            return word
    return "null"


@dataclass
class DeleteOptions:
    grace_period_seconds: int | None = None
    propagation_policy: str | None = None
    precondition_uid: str | None = None
    precondition_rv: str | None = None
    dry_run: bool = False
    # who deletes, for delete admission (NodeRestriction); None for the apiserver's own
    # deletes and those an eviction makes (Kubernetes admits the eviction instead)
    user: Any = None

    @classmethod
    def parse(cls, params: dict[str, str], body: Any) -> DeleteOptions:
        if body is not None and not isinstance(body, dict):
            raise errors.bad_request(
                f"the body of a delete must be a DeleteOptions object, not {_json_type(body)}"
            )
        opts = body or {}
        for name, want in _DELETE_OPTION_TYPES.items():
            value = opts.get(name)
            if value is not None and not isinstance(value, want):
                raise errors.bad_request(
                    f"DeleteOptions.{name}: cannot decode {_json_type(value)} as "
                    f"{_TYPE_WORDS[want]}"
                )
        grace = params.get("gracePeriodSeconds", opts.get("gracePeriodSeconds"))
        policy = params.get("propagationPolicy", opts.get("propagationPolicy"))
        if opts.get("orphanDependents") is True and not policy:
            policy = "Orphan"
        if policy is not None and policy not in ("Background", "Foreground", "Orphan"):
            raise errors.bad_request(
                f'propagationPolicy: Unsupported value: "{policy}": supported values: '
                '"Background", "Foreground", "Orphan"'
            )
        pre = opts.get("preconditions") or {}
        try:
            grace_n = int(grace) if grace is not None else None
        except (TypeError, ValueError) as err:
            raise errors.bad_request(f"invalid gracePeriodSeconds {grace!r}") from err
        dry = params.get("dryRun") == "All" or "All" in (opts.get("dryRun") or [])
        return cls(grace_n, policy, pre.get("uid"), pre.get("resourceVersion"), dry)
