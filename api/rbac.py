"""RBAC's rule logic, as Kubernetes' pkg/apis/rbac/v1 helpers and
pkg/registry/rbac/validation: whether a PolicyRule allows one request, whether a
binding's subject is a given user, and whether one set of rules covers another (the
escalation check). Pure functions over plain JSON dicts, shared by the apiserver's
authorizer, its escalation check and the access reviews."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

GROUP = "rbac.authorization.k8s.io"
ALL = "*"
SERVICEACCOUNT_PREFIX = "system:serviceaccount:"


@dataclass(frozen=True)
class Request:
    """What an authorizer decides on (Kubernetes' authorizer.Attributes, minus the user)."""

    verb: str
    resource_request: bool = True
    api_group: str = ""
    resource: str = ""
    subresource: str = ""
    namespace: str = ""
    name: str = ""
    path: str = ""

    @property
    def combined_resource(self) -> str:
        return f"{self.resource}/{self.subresource}" if self.subresource else self.resource


def _strs(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def verb_matches(rule: Mapping[str, Any], verb: str) -> bool:
    verbs = _strs(rule.get("verbs"))
    return ALL in verbs or verb in verbs


def group_matches(rule: Mapping[str, Any], group: str) -> bool:
    groups = _strs(rule.get("apiGroups"))
    return ALL in groups or group in groups


def resource_matches(rule: Mapping[str, Any], combined: str, subresource: str) -> bool:
    """`*` matches everything; `*/scale` matches the scale subresource of anything."""
    for r in _strs(rule.get("resources")):
        if r in (ALL, combined):
            return True
        if subresource and r == f"*/{subresource}":
            return True
    return False


def name_matches(rule: Mapping[str, Any], name: str) -> bool:
    names = _strs(rule.get("resourceNames"))
    return not names or name in names


def url_matches(rule: Mapping[str, Any], path: str) -> bool:
    for url in _strs(rule.get("nonResourceURLs")):
        if url in (ALL, path) or (url.endswith("*") and path.startswith(url[:-1])):
            return True
    return False


def rule_allows(rule: Mapping[str, Any], req: Request) -> bool:
    if req.resource_request:
        return (
            verb_matches(rule, req.verb)
            and group_matches(rule, req.api_group)
            and resource_matches(rule, req.combined_resource, req.subresource)
            and name_matches(rule, req.name)
        )
    return verb_matches(rule, req.verb) and url_matches(rule, req.path)


def rules_allow(rules: Iterable[Mapping[str, Any]], req: Request) -> bool:
    return any(rule_allows(r, req) for r in rules)


def subject_matches(
    subject: Mapping[str, Any], user: str, groups: Sequence[str], binding_namespace: str
) -> bool:
    """Kubernetes' appliesToUser: a User by name, a Group by membership, a
    ServiceAccount by its `system:serviceaccount:<ns>:<name>` user name."""
    kind, name = subject.get("kind"), subject.get("name")
    if kind == "User":
        return name == user
    if kind == "Group":
        return name in groups
    if kind == "ServiceAccount":
        namespace = subject.get("namespace") or binding_namespace
        return bool(namespace) and user == f"{SERVICEACCOUNT_PREFIX}{namespace}:{name}"
    return False


# ---- escalation: do the owner's rules cover the rules about to be granted? -------


def _breakdown(rule: Mapping[str, Any]) -> list[dict[str, list[str]]]:
    """One rule as single-verb, single-resource rules (BreakdownRule)."""
    out: list[dict[str, list[str]]] = []
    verbs = _strs(rule.get("verbs"))
    for group in _strs(rule.get("apiGroups")):
        for resource in _strs(rule.get("resources")):
            for verb in verbs:
                one = {"apiGroups": [group], "resources": [resource], "verbs": [verb]}
                names = _strs(rule.get("resourceNames"))
                if not names:
                    out.append(one)
                for name in names:
                    out.append({**one, "resourceNames": [name]})
    for url in _strs(rule.get("nonResourceURLs")):
        for verb in verbs:
            out.append({"nonResourceURLs": [url], "verbs": [verb]})
    return out


def _resource_covers(owner: list[str], wanted: str) -> bool:
    if ALL in owner or wanted in owner:
        return True
    _, slash, sub = wanted.partition("/")
    return bool(slash) and f"*/{sub}" in owner


def _url_covers(owner: list[str], wanted: str) -> bool:
    return any(o == wanted or (o.endswith("*") and wanted.startswith(o[:-1])) for o in owner)


def rule_covers(owner: Mapping[str, Any], wanted: Mapping[str, Any]) -> bool:
    """ruleCovers: `wanted` (one broken-down rule) is within `owner`, wildcards in
    `wanted` being covered only by wildcards in `owner`."""
    o_verbs, o_groups = _strs(owner.get("verbs")), _strs(owner.get("apiGroups"))
    o_res, o_urls = _strs(owner.get("resources")), _strs(owner.get("nonResourceURLs"))
    o_names = _strs(owner.get("resourceNames"))
    w_names = _strs(wanted.get("resourceNames"))
    if not all(ALL in o_verbs or v in o_verbs for v in _strs(wanted.get("verbs"))):
        return False
    if not all(ALL in o_groups or g in o_groups for g in _strs(wanted.get("apiGroups"))):
        return False
    if not all(_resource_covers(o_res, r) for r in _strs(wanted.get("resources"))):
        return False
    if not all(_url_covers(o_urls, u) for u in _strs(wanted.get("nonResourceURLs"))):
        return False
    if not w_names:
        return not o_names
    return not o_names or all(n in o_names for n in w_names)


def uncovered(
    owner: Sequence[Mapping[str, Any]], wanted: Iterable[Mapping[str, Any]]
) -> list[dict]:
    """The broken-down rules of `wanted` no rule of `owner` covers ([] when none)."""
    missing: list[dict] = []
    for rule in wanted:
        for one in _breakdown(rule):
            if not any(rule_covers(o, one) for o in owner) and one not in missing:
                missing.append(one)
    return missing


def describe_rule(rule: Mapping[str, Any]) -> str:
    """A rule as Kubernetes' PolicyRule.CompactString prints it in escalation errors:
    `{APIGroups:[""], Resources:["secrets"], Verbs:["get"]}`."""
    parts = []
    for key, label in (
        ("apiGroups", "APIGroups"),
        ("resources", "Resources"),
        ("resourceNames", "ResourceNames"),
        ("nonResourceURLs", "NonResourceURLs"),
        ("verbs", "Verbs"),
    ):
        values = _strs(rule.get(key))
        if values:
            parts.append(f"{label}:[" + " ".join(f'"{v}"' for v in values) + "]")
    return "{" + ", ".join(parts) + "}"
