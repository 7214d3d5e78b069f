"""rbac.authorization.k8s.io/v1 validation, as Kubernetes' pkg/apis/rbac/validation:
names are path segments (`system:node` is a valid role name), rules need verbs and
either resources with API groups or non-resource URLs, a binding's roleRef is a Role
or ClusterRole of the RBAC group and never changes."""

from __future__ import annotations

from api.rbac import GROUP
from api.validation.field import (
    Cause,
    as_dict,
    as_list,
    as_str,
    invalid,
    not_supported,
    required,
)
from api.validation.meta import validate_label_selector


def path_segment_name_errors(name: str) -> list[str]:
    """ValidatePathSegmentName: what an RBAC object's name may not be."""
    if name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{c}'" for c in ("/", "%") if c in name]


def _rules(rules: object, path: str, namespaced: bool) -> list[Cause]:
    causes: list[Cause] = []
    for i, raw in enumerate(as_list(rules)):
        rule, at = as_dict(raw), f"{path}[{i}]"
        if not as_list(rule.get("verbs")):
            causes.append(required(f"{at}.verbs", "verbs must contain at least one value"))
        urls = as_list(rule.get("nonResourceURLs"))
        if urls:
            if namespaced:
                causes.append(
                    invalid(
                        f"{at}.nonResourceURLs",
                        urls,
                        "namespaced rules cannot apply to non-resource URLs",
                    )
                )
            if rule.get("apiGroups") or rule.get("resources") or rule.get("resourceNames"):
                causes.append(
                    invalid(
                        f"{at}.nonResourceURLs",
                        urls,
                        "rules cannot apply to both regular resources and non-resource URLs",
                    )
                )
            continue
        if not as_list(rule.get("apiGroups")):
            causes.append(
                required(f"{at}.apiGroups", "resource rules must supply at least one api group")
            )
        if not as_list(rule.get("resources")):
            causes.append(
                required(f"{at}.resources", "resource rules must supply at least one resource")
            )
    return causes


def validate_role(obj: dict) -> list[Cause]:
    return _rules(obj.get("rules"), "rules", True)


def validate_cluster_role(obj: dict) -> list[Cause]:
    causes = _rules(obj.get("rules"), "rules", False)
    aggregation = obj.get("aggregationRule")
    if aggregation is not None:
        selectors = as_list(as_dict(aggregation).get("clusterRoleSelectors"))
        if not selectors:
            causes.append(
                required(
                    "aggregationRule.clusterRoleSelectors",
                    "at least one clusterRoleSelector required if aggregationRule is non-nil",
                )
            )
        for i, sel in enumerate(selectors):
            causes += validate_label_selector(sel, f"aggregationRule.clusterRoleSelectors[{i}]")
    return causes


def _binding(obj: dict, cluster: bool) -> list[Cause]:
    causes: list[Cause] = []
    ref = as_dict(obj.get("roleRef"))
    if as_str(ref.get("apiGroup")) != GROUP:
        causes.append(not_supported("roleRef.apiGroup", as_str(ref.get("apiGroup")), [GROUP]))
    kinds = ["ClusterRole"] if cluster else ["Role", "ClusterRole"]
    if as_str(ref.get("kind")) not in kinds:
        causes.append(not_supported("roleRef.kind", as_str(ref.get("kind")), kinds))
    name = as_str(ref.get("name"))
    if not name:
        causes.append(required("roleRef.name"))
    else:
        causes += [invalid("roleRef.name", name, m) for m in path_segment_name_errors(name)]
    for i, raw in enumerate(as_list(obj.get("subjects"))):
        s, at = as_dict(raw), f"subjects[{i}]"
        kind, sname = as_str(s.get("kind")), as_str(s.get("name"))
        if not sname:
            causes.append(required(f"{at}.name"))
        if kind == "ServiceAccount":
            if s.get("apiGroup"):
                causes.append(not_supported(f"{at}.apiGroup", as_str(s.get("apiGroup")), [""]))
            if cluster and not s.get("namespace"):
                causes.append(required(f"{at}.namespace"))
        elif kind in ("User", "Group"):
            if as_str(s.get("apiGroup")) != GROUP:
                causes.append(not_supported(f"{at}.apiGroup", as_str(s.get("apiGroup")), [GROUP]))
        else:
            causes.append(not_supported(f"{at}.kind", kind, ["ServiceAccount", "User", "Group"]))
    return causes


def validate_role_binding(obj: dict) -> list[Cause]:
    return _binding(obj, cluster=False)


def validate_cluster_role_binding(obj: dict) -> list[Cause]:
    return _binding(obj, cluster=True)


def validate_binding_update(obj: dict, old: dict) -> list[Cause]:
    ref, old_ref = as_dict(obj.get("roleRef")), as_dict(old.get("roleRef"))
    if ref != old_ref:
        return [invalid("roleRef", old_ref, "cannot change roleRef")]
    return []
