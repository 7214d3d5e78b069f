"""Quota accounting: what objects cost, scopes, and the admission check's messages, as
Kubernetes' quota evaluators and CheckRequest compute and word them."""

from __future__ import annotations

from typing import Any

import pytest

from api import quota
from api.quantity import Quantity

Obj = dict[str, Any]


def q(text: str) -> Quantity:
    return Quantity.parse(text)


def pod(name: str = "p", *containers: Obj, **spec: Any) -> Obj:
    return {
        "metadata": {"name": name, "resourceVersion": ""},
        "spec": {"containers": list(containers) or [{"name": "c"}], **spec},
    }


def container(name: str = "c", requests: Obj | None = None, limits: Obj | None = None) -> Obj:
    resources = {k: v for k, v in (("requests", requests), ("limits", limits)) if v}
    return {"name": name, "resources": resources}


def rq(name: str, hard: Obj, used: Obj | None = None, **spec: Any) -> Obj:
    status: Obj = {"hard": hard}
    if used is not None:
        status["used"] = used
    return {"metadata": {"name": name}, "spec": {"hard": hard, **spec}, "status": status}


def test_sums_keep_the_format_of_their_first_term() -> None:
    total = quota.add(
        {"cpu": q("500m"), "memory": q("1Gi")}, {"cpu": q("500m"), "memory": q("512Mi")}
    )
    assert quota.to_json(total) == {"cpu": "1", "memory": "1536Mi"}
    assert str(quota.add({"pods": Quantity(0)}, {"pods": q("1")})["pods"]) == "1"
    assert quota.pretty({"requests.cpu": q("1.5"), "pods": q("2")}) == "pods=2,requests.cpu=1500m"


def test_pod_usage_sums_containers_and_takes_the_largest_init_step() -> None:
    p = pod(
        "p",
        container("a", {"cpu": "100m", "memory": "64Mi"}, {"cpu": "200m"}),
        container("b", {"cpu": "300m"}),
        initContainers=[container("init", {"cpu": "1", "memory": "32Mi"})],
    )
    usage = quota.to_json(quota.pod_usage(p))
    assert usage == {
        "count/pods": "1",
        "pods": "1",
        "cpu": "1",
        "requests.cpu": "1",
        "memory": "64Mi",
        "requests.memory": "64Mi",
        "limits.cpu": "200m",
    }


def test_terminal_pods_keep_only_their_object_count() -> None:
    p = pod("p", container("a", {"cpu": "1"}))
    p["status"] = {"phase": "Failed"}
    assert quota.to_json(quota.pod_usage(p)) == {"count/pods": "1"}
    p["status"] = {"phase": "Running"}
    p["metadata"].update(deletionTimestamp="2020-01-01T00:00:00Z", deletionGracePeriodSeconds=30)
    assert quota.to_json(quota.pod_usage(p)) == {"count/pods": "1"}


def test_exceeding_a_quota_names_only_what_is_exceeded() -> None:
    quotas = [rq("q", {"pods": "2", "requests.cpu": "1"}, {"pods": "2", "requests.cpu": "200m"})]
    with pytest.raises(quota.QuotaRefused) as err:
        quota.charge(quota.PODS, quotas, pod("p", container("c", {"cpu": "100m"})))
    assert str(err.value) == "exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2"


def test_an_admitted_pod_is_charged_to_every_matching_quota() -> None:
    quotas = [
        rq("a", {"pods": "3"}, {"pods": "1"}),
        rq("b", {"requests.cpu": "1"}, {"requests.cpu": "500m"}),
        rq("c", {"configmaps": "1"}, {"configmaps": "0"}),
    ]
    charged = quota.charge(quota.PODS, quotas, pod("p", container("c", {"cpu": "500m"})))
    assert {k: quota.to_json(v) for k, v in charged.items()} == {
        "a": {"pods": "2"},
        "b": {"requests.cpu": "1"},
    }


def test_a_quota_on_cpu_or_memory_requires_every_container_to_state_it() -> None:
    quotas = [rq("q", {"limits.cpu": "2", "requests.memory": "1Gi"}, {})]
    p = pod("p", container("a"), container("b", limits={"cpu": "1"}))
    with pytest.raises(quota.QuotaRefused) as err:
        quota.charge(quota.PODS, quotas, p)
    assert str(err.value) == (
        "failed quota: q: must specify limits.cpu for: a; requests.memory for: a,b"
    )


def test_a_quota_without_status_refuses_until_the_controller_fills_it() -> None:
    quotas = [
        {
            "metadata": {"name": "q"},
            "spec": {"hard": {"pods": "1"}},
            "status": {"hard": {"pods": "1"}},
        }
    ]
    with pytest.raises(quota.QuotaRefused) as err:
        quota.charge(quota.PODS, quotas, pod())
    assert str(err.value) == "status unknown for quota: q, resources: pods"


def test_updates_are_charged_only_their_growth() -> None:
    quotas = [rq("q", {"services.nodeports": "3"}, {"services.nodeports": "1", "services": "1"})]
    old = {"metadata": {"resourceVersion": "5"}, "spec": {"type": "NodePort", "ports": [{}]}}
    new = {"metadata": {"resourceVersion": "5"}, "spec": {"type": "NodePort", "ports": [{}, {}]}}
    charged = quota.charge(quota.SERVICES, quotas, new, old)
    assert quota.to_json(charged["q"]) == {"services": "1", "services.nodeports": "2"}
    assert quota.charge(quota.SERVICES, quotas, old, old) == {}


def test_scopes_select_pods() -> None:
    best_effort = pod("be")
    burstable = pod("b", container("c", {"cpu": "1"}))
    terminating = pod("t", activeDeadlineSeconds=30)
    high = pod("h", priorityClassName="high")
    scoped = rq("s", {"pods": "1"}, {"pods": "0"}, scopes=["BestEffort"])
    assert quota.PODS.matches_scopes(scoped, best_effort)
    assert not quota.PODS.matches_scopes(scoped, burstable)
    assert not quota.SERVICES.matches_scopes(scoped, {"spec": {}})
    term = rq("t", {"pods": "1"}, {}, scopes=["Terminating"])
    assert quota.PODS.matches_scopes(term, terminating)
    assert not quota.PODS.matches_scopes(term, best_effort)
    in_high = rq(
        "p",
        {"pods": "1"},
        {},
        scopeSelector={
            "matchExpressions": [
                {"scopeName": "PriorityClass", "operator": "In", "values": ["high"]}
            ]
        },
    )
    assert quota.PODS.matches_scopes(in_high, high)
    assert not quota.PODS.matches_scopes(in_high, best_effort)


def test_claims_count_storage_per_class() -> None:
    claim = {
        "metadata": {},
        "spec": {"storageClassName": "fast", "resources": {"requests": {"storage": "2Gi"}}},
    }
    assert quota.to_json(quota.CLAIMS.usage(claim)) == {
        "count/persistentvolumeclaims": "1",
        "fast.storageclass.storage.k8s.io/persistentvolumeclaims": "1",
        "fast.storageclass.storage.k8s.io/requests.storage": "2Gi",
        "persistentvolumeclaims": "1",
        "requests.storage": "2Gi",
    }


def test_the_controller_recount_sets_zero_for_unused_resources() -> None:
    hard = {"pods": "5", "requests.cpu": "2", "count/deployments.apps": "3", "services": "2"}
    q_ = rq("q", hard)
    pods = [pod("a", container("c", {"cpu": "250m"})), pod("b", container("c", {"cpu": "250m"}))]
    used = quota.calculate_usage(
        q_,
        [
            (quota.PODS, pods),
            (quota.evaluator_for("apps", "deployments"), []),
            (quota.SERVICES, []),
        ],
    )
    assert quota.to_json(used) == {
        "count/deployments.apps": "0",
        "pods": "2",
        "requests.cpu": "500m",
        "services": "0",
    }
    assert quota.kinds_for(hard) == {("", "pods"), ("apps", "deployments"), ("", "services")}


def test_services_count_node_ports_and_load_balancers() -> None:
    lb = {"spec": {"type": "LoadBalancer", "ports": [{"port": 80}, {"port": 443}]}}
    assert quota.to_json(quota.SERVICES.usage(lb)) == {
        "count/services": "1",
        "services": "1",
        "services.loadbalancers": "1",
        "services.nodeports": "2",
    }
    lb["spec"]["allocateLoadBalancerNodePorts"] = False
    assert "services.nodeports" not in quota.SERVICES.usage(lb)
    assert quota.to_json(quota.SERVICES.usage({"spec": {"type": "ClusterIP"}})) == {
        "count/services": "1",
        "services": "1",
    }
