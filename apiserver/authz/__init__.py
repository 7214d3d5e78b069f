"""Authorization, as kube-apiserver's: each request becomes attributes (user, verb,
group, resource, subresource, namespace, name, or a non-resource path); the
authorizers of --authorization-mode are asked in order, and the first that allows or
denies decides; when none has an opinion the request is forbidden, with Kubernetes'
wording. Modules: `attributes` (request → attributes), `rbac` (the RBAC authorizer and
its in-memory policy index), `bootstrap` (the default roles), `escalation` (what a
Role or binding may grant), `reviews` (access reviews and SelfSubjectReview),
`aggregation` (ClusterRole aggregationRule)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from api import errors
from api.rbac import Request
from apiserver.auth import User

MODES = ("AlwaysAllow", "AlwaysDeny", "Node", "RBAC")


class Decision(Enum):
    DENY = 0
    ALLOW = 1
    NO_OPINION = 2


@dataclass(frozen=True)
class Rules:
    """What a user may do in a namespace (SelfSubjectRulesReview's status)."""

    resource_rules: list[dict]
    non_resource_rules: list[dict]
    incomplete: bool = False


class Authorizer(Protocol):
    def authorize(self, user: User, req: Request) -> tuple[Decision, str]:
        """A decision and its reason (may be "")."""
        ...

    def rules_for(self, user: User, namespace: str) -> Rules: ...


class AlwaysAllow:
    def authorize(self, user: User, req: Request) -> tuple[Decision, str]:
        return Decision.ALLOW, ""

    def rules_for(self, user: User, namespace: str) -> Rules:
        return Rules(
            [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}],
            [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
        )


class AlwaysDeny:
    def authorize(self, user: User, req: Request) -> tuple[Decision, str]:
        return Decision.NO_OPINION, "Everything is forbidden."

    def rules_for(self, user: User, namespace: str) -> Rules:
        return Rules([], [])


class PrivilegedGroups:
    """kube-apiserver's first authorizer, before those of --authorization-mode
    (authorizerfactory.NewPrivilegedGroups(system:masters)): members of the group may
    do anything. It resolves no rules (SelfSubjectRulesReview lists the others')."""

    def __init__(self, *groups: str) -> None:
        self.groups = frozenset(groups)

    def authorize(self, user: User, req: Request) -> tuple[Decision, str]:
        if self.groups.intersection(user.groups):
            return Decision.ALLOW, ""
        return Decision.NO_OPINION, ""

    def rules_for(self, user: User, namespace: str) -> Rules:
        return Rules([], [])


class Union:
    """The authorizers of --authorization-mode, asked in order."""

    def __init__(self, authorizers: list[Authorizer]) -> None:
        self.authorizers = authorizers

    def authorize(self, user: User, req: Request) -> tuple[Decision, str]:
        reasons = []
        for a in self.authorizers:
            decision, reason = a.authorize(user, req)
            if decision is not Decision.NO_OPINION:
                return decision, reason
            if reason:
                reasons.append(reason)
        return Decision.NO_OPINION, "\n".join(reasons)

    def allowed(self, user: User, req: Request) -> bool:
        return self.authorize(user, req)[0] is Decision.ALLOW

    def rules_for(self, user: User, namespace: str) -> Rules:
        resource: list[dict] = []
        non_resource: list[dict] = []
        incomplete = False
        for a in self.authorizers:
            r = a.rules_for(user, namespace)
            resource += r.resource_rules
            non_resource += r.non_resource_rules
            incomplete = incomplete or r.incomplete
        return Rules(resource, non_resource, incomplete)


def parse_modes(text: str) -> list[str]:
    modes = [m.strip() for m in text.split(",") if m.strip()]
    for m in modes:
        if m not in MODES:
            raise ValueError(f"unknown authorization mode {m!r} (want one of {', '.join(MODES)})")
    if not modes:
        raise ValueError("at least one authorization mode must be given")
    if len(set(modes)) != len(modes):
        raise ValueError(f"authorization modes may not repeat: {text!r}")
    return modes


def forbidden_message(user: str, req: Request) -> str:
    """responsewriters.forbiddenMessage."""
    if not req.resource_request:
        return f'User "{user}" cannot {req.verb} path "{req.path}"'
    resource = req.combined_resource
    if req.namespace:
        return (
            f'User "{user}" cannot {req.verb} resource "{resource}" in API group '
            f'"{req.api_group}" in the namespace "{req.namespace}"'
        )
    return (
        f'User "{user}" cannot {req.verb} resource "{resource}" in API group '
        f'"{req.api_group}" at the cluster scope'
    )


def forbidden(user: str, req: Request, reason: str = "") -> errors.ApiError:
    """errors.NewForbidden for a refused request: 403, reason Forbidden."""
    message = forbidden_message(user, req)
    if reason:
        message = f"{message}: {reason}"
    if not req.resource_request:
        return errors.ApiError(403, f"forbidden: {message}", "Forbidden", {})
    group_resource = f"{req.resource}.{req.api_group}" if req.api_group else req.resource
    details: dict = {"kind": req.resource}
    if req.name:
        details["name"] = req.name
    if req.api_group:
        details["group"] = req.api_group
    subject = f'{group_resource} "{req.name}"' if req.name else group_resource
    return errors.ApiError(403, f"{subject} is forbidden: {message}", "Forbidden", details)
