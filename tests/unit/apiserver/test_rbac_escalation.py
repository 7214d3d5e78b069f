"""The escalate/bind rules of RBAC writes (apiserver/authz/escalation), on a fake
policy index: who may grant or bind what."""

from __future__ import annotations

import asyncio

import pytest

from api import errors
from api.resources import CLUSTERROLES, ROLEBINDINGS, ROLES
from apiserver.admission.plugin import CREATE, UPDATE, Attributes
from apiserver.auth import User
from apiserver.authz import Union
from apiserver.authz.escalation import RBACEscalation
from apiserver.authz.rbac import PolicyIndex, RBACAuthorizer
from apiserver.options import WriteOptions
from apiserver.requestinfo import RequestInfo

ANN = User("ann", "", ("system:authenticated",))
PODS_RULE = {"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}
NODES_RULE = {"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]}


def index_with(*rules: dict) -> PolicyIndex:
    index = PolicyIndex()
    index.put("clusterroles", {"metadata": {"name": "ann-role"}, "rules": list(rules)})
    index.put("clusterroles", {"metadata": {"name": "big"}, "rules": [PODS_RULE, NODES_RULE]})
    index.put(
        "clusterrolebindings",
        {
            "metadata": {"name": "ann"},
            "roleRef": {"kind": "ClusterRole", "name": "ann-role"},
            "subjects": [{"kind": "User", "name": "ann"}],
        },
    )
    return index


def check(index: PolicyIndex, res, obj: dict, user=ANN, old: dict | None = None) -> None:
    plugin = RBACEscalation(None, Union([RBACAuthorizer(index)]), index)  # type: ignore[arg-type]
    info = RequestInfo(res, obj["metadata"].get("namespace"), None, None)
    a = Attributes(UPDATE if old else CREATE, info, obj, old, WriteOptions(user=user))
    assert plugin.handles(a)
    asyncio.run(plugin.validate(a))


def role(name: str, *rules: dict, ns: str = "team") -> dict:
    return {"metadata": {"name": name, "namespace": ns}, "rules": list(rules)}


def binding(name: str, kind: str, role_name: str) -> dict:
    return {
        "metadata": {"name": name, "namespace": "team"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": role_name},
        "subjects": [{"kind": "User", "name": "jane"}],
    }


def test_grant_only_what_is_held():
    index = index_with(PODS_RULE)
    check(index, ROLES, role("ok", {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]}))
    with pytest.raises(errors.ApiError) as err:
        check(index, ROLES, role("bad", NODES_RULE))
    assert err.value.code == 403
    assert err.value.message == (
        'roles.rbac.authorization.k8s.io "bad" is forbidden: user "ann" '
        '(groups=["system:authenticated"]) is attempting to grant RBAC permissions not '
        'currently held:\n{APIGroups:[""], Resources:["nodes"], Verbs:["get"]}'
    )
    # masters and the apiserver itself pass
    check(index, ROLES, role("m", NODES_RULE), user=User("root", "", ("system:masters",)))
    check(index, ROLES, role("internal", NODES_RULE), user=None)
    # an update that leaves the rules alone is not checked again
    old = role("bad", NODES_RULE)
    check(index, ROLES, {**old, "metadata": {**old["metadata"], "labels": {"a": "b"}}}, old=old)


def test_escalate_verb_lifts_the_check():
    escalate = {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["roles"],
                "verbs": ["escalate"]}  # fmt: skip
    check(index_with(PODS_RULE, escalate), ROLES, role("any", NODES_RULE))


def test_aggregation_rule_needs_full_authority():
    index = index_with(PODS_RULE)
    agg = {
        "metadata": {"name": "agg"},
        "rules": [],
        "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"x": "y"}}]},
    }
    with pytest.raises(errors.ApiError, match="must have cluster-admin privileges"):
        check(index, CLUSTERROLES, agg)


def test_bind_only_what_is_held_or_with_bind():
    index = index_with(PODS_RULE)
    with pytest.raises(errors.ApiError, match="not currently held"):
        check(index, ROLEBINDINGS, binding("b", "ClusterRole", "big"))
    bind = {"apiGroups": ["rbac.authorization.k8s.io"], "resources": ["clusterroles"],
            "verbs": ["bind"], "resourceNames": ["big"]}  # fmt: skip
    check(index_with(PODS_RULE, bind), ROLEBINDINGS, binding("b", "ClusterRole", "big"))
    check(index_with(PODS_RULE, NODES_RULE), ROLEBINDINGS, binding("b", "ClusterRole", "big"))
    with pytest.raises(errors.ApiError, match=r'clusterrole\.rbac\.authorization\.k8s\.io "ghost"'):
        check(index, ROLEBINDINGS, binding("b", "ClusterRole", "ghost"))
