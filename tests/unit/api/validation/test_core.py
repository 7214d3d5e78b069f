"""api.validation.core: Services, Endpoints, Nodes, Namespaces, Events."""

import copy

from api.validation import validate
from tests.unit.api.validation.objects import (
    defaulted,
    fields,
    make_service,
    only,
)


def test_service_ports_required_unless_headless_or_external_name():
    svc = make_service(ports=[])
    assert only(validate("Service", svc), "spec.ports")["message"] == "Required value"
    assert validate("Service", make_service(ports=[], clusterIP="None")) == []
    ext = defaulted(
        "Service",
        {
            "metadata": {"name": "ext", "namespace": "d"},
            "spec": {"type": "ExternalName", "externalName": "example.com."},
        },
    )
    assert validate("Service", ext) == []
    ext["spec"]["externalName"] = ""
    assert only(validate("Service", ext), "spec.externalName")["message"] == "Required value"


def test_service_ports():
    svc = make_service(
        ports=[
            {"port": 80, "targetPort": 70000},
            {"name": "http", "port": 0, "targetPort": "Bad_Name"},
            {"name": "http", "port": 80, "protocol": "TCP", "nodePort": 30080},
        ]
    )
    causes = validate("Service", svc)
    assert only(causes, "spec.ports[0].name")["message"] == "Required value"
    assert only(causes, "spec.ports[0].targetPort")["message"] == (
        "Invalid value: 70000: must be between 1 and 65535, inclusive"
    )
    assert only(causes, "spec.ports[1].port")["message"] == (
        "Invalid value: 0: must be between 1 and 65535, inclusive"
    )
    assert only(causes, "spec.ports[1].targetPort")["message"].startswith(
        'Invalid value: "Bad_Name"'
    )
    assert only(causes, "spec.ports[2].name")["message"] == 'Duplicate value: "http"'
    assert only(causes, "spec.ports[2].nodePort")["message"] == (
        "Forbidden: may not be used when `type` is 'ClusterIP'"
    )
    assert only(causes, "spec.ports[2]")["reason"] == "FieldValueDuplicate"


def test_service_enums_and_selector():
    svc = make_service(type="Internal", sessionAffinity="Sticky", selector={"app": "-x"})
    causes = validate("Service", svc)
    assert only(causes, "spec.type")["message"] == (
        'Unsupported value: "Internal": supported values: "ClusterIP", "ExternalName", '
        '"LoadBalancer", "NodePort"'
    )
    assert only(causes, "spec.sessionAffinity")["message"] == (
        'Unsupported value: "Sticky": supported values: "ClientIP", "None"'
    )
    assert only(causes, "spec.selector")["message"].startswith('Invalid value: "-x"')


def test_service_types():
    assert validate("Service", make_service(type="NodePort")) == []
    assert validate("Service", make_service(type="LoadBalancer")) == []
    node_headless = make_service(type="NodePort", clusterIP="None")
    assert only(validate("Service", node_headless), "spec.clusterIPs[0]")["message"] == (
        "Invalid value: \"None\": may not be set to 'None' for NodePort services"
    )
    bad_ip = make_service(clusterIP="10.96.0.300")
    assert only(validate("Service", bad_ip), "spec.clusterIPs[0]")["message"] == (
        'Invalid value: "10.96.0.300": must be a valid IP address, '
        "(e.g. 10.9.8.7 or 2001:db8::ffff)"
    )


def test_cluster_ip_is_immutable_once_set():
    old = make_service(clusterIP="10.96.0.10")
    new = copy.deepcopy(old)
    new["spec"]["clusterIP"] = new["spec"]["clusterIPs"][0] = "10.96.0.11"
    assert validate("Service", new, old) == [
        {
            "field": "spec.clusterIPs[0]",
            "message": 'Invalid value: []string{"10.96.0.11"}: may not change once set',
            "reason": "FieldValueInvalid",
        }
    ]
    unallocated = make_service()
    allocated = copy.deepcopy(unallocated)
    allocated["spec"]["clusterIP"], allocated["spec"]["clusterIPs"] = "10.96.0.5", ["10.96.0.5"]
    assert validate("Service", allocated, unallocated) == []
    omitted = copy.deepcopy(old)  # a PUT without clusterIP keeps the allocated one
    del omitted["spec"]["clusterIP"], omitted["spec"]["clusterIPs"]
    assert validate("Service", omitted, old) == []
    same = copy.deepcopy(old)
    same["spec"]["ports"][0]["port"] = 81
    same["spec"]["ports"][0]["targetPort"] = 81
    assert validate("Service", same, old) == []


def test_endpoints():
    ep = defaulted(
        "Endpoints",
        {
            "metadata": {"name": "web", "namespace": "default"},
            "subsets": [
                {"addresses": [{"ip": "10.0.0.1"}, {}, {"ip": "nope"}], "ports": [{"port": 80}]},
                {"ports": [{"port": 80}, {"port": 81}]},
            ],
        },
    )
    causes = validate("Endpoints", ep)
    assert only(causes, "subsets[0].addresses[1].ip")["message"] == "Required value"
    assert only(causes, "subsets[0].addresses[2].ip")["message"].startswith(
        'Invalid value: "nope": must be a valid IP address'
    )
    assert only(causes, "subsets[1]")["message"] == (
        "Required value: must specify `addresses` or `notReadyAddresses`"
    )
    assert fields(causes).count("subsets[1].ports[0].name") == 1


def test_node():
    node = {
        "metadata": {"name": "n1"},
        "spec": {
            "taints": [
                {"key": "k", "effect": "NoSchedule"},
                {"key": "k", "effect": "NoSchedule"},
                {"key": "j", "effect": "Sometimes"},
            ],
            "podCIDR": "10.0.0.0/33",
        },
        "status": {"capacity": {"cpu": "4", "memory": "x"}},
    }
    causes = validate("Node", node)
    assert only(causes, "spec.taints[1]")["reason"] == "FieldValueDuplicate"
    assert only(causes, "spec.taints[2].effect")["reason"] == "FieldValueNotSupported"
    assert "spec.podCIDR" in fields(causes)
    assert "status.capacity.memory" in fields(causes)
    old = {"metadata": {"name": "n1"}, "spec": {"podCIDRs": ["10.0.0.0/24"]}}
    new = {"metadata": {"name": "n1"}, "spec": {"podCIDRs": ["10.0.1.0/24"]}}
    assert fields(validate("Node", new, old)) == ["spec.podCIDRs"]


def test_node_pod_cidrs_are_set_once():
    """As Kubernetes' ValidateNodeUpdate: from nothing to a CIDR is allowed (the node
    IPAM controller's patch), any later change is Forbidden, also through the legacy
    podCIDR field."""
    bare = {"metadata": {"name": "n1"}, "spec": {}}
    given = defaulted("Node", {"metadata": {"name": "n1"}, "spec": {"podCIDR": "10.244.1.0/24"}})
    assert given["spec"]["podCIDRs"] == ["10.244.1.0/24"]
    assert validate("Node", given, bare) == []
    assert validate("Node", copy.deepcopy(given), given) == []
    moved = copy.deepcopy(given)
    moved["spec"] = {"podCIDR": "10.244.2.0/24", "podCIDRs": ["10.244.2.0/24"]}
    cause = only(validate("Node", moved, given), "spec.podCIDRs")
    assert cause["reason"] == "FieldValueForbidden"
    assert (
        cause["message"] == 'Forbidden: node updates may not change podCIDR except from "" to valid'
    )
    legacy_old = {"metadata": {"name": "n1"}, "spec": {"podCIDR": "10.244.1.0/24"}}
    assert fields(validate("Node", {"metadata": {"name": "n1"}, "spec": {}}, legacy_old)) == [
        "spec.podCIDRs"
    ]


def test_node_pod_cidrs_one_per_family():
    dual = {"metadata": {"name": "n1"}, "spec": {"podCIDRs": ["10.244.1.0/24", "fd00::/64"]}}
    assert validate("Node", dual) == []
    two_v4 = {"metadata": {"name": "n1"}, "spec": {"podCIDRs": ["10.244.1.0/24", "10.9.0.0/24"]}}
    assert only(validate("Node", two_v4), "spec.podCIDRs")["message"].endswith(
        "may specify no more than one CIDR for each IP family"
    )


def test_namespace_finalizers():
    ns = {"metadata": {"name": "a"}, "spec": {"finalizers": ["kubernetes", "custom"]}}
    assert only(validate("Namespace", ns), "spec.finalizers")["message"].endswith(
        "name is neither a standard finalizer name nor is it fully qualified"
    )


def test_event_namespace_must_match():
    event = {
        "metadata": {"name": "e1", "namespace": "default"},
        "involvedObject": {"kind": "Pod", "namespace": "default", "name": "p"},
    }
    assert validate("Event", event) == []
    node_event = {"metadata": {"name": "e2", "namespace": "default"}, "involvedObject": {}}
    assert validate("Event", node_event) == []
    event["involvedObject"]["namespace"] = "other"
    assert validate("Event", event) == [
        {
            "field": "involvedObject.namespace",
            "message": 'Invalid value: "other": does not match event.namespace',
            "reason": "FieldValueInvalid",
        }
    ]
