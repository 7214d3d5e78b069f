"""RBAC rule matching and escalation coverage (api/rbac), as Kubernetes' rule tests."""

from __future__ import annotations

from api import rbac
from api.rbac import Request


def rule(verbs, groups=None, resources=None, names=None, urls=None) -> dict:
    r: dict = {"verbs": verbs}
    if groups is not None:
        r["apiGroups"] = groups
    if resources is not None:
        r["resources"] = resources
    if names is not None:
        r["resourceNames"] = names
    if urls is not None:
        r["nonResourceURLs"] = urls
    return r


def req(verb, resource="pods", group="", sub="", name="", ns="default") -> Request:
    return Request(verb, True, group, resource, sub, ns, name)


def test_verbs_groups_resources_and_wildcards():
    r = rule(["get", "list"], [""], ["pods"])
    assert rbac.rule_allows(r, req("get"))
    assert not rbac.rule_allows(r, req("delete"))
    assert not rbac.rule_allows(r, req("get", group="apps"))
    assert not rbac.rule_allows(r, req("get", resource="secrets"))
    star = rule(["*"], ["*"], ["*"])
    assert rbac.rule_allows(star, req("escalate", "roles", "rbac.authorization.k8s.io"))
    assert rbac.rule_allows(star, req("get", sub="log"))


def test_subresources_need_their_own_grant():
    assert not rbac.rule_allows(rule(["get"], [""], ["pods"]), req("get", sub="log"))
    assert rbac.rule_allows(rule(["get"], [""], ["pods/log"]), req("get", sub="log"))
    assert not rbac.rule_allows(rule(["get"], [""], ["pods/log"]), req("get"))
    any_scale = rule(["update"], ["apps"], ["*/scale"])
    assert rbac.rule_allows(any_scale, req("update", "deployments", "apps", "scale"))
    assert not rbac.rule_allows(any_scale, req("update", "deployments", "apps"))


def test_resource_names():
    r = rule(["get"], [""], ["configmaps"], ["app-config"])
    assert rbac.rule_allows(r, req("get", "configmaps", name="app-config"))
    assert not rbac.rule_allows(r, req("get", "configmaps", name="other"))
    assert not rbac.rule_allows(r, req("list", "configmaps"))  # a list has no name


def test_non_resource_urls():
    r = rule(["get"], urls=["/healthz", "/apis/*"])
    nr = Request("get", False, path="/healthz")
    assert rbac.rule_allows(r, nr)
    assert rbac.rule_allows(r, Request("get", False, path="/apis/apps/v1"))
    assert not rbac.rule_allows(r, Request("get", False, path="/api"))
    assert not rbac.rule_allows(r, Request("post", False, path="/healthz"))
    assert not rbac.rule_allows(r, req("get"))  # URL rules never grant resources
    assert rbac.rule_allows(rule(["*"], urls=["*"]), Request("delete", False, path="/x"))


def test_subjects():
    assert rbac.subject_matches({"kind": "User", "name": "jane"}, "jane", (), "ns")
    assert rbac.subject_matches({"kind": "Group", "name": "dev"}, "bob", ("dev",), "ns")
    sa = {"kind": "ServiceAccount", "name": "robot"}
    assert rbac.subject_matches(sa, "system:serviceaccount:ns:robot", (), "ns")
    assert not rbac.subject_matches(sa, "system:serviceaccount:other:robot", (), "ns")
    assert not rbac.subject_matches(sa, "system:serviceaccount:ns:robot", (), "")  # no namespace


def test_coverage_for_escalation():
    owner = [rule(["get", "list"], [""], ["pods", "secrets"]), rule(["get"], urls=["/api/*"])]
    assert rbac.uncovered(owner, [rule(["get"], [""], ["pods"])]) == []
    assert rbac.uncovered(owner, [rule(["get"], urls=["/api/v1"])]) == []
    assert rbac.uncovered(owner, [rule(["get", "delete"], [""], ["pods"])]) == [
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["delete"]}
    ]
    # a wildcard in what is granted is covered only by a wildcard held
    assert rbac.uncovered(owner, [rule(["*"], [""], ["pods"])])
    assert rbac.uncovered(owner, [rule(["get"], ["*"], ["pods"])])
    # names: a named grant is within an unnamed hold, not the other way round
    assert rbac.uncovered(owner, [rule(["get"], [""], ["pods"], ["web"])]) == []
    named = [rule(["get"], [""], ["pods"], ["web"])]
    assert rbac.uncovered(named, [rule(["get"], [""], ["pods"])])
    assert rbac.uncovered([rule(["*"], ["*"], ["*"]), rule(["*"], urls=["*"])], owner) == []
    assert rbac.uncovered([rule(["get"], ["apps"], ["*/scale"])], [
        rule(["get"], ["apps"], ["deployments/scale"])
    ]) == []  # fmt: skip


def test_describe_rule_as_kubernetes_prints_it():
    assert (
        rbac.describe_rule({"apiGroups": [""], "resources": ["nodes"], "verbs": ["get"]})
        == '{APIGroups:[""], Resources:["nodes"], Verbs:["get"]}'
    )
