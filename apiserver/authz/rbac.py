"""The RBAC authorizer. Roles and bindings live in an in-memory index fed by the
apiserver's own watch cache (apiserver/authz/feed.py), like the informers
kube-apiserver's RBAC authorizer reads: no request lists bindings.
Bindings are indexed by subject (user name, group name); the rules a user holds in a
namespace are resolved once per policy generation and memoized, so a request costs a
dict lookup and a scan of the user's own rules."""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from api import rbac
from api.rbac import Request
from api.resources import CLUSTERROLEBINDINGS, CLUSTERROLES, ROLEBINDINGS, ROLES
from apiserver.auth import User
from apiserver.authz import Decision, Rules
from apiserver.authz.feed import CacheFeed
from apiserver.meta import namespaced_name
from apiserver.storage import Storage
from apiserver.watchcache import WatchCache

log = logging.getLogger(__name__)
Obj = dict[str, Any]
POLICY = (CLUSTERROLES, ROLES, CLUSTERROLEBINDINGS, ROLEBINDINGS)
_MEMO_LIMIT = 4096


class PolicyIndex:
    """Roles, ClusterRoles and bindings as the watch cache last showed them."""

    def __init__(self) -> None:
        self.objects: dict[str, dict[tuple[str, str], Obj]] = {r.plural: {} for r in POLICY}
        # subject ("User"|"Group", name) -> binding keys (plural, namespace, name)
        self.by_subject: dict[tuple[str, str], set[tuple[str, str, str]]] = defaultdict(set)
        self.service_account_bindings: set[tuple[str, str, str]] = set()
        self.generation = 0
        self._memo: dict[tuple[str, tuple[str, ...], str], list[Obj]] = {}

    # ---- feeding -----------------------------------------------------------------
    def replace(self, plural: str, items: list[Obj]) -> None:
        for obj in list(self.objects[plural].values()):
            self.remove(plural, obj)
        for obj in items:
            self.put(plural, obj)

    def put(self, plural: str, obj: Obj) -> None:
        key = namespaced_name(obj)
        old = self.objects[plural].get(key)
        if old is not None:
            self._unindex(plural, old)
        self.objects[plural][key] = obj
        self._index(plural, obj)
        self._changed()

    def remove(self, plural: str, obj: Obj) -> None:
        old = self.objects[plural].pop(namespaced_name(obj), None)
        if old is not None:
            self._unindex(plural, old)
        self._changed()

    def _changed(self) -> None:
        self.generation += 1
        self._memo.clear()

    def _subject_keys(self, obj: Obj) -> Iterator[tuple[str, str] | None]:
        for s in obj.get("subjects") or []:
            if not isinstance(s, dict):
                continue
            kind = s.get("kind")
            if kind in ("User", "Group"):
                yield kind, str(s.get("name") or "")
            elif kind == "ServiceAccount":
                yield None

    def _index(self, plural: str, obj: Obj) -> None:
        if plural not in (ROLEBINDINGS.plural, CLUSTERROLEBINDINGS.plural):
            return
        ref = (plural, *namespaced_name(obj))
        for sk in self._subject_keys(obj):
            if sk is None:
                self.service_account_bindings.add(ref)
            else:
                self.by_subject[sk].add(ref)

    def _unindex(self, plural: str, obj: Obj) -> None:
        if plural not in (ROLEBINDINGS.plural, CLUSTERROLEBINDINGS.plural):
            return
        ref = (plural, *namespaced_name(obj))
        self.service_account_bindings.discard(ref)
        for sk in self._subject_keys(obj):
            if sk is not None:
                refs = self.by_subject.get(sk)
                if refs is not None:
                    refs.discard(ref)
                    if not refs:
                        del self.by_subject[sk]

    # ---- reading -----------------------------------------------------------------
    def _bindings_of(self, user: User) -> Iterator[tuple[str, str, Obj]]:
        refs: set[tuple[str, str, str]] = set(self.by_subject.get(("User", user.name), ()))
        for g in user.groups:
            refs |= self.by_subject.get(("Group", g), set())
        if user.name.startswith(rbac.SERVICEACCOUNT_PREFIX):
            refs |= self.service_account_bindings
        for plural, ns, name in sorted(refs):
            obj = self.objects[plural].get((ns, name))
            if obj is not None:
                yield plural, ns, obj

    def role_rules(self, ref: Any, namespace: str) -> tuple[list[Obj], str]:
        """The rules of a roleRef, or [] and the error Kubernetes reports."""
        ref = ref if isinstance(ref, dict) else {}
        kind, name = ref.get("kind"), str(ref.get("name") or "")
        if kind == "ClusterRole":
            role = self.objects[CLUSTERROLES.plural].get(("", name))
            if role is None:
                return [], f'clusterrole.rbac.authorization.k8s.io "{name}" not found'
        elif kind == "Role":
            role = self.objects[ROLES.plural].get((namespace, name))
            if role is None:
                return [], f'role.rbac.authorization.k8s.io "{name}" not found'
        else:
            return [], f"unknown roleRef kind {kind!r}"
        return [r for r in role.get("rules") or [] if isinstance(r, dict)], ""

    def rules(self, user: User, namespace: str) -> tuple[list[Obj], list[str]]:
        """Every rule bound to `user` that applies in `namespace` ("" = cluster scope):
        its ClusterRoleBindings' and the namespace's RoleBindings'; and the errors met
        resolving them (missing roles)."""
        memo_key = (user.name, user.groups, namespace)
        memo = self._memo.get(memo_key)
        if memo is not None:
            return memo, []
        rules: list[Obj] = []
        errors: list[str] = []
        for plural, ns, binding in self._bindings_of(user):
            if plural == ROLEBINDINGS.plural and ns != namespace:
                continue
            subjects = [s for s in binding.get("subjects") or [] if isinstance(s, dict)]
            if not any(rbac.subject_matches(s, user.name, user.groups, ns) for s in subjects):
                continue
            found, err = self.role_rules(binding.get("roleRef"), ns)
            rules += found
            if err:
                errors.append(err)
        if not errors:
            if len(self._memo) >= _MEMO_LIMIT:
                self._memo.clear()
            self._memo[memo_key] = rules
        return rules, errors


class RBACAuthorizer:
    def __init__(self, index: PolicyIndex) -> None:
        self.index = index

    def authorize(self, user: User, req: Request) -> tuple[Decision, str]:
        # the rules of a namespace include the cluster-wide ones (ClusterRoleBindings)
        rules, errors = self.index.rules(user, req.namespace if req.resource_request else "")
        if rbac.rules_allow(rules, req):
            return Decision.ALLOW, ""
        reason = f"RBAC: {'; '.join(errors)}" if errors else ""
        return Decision.NO_OPINION, reason

    def rules_for(self, user: User, namespace: str) -> Rules:
        rules, errors = self.index.rules(user, namespace)
        unique: list[Obj] = []
        for r in rules:
            if r not in unique:
                unique.append(r)
        rules = unique
        resource = [
            {k: r[k] for k in ("verbs", "apiGroups", "resources", "resourceNames") if k in r}
            for r in rules
            if not r.get("nonResourceURLs")
        ]
        non_resource = [
            {"verbs": r.get("verbs") or [], "nonResourceURLs": r["nonResourceURLs"]}
            for r in rules
            if r.get("nonResourceURLs")
        ]
        return Rules(resource, non_resource, bool(errors))


def policy_feed(storage: Storage, cache: WatchCache, index: PolicyIndex) -> CacheFeed:
    """Keeps `index` current from the watch cache."""
    return CacheFeed(storage, cache, POLICY, index, "rbac")
