"""RBAC escalation prevention, as Kubernetes' policy-based RBAC storage: a user may
write a Role/ClusterRole only with rules they already hold (or with the `escalate`
verb on it), and a RoleBinding/ClusterRoleBinding only to a role whose rules they hold
(or with the `bind` verb on it). `system:masters` and the apiserver's own writes pass.
An aggregationRule can gather anything, so it needs full authority."""

from __future__ import annotations

import json

from api import rbac
from api.rbac import Request
from api.resources import CLUSTERROLEBINDINGS, CLUSTERROLES, ROLEBINDINGS, ROLES
from apiserver.admission.plugin import Attributes, Plugin
from apiserver.auth import User
from apiserver.authn import MASTERS
from apiserver.authz import Union
from apiserver.authz.rbac import PolicyIndex
from apiserver.storage import Storage

_KINDS = {r.kind for r in (ROLES, CLUSTERROLES, ROLEBINDINGS, CLUSTERROLEBINDINGS)}
FULL_AUTHORITY = [
    {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]},
    {"verbs": ["*"], "nonResourceURLs": ["*"]},
]


def _go_quoted(values: tuple[str, ...]) -> str:
    """Go's %q of a []string: ["a" "b"]."""
    return "[" + " ".join(json.dumps(v) for v in values) + "]"


def not_held(user: User, missing: list[dict], resolution_errors: list[str]) -> str:
    message = (
        f"user {json.dumps(user.name)} (groups={_go_quoted(user.groups)}) is attempting to "
        "grant RBAC permissions not currently held:\n"
        + "\n".join(rbac.describe_rule(r) for r in missing)
    )
    if resolution_errors:
        message += f"; resolution errors: [{', '.join(resolution_errors)}]"
    return message


class RBACEscalation(Plugin):
    name = "RBACEscalation"

    def __init__(self, storage: Storage, authorizer: Union, index: PolicyIndex) -> None:
        super().__init__(storage)
        self.authorizer = authorizer
        self.index = index

    def handles(self, a: Attributes) -> bool:
        return a.kind in _KINDS and a.info.resource.group == rbac.GROUP and not a.subresource

    def _owner_rules(self, user: User, namespace: str) -> tuple[list[dict], list[str]]:
        return self.index.rules(user, namespace)  # cluster-wide ones included

    def _confirm(self, a: Attributes, user: User, namespace: str, wanted: list[dict]) -> None:
        owner, errors = self._owner_rules(user, namespace)
        missing = rbac.uncovered(owner, wanted)
        if missing:
            raise a.forbidden(not_held(user, missing, errors))

    async def validate(self, a: Attributes) -> None:
        user = a.opts.user
        if not isinstance(user, User) or MASTERS in user.groups:
            return
        namespace = a.namespace or ""
        if a.kind in ("Role", "ClusterRole"):
            await self._role(a, user, namespace)
        else:
            await self._binding(a, user, namespace)

    async def _role(self, a: Attributes, user: User, namespace: str) -> None:
        old = a.old or {}
        if a.old is not None and (
            a.obj.get("rules") == old.get("rules")
            and a.obj.get("aggregationRule") == old.get("aggregationRule")
        ):
            return
        escalate = Request(
            verb="escalate",
            api_group=rbac.GROUP,
            resource=a.info.resource.plural,
            namespace=namespace,
            name=a.name,
        )
        if self.authorizer.allowed(user, escalate):
            return
        rules = [r for r in a.obj.get("rules") or [] if isinstance(r, dict)]
        self._confirm(a, user, namespace, rules)
        if a.obj.get("aggregationRule"):
            owner, _ = self._owner_rules(user, namespace)
            if rbac.uncovered(owner, FULL_AUTHORITY):
                raise a.forbidden("must have cluster-admin privileges to use the aggregationRule")

    async def _binding(self, a: Attributes, user: User, namespace: str) -> None:
        old = a.old or {}
        if a.old is not None and (
            a.obj.get("roleRef") == old.get("roleRef")
            and a.obj.get("subjects") == old.get("subjects")
        ):
            return
        ref = a.obj.get("roleRef") or {}
        bind = Request(
            verb="bind",
            api_group=rbac.GROUP,
            resource="clusterroles" if ref.get("kind") == "ClusterRole" else "roles",
            namespace=namespace,
            name=str(ref.get("name") or ""),
        )
        if self.authorizer.allowed(user, bind):
            return
        rules, error = self.index.role_rules(ref, namespace)
        if error:
            raise a.forbidden(not_held(user, [], [error]))
        self._confirm(a, user, namespace, rules)
