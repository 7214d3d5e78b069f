"""Request attributes (as Kubernetes' RequestInfoFactory), the authorizer union's
decision order, forbidden wording, the RBAC index and authenticators: pure logic."""

from __future__ import annotations

import asyncio

import pytest

from api.rbac import Request
from apiserver.auth import User
from apiserver.authn import Authenticator, Unauthorized, impersonated, user_from_peer_cert
from apiserver.authz import AlwaysAllow, AlwaysDeny, Decision, Union, forbidden, parse_modes
from apiserver.authz.attributes import request_attributes
from apiserver.authz.rbac import PolicyIndex, RBACAuthorizer


def test_attributes_of_resource_requests():
    a = request_attributes("GET", "/api/v1/namespaces/ns/pods", "")
    assert (a.verb, a.resource, a.namespace, a.name) == ("list", "pods", "ns", "")
    assert request_attributes("GET", "/api/v1/pods", "watch=true").verb == "watch"
    assert request_attributes("GET", "/api/v1/pods", "watch=false").verb == "list"
    a = request_attributes("GET", "/api/v1/namespaces/ns/pods/web/log", "")
    assert (a.verb, a.resource, a.subresource, a.name) == ("get", "pods", "log", "web")
    a = request_attributes("DELETE", "/apis/apps/v1/namespaces/ns/deployments", "")
    assert (a.verb, a.api_group) == ("deletecollection", "apps")
    a = request_attributes("PATCH", "/apis/apps/v1/namespaces/ns/deployments/d/scale", "")
    assert (a.verb, a.subresource) == ("patch", "scale")
    a = request_attributes("GET", "/api/v1/namespaces/ns", "")  # the namespace itself
    assert (a.resource, a.name, a.namespace) == ("namespaces", "ns", "ns")
    a = request_attributes("PUT", "/api/v1/namespaces/ns/finalize", "")
    assert (a.resource, a.subresource, a.verb) == ("namespaces", "finalize", "update")
    a = request_attributes("GET", "/api/v1/namespaces/ns/pods", "fieldSelector=metadata.name%3Dweb")
    assert a.name == "web"
    a = request_attributes("POST", "/apis/example.com/v1/widgets", "")  # unknown kinds too
    assert (a.verb, a.api_group, a.resource) == ("create", "example.com", "widgets")


def test_attributes_of_non_resource_requests():
    for path in ("/healthz", "/api", "/api/v1", "/apis/apps", "/apis/apps/v1", "/openapi/v3"):
        a = request_attributes("GET", path, "")
        assert not a.resource_request and a.verb == "get" and a.path == path


class Fixed:
    def __init__(self, decision: Decision) -> None:
        self.decision = decision

    def authorize(self, user, req):
        return self.decision, "fixed"

    def rules_for(self, user, namespace):
        raise NotImplementedError


def test_union_first_opinion_wins():
    user, r = User("u", "", ()), Request("get", path="/")
    assert Union([Fixed(Decision.NO_OPINION), AlwaysAllow()]).allowed(user, r)
    assert not Union([Fixed(Decision.DENY), AlwaysAllow()]).allowed(user, r)
    assert Union([AlwaysDeny()]).authorize(user, r) == (
        Decision.NO_OPINION,
        "Everything is forbidden.",
    )
    assert parse_modes("RBAC,AlwaysAllow") == ["RBAC", "AlwaysAllow"]
    with pytest.raises(ValueError):
        parse_modes("Webhook")


def test_forbidden_wording():
    err = forbidden("jane", Request("list", True, "", "pods", "", "default"))
    assert err.code == 403 and err.reason == "Forbidden"
    assert err.message == (
        'pods is forbidden: User "jane" cannot list resource "pods" in API group "" in the '
        'namespace "default"'
    )
    err = forbidden("jane", Request("get", True, "apps", "deployments", "scale", "", "web"))
    assert err.message == (
        'deployments.apps "web" is forbidden: User "jane" cannot get resource '
        '"deployments/scale" in API group "apps" at the cluster scope'
    )
    err = forbidden("system:anonymous", Request("get", False, path="/metrics"))
    assert err.message == 'forbidden: User "system:anonymous" cannot get path "/metrics"'


def _binding(kind: str, name: str, ns: str, role_kind: str, role: str, subjects: list) -> dict:
    meta = {"name": name, **({"namespace": ns} if ns else {})}
    ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": role}
    return {"kind": kind, "metadata": meta, "roleRef": ref, "subjects": subjects}


def test_rbac_index_follows_changes():
    index = PolicyIndex()
    authz = RBACAuthorizer(index)
    jane = User("jane", "", ("dev", "system:authenticated"))
    list_pods = Request("list", True, "", "pods", "", "team")
    index.put("clusterroles", {"metadata": {"name": "reader"}, "rules": [
        {"verbs": ["list"], "apiGroups": [""], "resources": ["pods"]}
    ]})  # fmt: skip
    assert authz.authorize(jane, list_pods)[0] is Decision.NO_OPINION
    rb = _binding("RoleBinding", "b", "team", "ClusterRole", "reader", [
        {"kind": "Group", "name": "dev"}
    ])  # fmt: skip
    index.put("rolebindings", rb)
    assert authz.authorize(jane, list_pods)[0] is Decision.ALLOW
    # a RoleBinding grants only in its namespace
    other = Request("list", True, "", "pods", "", "other")
    assert authz.authorize(jane, other)[0] is Decision.NO_OPINION
    index.remove("rolebindings", rb)
    assert authz.authorize(jane, list_pods)[0] is Decision.NO_OPINION
    # a binding to a missing role says so in the reason
    ghost = [{"kind": "User", "name": "jane"}]
    index.put(
        "clusterrolebindings",
        _binding("ClusterRoleBinding", "c", "", "ClusterRole", "ghost", ghost),
    )
    decision, reason = authz.authorize(jane, list_pods)
    assert decision is Decision.NO_OPINION
    assert reason == 'RBAC: clusterrole.rbac.authorization.k8s.io "ghost" not found'
    assert authz.rules_for(jane, "team").incomplete


def test_authenticators():
    tokens = {"t1": User("jane", "42", ("dev",))}
    authn = Authenticator(tokens, client_ca=True, anonymous=True)

    def auth(a: Authenticator, header: str | None, cert: dict | None) -> User | None:
        return asyncio.run(a.authenticate(header, cert))

    assert auth(authn, "Bearer t1", None) == User("jane", "42", ("dev", "system:authenticated"))
    with pytest.raises(Unauthorized):
        auth(authn, "Bearer nope", None)
    cert = {"subject": ((("organizationName", "ops"),), (("commonName", "carol"),))}
    assert auth(authn, None, cert) == User("carol", "", ("ops", "system:authenticated"))
    assert auth(authn, None, None) == User("system:anonymous", "", ("system:unauthenticated",))
    assert auth(Authenticator(tokens, False, False), None, cert) is None
    assert user_from_peer_cert({"subject": ((("organizationName", "x"),),)}) is None
    assert impersonated("system:serviceaccount:ns:sa", [], "").groups == (
        "system:serviceaccounts",
        "system:serviceaccounts:ns",
        "system:authenticated",
    )
