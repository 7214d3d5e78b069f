"""controller.daemonset.placement: which nodes a daemon pod belongs on, and its pod."""

from controller.daemonset.placement import (
    REVISION_HASH,
    TEMPLATE_GENERATION_LABEL,
    daemon_tolerations,
    pin_to_node,
    pod_template,
    should_run,
    target_node,
)
from tests.unit.controller.daemonset.builders import daemonset, node


def test_every_node_without_constraints():
    assert should_run(daemonset(), node("n1")) == (True, True)


def test_node_selector_affinity_and_node_name():
    ds = daemonset(nodeSelector={"disk": "ssd"})
    assert should_run(ds, node("n1", {"disk": "ssd"})) == (True, True)
    assert should_run(ds, node("n2", {"disk": "hdd"})) == (False, False)
    term = {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]}
    affinity = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [term]}}}  # fmt: skip
    ds = daemonset(affinity=affinity)
    assert should_run(ds, node("n1", {"zone": "b"}))[0]
    assert should_run(ds, node("n1", {"zone": "c"})) == (False, False)
    assert should_run(daemonset(nodeName="n2"), node("n1")) == (False, False)


def test_taints_keep_new_pods_off_and_only_no_execute_evicts():
    no_schedule = node("n1", taints=[{"key": "dedicated", "value": "db", "effect": "NoSchedule"}])
    assert should_run(daemonset(), no_schedule) == (False, True)
    no_execute = node("n1", taints=[{"key": "dedicated", "effect": "NoExecute"}])
    assert should_run(daemonset(), no_execute) == (False, False)
    tolerant = daemonset(tolerations=[{"key": "dedicated", "operator": "Exists"}])
    assert should_run(tolerant, no_execute) == (True, True)
    prefer = node("n1", taints=[{"key": "x", "effect": "PreferNoSchedule"}])
    assert should_run(daemonset(), prefer) == (True, True)


def test_daemon_tolerations_cover_cordoned_not_ready_and_pressured_nodes():
    for key, effect in [
        ("node.kubernetes.io/unschedulable", "NoSchedule"),
        ("node.kubernetes.io/not-ready", "NoExecute"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
        ("node.kubernetes.io/disk-pressure", "NoSchedule"),
        ("node.kubernetes.io/memory-pressure", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "NoSchedule"),
    ]:
        tainted = node("n1", taints=[{"key": key, "effect": effect}])
        assert should_run(daemonset(), tainted) == (True, True), key
    network = node("n1", taints=[{"key": "node.kubernetes.io/network-unavailable",
                                  "effect": "NoSchedule"}])  # fmt: skip
    assert should_run(daemonset(), network)[0] is False
    assert should_run(daemonset(hostNetwork=True), network)[0] is True
    assert len(daemon_tolerations(False)) == 6 and len(daemon_tolerations(True)) == 7


def test_pod_template_labels_and_tolerations():
    own = {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute",
           "tolerationSeconds": 5}  # fmt: skip
    template = pod_template(daemonset(tolerations=[own]), "abc")
    assert template["metadata"]["labels"] == {
        "app": "agent",
        TEMPLATE_GENERATION_LABEL: "1",
        REVISION_HASH: "abc",
    }
    tolerations = template["spec"]["tolerations"]
    assert len(tolerations) == 6
    assert all("tolerationSeconds" not in t for t in tolerations)  # replaced, as Kubernetes


def test_pin_to_node_replaces_required_terms_and_keeps_preferred():
    preferred = [{"weight": 1, "preference": {"matchExpressions": []}}]
    spec = {"affinity": {"nodeAffinity": {
        "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{}]},
        "preferredDuringSchedulingIgnoredDuringExecution": preferred}}}  # fmt: skip
    pin_to_node(spec, "n7")
    affinity = spec["affinity"]["nodeAffinity"]
    assert affinity["requiredDuringSchedulingIgnoredDuringExecution"] == {
        "nodeSelectorTerms": [
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n7"]}]}
        ]
    }
    assert affinity["preferredDuringSchedulingIgnoredDuringExecution"] == preferred
    assert target_node({"spec": spec}) == "n7"
    assert target_node({"spec": {**spec, "nodeName": "n8"}}) == "n8"
    assert target_node({"spec": {}}) is None
