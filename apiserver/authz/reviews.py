"""The questions the apiserver answers and never stores: authentication.k8s.io
SelfSubjectReview (`kubectl auth whoami`) and authorization.k8s.io's
SelfSubjectAccessReview, SubjectAccessReview, LocalSubjectAccessReview and
SelfSubjectRulesReview (`kubectl auth can-i`, `--list`). Each answer is the request
object with its `status` filled in, as Kubernetes returns it."""

from __future__ import annotations

from typing import Any

from api import errors
from api.rbac import Request
from api.resources import Resource
from api.validation import field
from apiserver.auth import User
from apiserver.authz import Decision, Union

Obj = dict[str, Any]


def _spec(body: Any) -> Obj:
    if not isinstance(body, dict):
        raise errors.bad_request("the body must be an object")
    spec = body.get("spec")
    return spec if isinstance(spec, dict) else {}


def _answer(res: Resource, body: Obj, status: Obj) -> Obj:
    meta = body.get("metadata")
    meta = meta if isinstance(meta, dict) else {}
    return {
        "kind": res.kind,
        "apiVersion": res.api_version,
        "metadata": {**meta, "creationTimestamp": None},
        "spec": body.get("spec") or {},
        "status": status,
    }


def user_info(user: User) -> Obj:
    info: Obj = {"username": user.name, "groups": list(user.groups)}
    if user.uid:
        info["uid"] = user.uid
    if user.extra:
        info["extra"] = {key: list(values) for key, values in user.extra}
    return info


def self_subject_review(res: Resource, body: Any, user: User) -> Obj:
    meta = body.get("metadata") if isinstance(body, dict) else None
    return {
        "kind": "SelfSubjectReview",
        "apiVersion": res.api_version,
        "metadata": {**(meta if isinstance(meta, dict) else {}), "creationTimestamp": None},
        "status": {"userInfo": user_info(user)},
    }


def _invalid(res: Resource, path: str, value: Any, detail: str) -> errors.ApiError:
    return errors.invalid(res.kind, "", [field.invalid(path, value, detail)], res.group)


def _request(res: Resource, spec: Obj) -> Request:
    ra, nra = spec.get("resourceAttributes"), spec.get("nonResourceAttributes")
    if isinstance(ra, dict) and isinstance(nra, dict):
        raise _invalid(
            res,
            "spec.nonResourceAttributes",
            nra,
            "cannot be specified in combination with resourceAttributes",
        )
    if isinstance(ra, dict):
        subresource = str(ra.get("subresource") or "")
        return Request(
            verb=str(ra.get("verb") or ""),
            api_group=str(ra.get("group") or ""),
            resource=str(ra.get("resource") or ""),
            subresource=subresource,
            namespace=str(ra.get("namespace") or ""),
            name=str(ra.get("name") or ""),
        )
    if isinstance(nra, dict):
        return Request(
            verb=str(nra.get("verb") or ""),
            resource_request=False,
            path=str(nra.get("path") or ""),
        )
    raise _invalid(
        res,
        "spec.resourceAttributes",
        None,
        "exactly one of nonResourceAttributes or resourceAttributes must be specified",
    )


def _decide(authorizer: Union, user: User, req: Request) -> Obj:
    decision, reason = authorizer.authorize(user, req)
    status: Obj = {"allowed": decision is Decision.ALLOW}
    if decision is Decision.DENY:
        status["denied"] = True
    if reason:
        status["reason"] = reason
    return status


def access_review(
    res: Resource, body: Any, caller: User, authorizer: Union, namespace: str | None
) -> Obj:
    spec = _spec(body)
    req = _request(res, spec)
    if res.kind == "SelfSubjectAccessReview":
        user = caller
    else:
        if not spec.get("user") and not spec.get("groups"):
            raise _invalid(res, "spec.user", "", "at least one of user or group must be specified")
        user = User(
            str(spec.get("user") or ""),
            str(spec.get("uid") or ""),
            tuple(str(g) for g in spec.get("groups") or []),
        )
    if res.kind == "LocalSubjectAccessReview":
        if not req.resource_request:
            raise _invalid(
                res, "spec.nonResourceAttributes", None, "disallowed on this kind of request"
            )
        if req.namespace != namespace:
            raise _invalid(
                res,
                "spec.resourceAttributes.namespace",
                req.namespace,
                "must match metadata.namespace",
            )
    return _answer(res, body, _decide(authorizer, user, req))


def rules_review(res: Resource, body: Any, user: User, authorizer: Union) -> Obj:
    spec = _spec(body)
    rules = authorizer.rules_for(user, str(spec.get("namespace") or ""))
    status: Obj = {
        "resourceRules": rules.resource_rules,
        "nonResourceRules": rules.non_resource_rules,
        "incomplete": rules.incomplete,
    }
    return _answer(res, body, status)
