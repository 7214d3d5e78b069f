"""Each filter and score plugin on hand-built nodes and pods (pure logic)."""

from __future__ import annotations

from typing import Any

import pytest

from scheduler.framework import filter_applies, score_applies
from scheduler.nodeinfo import NodeInfo
from scheduler.plugins.node_affinity import NodeAffinity
from scheduler.plugins.node_ports import NodePorts
from scheduler.plugins.node_resources import NodeResourcesBalancedAllocation, NodeResourcesFit
from scheduler.plugins.node_unschedulable import NodeUnschedulable
from scheduler.plugins.owner_spread import OwnerSpread
from scheduler.plugins.taint_toleration import TaintToleration
from scheduler.podinfo import PodInfo


def node(
    name: str = "n1",
    *,
    labels: dict[str, str] | None = None,
    cpu: str = "4",
    memory: str = "8Gi",
    pods: str = "110",
    taints: list[dict] | None = None,
    unschedulable: bool = False,
    ready: str | None = "True",
    extra: dict[str, str] | None = None,
) -> NodeInfo:
    conditions = [] if ready is None else [{"type": "Ready", "status": ready}]
    obj: dict[str, Any] = {
        "metadata": {"name": name, "labels": labels or {}},
        "spec": {"taints": taints or [], "unschedulable": unschedulable},
        "status": {
            "allocatable": {"cpu": cpu, "memory": memory, "pods": pods, **(extra or {})},
            "conditions": conditions,
        },
    }
    return NodeInfo(name, obj)


def pod(
    name: str = "p",
    *,
    cpu: str | None = None,
    memory: str | None = None,
    labels: dict[str, str] | None = None,
    owner: str | None = None,
    host_port: int | None = None,
    host_ip: str | None = None,
    protocol: str | None = None,
    **spec: Any,
) -> PodInfo:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    container: dict[str, Any] = {"name": "c", "image": "busybox"}
    if requests:
        container["resources"] = {"requests": requests}
    if host_port:
        port: dict[str, Any] = {"containerPort": 80, "hostPort": host_port}
        if host_ip:
            port["hostIP"] = host_ip
        if protocol:
            port["protocol"] = protocol
        container["ports"] = [port]
    md: dict[str, Any] = {"name": name, "namespace": "ns", "labels": labels or {}}
    if owner:
        md["ownerReferences"] = [
            {
                "apiVersion": "apps/v1",
                "kind": "ReplicaSet",
                "name": owner,
                "uid": owner,
                "controller": True,
            }
        ]
    return PodInfo({"metadata": md, "spec": {"containers": [container], **spec}})


def reasons(status) -> tuple[str, ...]:
    return status.reasons if status is not None else ()


# ---- NodeUnschedulable -------------------------------------------------------------
def test_cordoned_node_is_rejected_unless_the_pod_tolerates_it():
    plugin = NodeUnschedulable()
    assert plugin.filter(pod(), node()) is None
    assert reasons(plugin.filter(pod(), node(unschedulable=True))) == (
        "node(s) were unschedulable",
    )
    tolerant = pod(
        tolerations=[
            {
                "key": "node.kubernetes.io/unschedulable",
                "operator": "Exists",
                "effect": "NoSchedule",
            }
        ]
    )
    assert plugin.filter(tolerant, node(unschedulable=True)) is None


# ---- TaintToleration ----------------------------------------------------------------
GPU = {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}


def test_untolerated_no_schedule_and_no_execute_taints_reject_with_kubernetes_wording():
    plugin = TaintToleration()
    assert reasons(plugin.filter(pod(), node(taints=[GPU]))) == (
        "node(s) had untolerated taint {dedicated: gpu}",
    )
    no_execute = {"key": "maintenance", "effect": "NoExecute"}
    assert reasons(plugin.filter(pod(), node(taints=[no_execute]))) == (
        "node(s) had untolerated taint {maintenance: }",
    )
    tolerant = pod(tolerations=[{"key": "dedicated", "operator": "Exists"}])
    assert plugin.filter(tolerant, node(taints=[GPU])) is None


def test_prefer_no_schedule_only_lowers_the_score():
    plugin = TaintToleration()
    soft = node("soft", taints=[{"key": "spot", "value": "yes", "effect": "PreferNoSchedule"}])
    plain = node("plain")
    p = pod()
    assert plugin.filter(p, soft) is None
    scores = [plugin.score(p, soft), plugin.score(p, plain)]
    plugin.normalize(p, scores)
    assert scores == [0, 100]
    spot = {"key": "spot", "operator": "Exists", "effect": "PreferNoSchedule"}
    tolerant = pod(tolerations=[spot])
    scores = [plugin.score(tolerant, soft), plugin.score(tolerant, plain)]
    plugin.normalize(tolerant, scores)
    assert scores == [100, 100]


@pytest.mark.parametrize(
    ("ready", "taint_key"),
    [
        ("False", "node.kubernetes.io/not-ready"),
        (None, "node.kubernetes.io/not-ready"),
        ("Unknown", "node.kubernetes.io/unreachable"),
    ],
)
def test_a_node_that_is_not_ready_counts_as_tainted_like_kubernetes_marks_it(ready, taint_key):
    plugin = TaintToleration()
    status = plugin.filter(pod(), node(ready=ready))
    assert reasons(status) == (f"node(s) had untolerated taint {{{taint_key}: }}",)
    tolerant = pod(tolerations=[{"key": taint_key, "operator": "Exists"}])
    assert plugin.filter(tolerant, node(ready=ready)) is None


# ---- NodeAffinity -------------------------------------------------------------------
SSD = node("ssd-1", labels={"disk": "ssd", "cores": "16", "zone": "a"})
HDD = node("hdd-1", labels={"disk": "hdd", "cores": "4"})
AFFINITY_REASON = ("node(s) didn't match Pod's node affinity/selector",)


def required(*terms: dict) -> dict:
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": list(terms)}
        }
    }


def expr(key: str, operator: str, *values: str) -> dict:
    e: dict[str, Any] = {"key": key, "operator": operator}
    if values:
        e["values"] = list(values)
    return e


def test_node_selector_must_match_every_label():
    plugin = NodeAffinity()
    p = pod(nodeSelector={"disk": "ssd"})
    assert plugin.filter(p, SSD) is None
    assert reasons(plugin.filter(p, HDD)) == AFFINITY_REASON
    assert reasons(plugin.filter(pod(nodeSelector={"disk": "ssd", "zone": "b"}), SSD))


@pytest.mark.parametrize(
    ("expression", "matches_ssd", "matches_hdd"),
    [
        (expr("disk", "In", "ssd", "nvme"), True, False),
        (expr("disk", "NotIn", "ssd"), False, True),
        (expr("zone", "Exists"), True, False),
        (expr("zone", "DoesNotExist"), False, True),
        (expr("cores", "Gt", "8"), True, False),
        (expr("cores", "Lt", "8"), False, True),
        (expr("cores", "Gt", "many"), False, False),  # invalid: the term matches nothing
    ],
)
def test_required_node_affinity_operators(expression, matches_ssd, matches_hdd):
    plugin = NodeAffinity()
    p = pod(affinity=required({"matchExpressions": [expression]}))
    assert (plugin.filter(p, SSD) is None) is matches_ssd
    assert (plugin.filter(p, HDD) is None) is matches_hdd


def test_terms_are_ored_and_expressions_within_a_term_anded():
    plugin = NodeAffinity()
    both = pod(
        affinity=required(
            {"matchExpressions": [expr("disk", "In", "ssd"), expr("cores", "Lt", "8")]}
        )
    )
    assert reasons(plugin.filter(both, SSD)) == AFFINITY_REASON
    either = pod(
        affinity=required(
            {"matchExpressions": [expr("disk", "In", "ssd")]},
            {"matchExpressions": [expr("cores", "Lt", "8")]},
        )
    )
    assert plugin.filter(either, SSD) is None and plugin.filter(either, HDD) is None


def test_match_fields_select_by_node_name_and_empty_terms_match_nothing():
    plugin = NodeAffinity()
    by_name = pod(
        affinity=required(
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["hdd-1"]}]}
        )
    )
    assert plugin.filter(by_name, HDD) is None
    assert reasons(plugin.filter(by_name, SSD)) == AFFINITY_REASON
    empty = pod(affinity=required({}))
    assert reasons(plugin.filter(empty, SSD)) == AFFINITY_REASON


def test_node_selector_and_required_affinity_must_both_hold():
    plugin = NodeAffinity()
    p = pod(
        nodeSelector={"disk": "ssd"},
        affinity=required({"matchExpressions": [expr("cores", "Lt", "8")]}),
    )
    assert plugin.filter(p, SSD) is not None and plugin.filter(p, HDD) is not None


def test_pods_without_selector_or_affinity_skip_the_filter_and_score():
    plugin = NodeAffinity()
    assert not filter_applies(plugin, pod())
    assert not score_applies(plugin, pod())


def test_preferred_affinity_scores_by_summed_weights_of_matching_terms():
    plugin = NodeAffinity()
    p = pod(
        affinity={
            "nodeAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 80, "preference": {"matchExpressions": [expr("disk", "In", "ssd")]}},
                    {"weight": 20, "preference": {"matchExpressions": [expr("cores", "Exists")]}},
                ]
            }
        }
    )
    plain = node("plain")
    scores = [plugin.score(p, n) for n in (SSD, HDD, plain)]
    assert scores == [100, 20, 0]
    plugin.normalize(p, scores)
    assert scores == [100, 20, 0]
    assert plugin.filter(p, plain) is None  # preferences never filter


# ---- NodePorts ----------------------------------------------------------------------
def test_host_port_conflicts_follow_protocol_and_ip():
    plugin = NodePorts()
    n = node()
    n.add_pod(pod("web", host_port=8080))
    reason = ("node(s) didn't have free ports for the requested pod ports",)
    assert reasons(plugin.filter(pod(host_port=8080), n)) == reason
    assert plugin.filter(pod(host_port=8081), n) is None
    assert plugin.filter(pod(host_port=8080, protocol="UDP"), n) is None
    # 0.0.0.0 (the default) overlaps any specific IP, and the other way round
    assert reasons(plugin.filter(pod(host_port=8080, host_ip="10.0.0.1"), n)) == reason
    other = node("other")
    other.add_pod(pod("a", host_port=9000, host_ip="10.0.0.1"))
    assert plugin.filter(pod(host_port=9000, host_ip="10.0.0.2"), other) is None
    assert reasons(plugin.filter(pod(host_port=9000), other)) == reason


def test_ports_are_released_when_the_pod_goes_and_the_filter_skips_portless_pods():
    plugin = NodePorts()
    n = node()
    n.add_pod(pod("web", host_port=8080))
    n.remove_pod("ns/web")
    assert plugin.filter(pod(host_port=8080), n) is None
    assert not filter_applies(plugin, pod())


# ---- NodeResourcesFit -----------------------------------------------------------------
def test_fit_counts_what_bound_pods_request_against_allocatable():
    plugin = NodeResourcesFit()
    n = node(cpu="2", memory="1Gi", pods="3")
    n.add_pod(pod("a", cpu="1500m", memory="512Mi"))
    assert plugin.filter(pod(cpu="500m", memory="512Mi"), n) is None
    assert reasons(plugin.filter(pod(cpu="501m"), n)) == ("Insufficient cpu",)
    assert reasons(plugin.filter(pod(cpu="1", memory="1Gi"), n)) == (
        "Insufficient cpu",
        "Insufficient memory",
    )
    n.add_pod(pod("b"))
    n.add_pod(pod("c"))
    assert reasons(plugin.filter(pod(), n)) == ("Too many pods",)


def test_extended_resources_must_be_allocatable():
    plugin = NodeResourcesFit()
    gpu_pod = pod()
    gpu_pod.other_requests = {"nvidia.com/gpu": 1}
    assert reasons(plugin.filter(gpu_pod, node())) == ("Insufficient nvidia.com/gpu",)
    assert plugin.filter(gpu_pod, node(extra={"nvidia.com/gpu": "2"})) is None


def test_least_allocated_prefers_the_emptier_node():
    plugin = NodeResourcesFit()
    empty, busy = node("empty"), node("busy")
    busy.add_pod(pod("x", cpu="2", memory="4Gi"))
    p = pod(cpu="1", memory="2Gi")
    # empty: cpu (4-1)/4 = 75, memory (8-2)/8 = 75; busy: (4-3)/4 = 25, (8-6)/8 = 25
    assert plugin.score(p, empty) == 75
    assert plugin.score(p, busy) == 25
    busy.add_pod(pod("y", cpu="0", memory="2Gi"))  # memory now full: (25 + 0) / 2
    assert plugin.score(p, busy) == 12


def test_least_allocated_counts_request_less_pods_at_default_requests():
    plugin = NodeResourcesFit()
    n = node(cpu="1", memory="2000Mi")
    # 100m of 1000m and 200Mi of 2000Mi used → 90 and 90
    assert plugin.score(pod(), n) == 90


def test_balanced_allocation_prefers_even_cpu_and_memory_use():
    plugin = NodeResourcesBalancedAllocation()
    n = node(cpu="4", memory="8Gi")
    assert plugin.score(pod(cpu="2", memory="4Gi"), n) == 100
    assert plugin.score(pod(cpu="2", memory="0"), n) == 75  # |0.5 - 0| / 2 = 0.25
    assert not score_applies(plugin, pod())


# ---- OwnerSpread ---------------------------------------------------------------------
def test_owner_spread_prefers_nodes_with_fewer_pods_of_the_same_controller():
    plugin = OwnerSpread()
    a, b, c = node("a"), node("b"), node("c")
    for i in range(2):
        a.add_pod(pod(f"rs-{i}", owner="rs-uid"))
    b.add_pod(pod("rs-2", owner="rs-uid"))
    c.add_pod(pod("other", owner="other-uid"))
    p = pod("new", owner="rs-uid")
    scores = [plugin.score(p, n) for n in (a, b, c)]
    assert scores == [2, 1, 0]
    plugin.normalize(p, scores)
    assert scores == [0, 50, 100]


def test_without_a_controller_pods_with_the_same_labels_spread_together():
    plugin = OwnerSpread()
    a = node("a")
    a.add_pod(pod("x", labels={"app": "web"}))
    assert plugin.score(pod("y", labels={"app": "web"}), a) == 1
    assert plugin.score(pod("z", labels={"app": "db"}), a) == 0
    assert not score_applies(plugin, pod("bare"))
