import copy

import pytest

from api.defaults import apply_defaults
from api.errors import invalid as invalid_error
from api.validation import validate
from api.validation.field import go_value
from api.validation.meta import go_label_selector

SUBDOMAIN_MSG = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, "
    "'-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', "
    "regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*"
    "[a-z0-9])?)*')"
)


def defaulted(kind, obj):
    apply_defaults(kind, obj)
    return obj


def make_pod(**spec):
    return defaulted(
        "Pod",
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
            "spec": {
                "containers": [
                    {"name": "web", "image": "nginx:1.25", "ports": [{"containerPort": 80}]}
                ],
                **spec,
            },
        },
    )


def make_deployment(kind="Deployment", **spec):
    return defaulted(
        kind,
        {
            "apiVersion": "apps/v1",
            "kind": kind,
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {
                "selector": {"matchLabels": {"app": "web"}},
                "template": {
                    "metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "web", "image": "nginx"}]},
                },
                **spec,
            },
        },
    )


def make_service(**spec):
    body = {"selector": {"app": "web"}, "ports": [{"port": 80}], **spec}
    return defaulted("Service", {"metadata": {"name": "web", "namespace": "default"}, "spec": body})


def only(causes, field):
    hits = [c for c in causes if c["field"] == field]
    assert len(hits) == 1, (field, causes)
    return hits[0]


def fields(causes):
    return [c["field"] for c in causes]


# --- wording ------------------------------------------------------------------


def test_go_value_rendering():
    assert go_value("x") == '"x"'
    assert go_value(3) == "3"
    assert go_value(None) == "null"
    assert go_value(True) == "true"
    assert go_value({"b": "2", "a": "1"}) == 'map[string]string{"a":"1", "b":"2"}'
    assert go_value(["10.0.0.1"]) == '[]string{"10.0.0.1"}'
    assert go_label_selector({}) == (
        "v1.LabelSelector{MatchLabels:map[string]string(nil), "
        "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}"
    )


def test_valid_objects_have_no_causes():
    assert validate("Pod", make_pod()) == []
    assert validate("Deployment", make_deployment()) == []
    assert validate("ReplicaSet", make_deployment("ReplicaSet")) == []
    assert validate("Service", make_service()) == []
    ns = defaulted("Namespace", {"metadata": {"name": "team-a"}})
    assert validate("Namespace", ns) == []


# --- metadata -----------------------------------------------------------------


def test_bad_name_is_worded_as_kubernetes():
    pod = make_pod()
    pod["metadata"]["name"] = "Web_1"
    assert validate("Pod", pod) == [
        {
            "field": "metadata.name",
            "message": f'Invalid value: "Web_1": {SUBDOMAIN_MSG}',
            "reason": "FieldValueInvalid",
        }
    ]


def test_name_required_and_namespace_required():
    pod = make_pod()
    del pod["metadata"]["name"], pod["metadata"]["namespace"]
    causes = validate("Pod", pod)
    assert only(causes, "metadata.name") == {
        "field": "metadata.name",
        "message": "Required value: name or generateName is required",
        "reason": "FieldValueRequired",
    }
    assert only(causes, "metadata.namespace")["reason"] == "FieldValueRequired"


def test_generate_name_may_end_with_a_dash():
    pod = make_pod()
    pod["metadata"]["generateName"] = "web-"
    assert validate("Pod", pod) == []
    pod["metadata"]["generateName"] = "Web-"
    assert fields(validate("Pod", pod)) == ["metadata.generateName"]


def test_name_rules_per_kind():
    svc = make_service()
    svc["metadata"]["name"] = "1web"  # a DNS-1035 label must start with a letter
    assert "a DNS-1035 label" in only(validate("Service", svc), "metadata.name")["message"]
    ns = defaulted("Namespace", {"metadata": {"name": "a.b"}})
    assert only(validate("Namespace", ns), "metadata.name")["message"] == (
        'Invalid value: "a.b": must not contain dots'
    )
    node = {"metadata": {"name": "node-1.example.com"}}
    assert validate("Node", node) == []


def test_labels_and_annotations():
    pod = make_pod()
    pod["metadata"]["labels"] = {"bad key": "x", "ok": "-bad-"}
    pod["metadata"]["annotations"] = {"Example.com/Note": "case is ignored", "a b": "x"}
    causes = validate("Pod", pod)
    assert fields(causes) == ["metadata.labels", "metadata.labels", "metadata.annotations"]
    assert causes[0]["message"].startswith('Invalid value: "bad key": name part must consist')
    assert causes[1]["message"].startswith('Invalid value: "-bad-": a valid label must be')
    assert causes[2]["message"].startswith('Invalid value: "a b"')


def test_annotation_size_limit():
    pod = make_pod()
    pod["metadata"]["annotations"] = {"big": "x" * (256 * 1024)}
    assert only(validate("Pod", pod), "metadata.annotations") == {
        "field": "metadata.annotations",
        "message": "Too long: must have at most 262144 bytes",
        "reason": "FieldValueTooLong",
    }


def test_owner_references_and_finalizers():
    pod = make_pod()
    pod["metadata"]["ownerReferences"] = [
        {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "name": "a",
            "uid": "1",
            "controller": True,
        },
        {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "b", "uid": "", "controller": True},
    ]
    pod["metadata"]["finalizers"] = ["example.com/cleanup", "mine"]
    causes = validate("Pod", pod)
    assert "metadata.ownerReferences.uid" in fields(causes)
    assert any("Only one reference can have Controller set to true" in c["message"] for c in causes)
    assert only(causes, "metadata.finalizers[1]")["message"].endswith(
        "name is neither a standard finalizer name nor is it fully qualified"
    )


def test_name_and_namespace_are_immutable():
    old = make_pod()
    new = copy.deepcopy(old)
    new["metadata"]["name"] = "other"
    assert only(validate("Pod", new, old), "metadata.name")["message"] == (
        'Invalid value: "other": field is immutable'
    )


# --- pods ---------------------------------------------------------------------


def test_containers_required():
    pod = make_pod()
    pod["spec"]["containers"] = []
    assert validate("Pod", pod) == [
        {"field": "spec.containers", "message": "Required value", "reason": "FieldValueRequired"}
    ]


def test_container_names_and_image():
    pod = make_pod(initContainers=[{"name": "web", "image": "busybox"}])
    pod["spec"]["containers"].append({"name": "Side_car"})
    apply_defaults("Pod", pod)
    causes = validate("Pod", pod)
    assert only(causes, "spec.containers[1].image")["message"] == "Required value"
    assert "a lowercase RFC 1123 label" in only(causes, "spec.containers[1].name")["message"]
    assert only(causes, "spec.initContainers[0].name") == {
        "field": "spec.initContainers[0].name",
        "message": 'Duplicate value: "web"',
        "reason": "FieldValueDuplicate",
    }


def test_duplicate_container_names():
    pod = make_pod()
    pod["spec"]["containers"].append(copy.deepcopy(pod["spec"]["containers"][0]))
    assert fields(validate("Pod", pod)) == ["spec.containers[1].name"]


def test_ports():
    pod = make_pod()
    pod["spec"]["containers"][0]["ports"] = [
        {"containerPort": 0, "protocol": "TCP"},
        {"containerPort": 70000, "protocol": "TCP", "name": "this-name-is-too-long"},
        {"containerPort": 80, "protocol": "ICMP", "name": "http"},
        {"containerPort": 81, "protocol": "TCP", "name": "http"},
    ]
    causes = validate("Pod", pod)
    assert only(causes, "spec.containers[0].ports[0].containerPort")["message"] == "Required value"
    assert only(causes, "spec.containers[0].ports[1].containerPort")["message"] == (
        "Invalid value: 70000: must be between 1 and 65535, inclusive"
    )
    assert only(causes, "spec.containers[0].ports[1].name")["message"] == (
        'Invalid value: "this-name-is-too-long": must be no more than 15 characters'
    )
    assert only(causes, "spec.containers[0].ports[2].protocol") == {
        "field": "spec.containers[0].ports[2].protocol",
        "message": 'Unsupported value: "ICMP": supported values: "SCTP", "TCP", "UDP"',
        "reason": "FieldValueNotSupported",
    }
    assert only(causes, "spec.containers[0].ports[3].name")["reason"] == "FieldValueDuplicate"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        (
            "restartPolicy",
            "Sometimes",
            'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"',
        ),
        (
            "dnsPolicy",
            "Google",
            'Unsupported value: "Google": supported values: "ClusterFirstWithHostNet", '
            '"ClusterFirst", "Default", "None"',
        ),
    ],
)
def test_pod_enums(field, value, message):
    pod = make_pod(**{field: value})
    assert only(validate("Pod", pod), f"spec.{field}")["message"] == message


def test_image_pull_policy_enum():
    pod = make_pod()
    pod["spec"]["containers"][0]["imagePullPolicy"] = "Sometimes"
    assert only(validate("Pod", pod), "spec.containers[0].imagePullPolicy")["message"] == (
        'Unsupported value: "Sometimes": supported values: "Always", "IfNotPresent", "Never"'
    )


def test_volumes_and_mounts():
    pod = make_pod(
        volumes=[
            {"name": "data", "emptyDir": {}},
            {"name": "data", "emptyDir": {}},
            {"name": "two", "emptyDir": {}, "hostPath": {"path": "/x"}},
            {"name": "host", "hostPath": {"path": "/a/../b"}},
        ]
    )
    pod["spec"]["containers"][0]["volumeMounts"] = [
        {"name": "data", "mountPath": "/data"},
        {"name": "missing", "mountPath": "/data"},
        {"name": "data", "mountPath": ""},
    ]
    causes = validate("Pod", pod)
    assert only(causes, "spec.volumes[1].name")["message"] == 'Duplicate value: "data"'
    assert only(causes, "spec.volumes[2].hostPath")["message"] == (
        "Forbidden: may not specify more than 1 volume type"
    )
    assert only(causes, "spec.volumes[3].hostPath.path")["message"].endswith(
        "must not contain '..'"
    )
    assert only(causes, "spec.containers[0].volumeMounts[1].name") == {
        "field": "spec.containers[0].volumeMounts[1].name",
        "message": 'Not found: "missing"',
        "reason": "FieldValueNotFound",
    }
    assert only(causes, "spec.containers[0].volumeMounts[1].mountPath")["message"] == (
        'Invalid value: "/data": must be unique'
    )
    assert only(causes, "spec.containers[0].volumeMounts[2].mountPath")["message"] == (
        "Required value"
    )


def test_volume_needs_a_type():
    pod = make_pod(volumes=[{"name": "v", "emptyDir": None}])
    pod["spec"]["volumes"][0].pop("emptyDir")
    pod["spec"]["volumes"][0]["emptyDir"] = None
    assert only(validate("Pod", pod), "spec.volumes[0]")["message"] == (
        "Required value: must specify a volume type"
    )


def test_resources():
    pod = make_pod()
    pod["spec"]["containers"][0]["resources"] = {
        "limits": {"cpu": "1", "memory": "1Gi", "example.com/gpu": "2"},
        "requests": {"cpu": "2", "memory": "lots", "example.com/gpu": "1", "nvidia.com/x": "1"},
    }
    causes = validate("Pod", pod)
    reqs = [c["message"] for c in causes if c["field"] == "spec.containers[0].resources.requests"]
    assert 'Invalid value: "2": must be less than or equal to cpu limit of 1' in reqs
    assert 'Invalid value: "1": must be equal to example.com/gpu limit of 2' in reqs
    assert only(causes, "spec.containers[0].resources.requests[memory]")["message"] == (
        'Invalid value: "lots": quantities must match the regular expression '
        "'^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    )
    assert only(causes, "spec.containers[0].resources.limits")["message"] == (
        "Required value: Limit must be set for non overcommitable resources"
    )


def test_resources_within_limits_and_numbers():
    pod = make_pod()
    pod["spec"]["containers"][0]["resources"] = {
        "limits": {"cpu": 1, "memory": "128Mi"},
        "requests": {"cpu": 0.5, "memory": "134217728"},
    }
    assert validate("Pod", pod) == []
    pod["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "-1", "bogus": "1"}}
    causes = validate("Pod", pod)
    assert only(causes, "spec.containers[0].resources.requests[cpu]")["message"] == (
        'Invalid value: "-1": must be greater than or equal to 0'
    )
    assert (
        "must be a standard resource"
        in only(causes, "spec.containers[0].resources.requests[bogus]")["message"]
    )


def test_probes():
    pod = make_pod()
    c = pod["spec"]["containers"][0]
    c["livenessProbe"] = {"exec": {"command": ["true"]}, "tcpSocket": {"port": 80}}
    c["readinessProbe"] = {"periodSeconds": 5}
    c["startupProbe"] = {"httpGet": {"port": 0}, "successThreshold": 2}
    apply_defaults("Pod", pod)
    causes = validate("Pod", pod)
    assert only(causes, "spec.containers[0].livenessProbe.tcpSocket")["message"] == (
        "Forbidden: may not specify more than 1 handler type"
    )
    assert only(causes, "spec.containers[0].readinessProbe")["message"] == (
        "Required value: must specify a handler type"
    )
    assert only(causes, "spec.containers[0].startupProbe.httpGet.port")["message"] == (
        "Invalid value: 0: must be between 1 and 65535, inclusive"
    )
    assert only(causes, "spec.containers[0].startupProbe.successThreshold")["message"] == (
        "Invalid value: 2: must be 1"
    )


def test_named_probe_port():
    pod = make_pod()
    pod["spec"]["containers"][0]["readinessProbe"] = {"httpGet": {"port": "http"}}
    apply_defaults("Pod", pod)
    assert validate("Pod", pod) == []
    pod["spec"]["containers"][0]["readinessProbe"]["httpGet"]["port"] = "8080"
    assert (
        only(validate("Pod", pod), "spec.containers[0].readinessProbe.httpGet.port")["message"]
        == 'Invalid value: "8080": must contain at least one letter (a-z)'
    )


def test_init_containers_may_not_have_probes():
    pod = make_pod(
        initContainers=[{"name": "init", "image": "busybox", "readinessProbe": {"exec": {}}}]
    )
    assert only(validate("Pod", pod), "spec.initContainers[0].readinessProbe")["message"] == (
        "Forbidden: may not be set for init containers without restartPolicy=Always"
    )


def test_tolerations_and_misc_spec_fields():
    pod = make_pod(
        tolerations=[
            {"key": "k", "operator": "Exists", "value": "v"},
            {"operator": "Equal", "value": "v"},
            {"key": "k", "operator": "Equal", "effect": "NoSchedule", "tolerationSeconds": 5},
            {"key": "k", "effect": "Sometimes"},
        ],
        nodeName="Bad_Node",
        activeDeadlineSeconds=0,
        nodeSelector={"disk": "ssd"},
    )
    causes = validate("Pod", pod)
    assert only(causes, "spec.tolerations[0].operator")["message"] == (
        "Invalid value: \"v\": value must be empty when `operator` is 'Exists'"
    )
    assert (
        "operator must be Exists when `key` is empty"
        in (only(causes, "spec.tolerations[1].operator")["message"])
    )
    assert only(causes, "spec.tolerations[2].effect")["message"].endswith(
        "effect must be 'NoExecute' when `tolerationSeconds` is set"
    )
    assert only(causes, "spec.tolerations[3].effect")["reason"] == "FieldValueNotSupported"
    assert only(causes, "spec.nodeName")["message"].startswith('Invalid value: "Bad_Node"')
    assert only(causes, "spec.activeDeadlineSeconds")["message"] == (
        "Invalid value: 0: must be between 1 and 2147483647, inclusive"
    )


def test_host_network_ports_must_match():
    pod = make_pod(hostNetwork=True)
    assert validate("Pod", pod) == []  # hostPort defaulted from containerPort
    pod["spec"]["containers"][0]["ports"][0]["hostPort"] = 8080
    assert fields(validate("Pod", pod)) == ["spec.containers[0].ports[0].hostPort"]


def test_undefaulted_pod_reports_required_enums():
    pod = {"metadata": {"name": "p", "namespace": "d"}, "spec": {"containers": [{"name": "c"}]}}
    got = set(fields(validate("Pod", pod)))
    assert {
        "spec.terminationGracePeriodSeconds",
        "spec.restartPolicy",
        "spec.dnsPolicy",
        "spec.containers[0].image",
        "spec.containers[0].imagePullPolicy",
        "spec.containers[0].terminationMessagePolicy",
    } <= got


def test_odd_shapes_do_not_crash():
    for obj in ({}, {"spec": "x"}, {"metadata": [], "spec": {"containers": [None, 3]}}):
        for kind in ("Pod", "Deployment", "Service", "Node", "Endpoints", "Event", "Lease"):
            assert isinstance(validate(kind, obj), list)
            assert isinstance(validate(kind, obj, obj), list)


# --- pod updates --------------------------------------------------------------


def test_pod_update_may_change_image_and_add_tolerations():
    old = make_pod(tolerations=[{"key": "a", "operator": "Exists"}], activeDeadlineSeconds=100)
    new = copy.deepcopy(old)
    new["spec"]["containers"][0]["image"] = "nginx:1.26"
    new["spec"]["tolerations"].append({"key": "b", "operator": "Exists"})
    new["spec"]["activeDeadlineSeconds"] = 50
    new["metadata"]["labels"]["extra"] = "x"
    assert validate("Pod", new, old) == []


def test_pod_update_forbids_other_spec_changes():
    old = make_pod()
    new = copy.deepcopy(old)
    new["spec"]["containers"][0]["ports"][0]["containerPort"] = 8080
    cause = only(validate("Pod", new, old), "spec")
    assert cause["reason"] == "FieldValueForbidden"
    assert cause["message"].startswith(
        "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,"
        "`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` "
        "(only additions to existing tolerations),`spec.terminationGracePeriodSeconds` "
        "(allow it to be set to 1 if it was previously negative)\n"
    )
    assert "spec.containers[0].ports[0].containerPort: 80 -> 8080" in cause["message"]


def test_pod_update_other_rules():
    old = make_pod(tolerations=[{"key": "a", "operator": "Exists"}], activeDeadlineSeconds=100)
    more = copy.deepcopy(old)
    more["spec"]["activeDeadlineSeconds"] = 200
    assert only(validate("Pod", more, old), "spec.activeDeadlineSeconds")["message"].endswith(
        "must be less than or equal to previous value"
    )
    fewer = copy.deepcopy(old)
    fewer["spec"]["tolerations"] = []
    assert (
        "existing toleration can not be modified"
        in (only(validate("Pod", fewer, old), "spec.tolerations")["message"])
    )
    added = copy.deepcopy(old)
    added["spec"]["containers"].append({"name": "b", "image": "x"})
    assert only(validate("Pod", added, old), "spec.containers")["message"] == (
        "Forbidden: pod updates may not add or remove containers"
    )
    bound = copy.deepcopy(old)
    bound["spec"]["nodeName"] = "node-a"
    assert fields(validate("Pod", bound, old)) == ["spec"]


def test_pod_status_only_update_is_fine():
    old = make_pod()
    new = copy.deepcopy(old)
    new["status"] = {"phase": "Running", "podIP": "10.0.0.9"}
    assert validate("Pod", new, old) == []


# --- deployments and replicasets ----------------------------------------------


def test_selector_must_match_template_labels():
    dep = make_deployment()
    dep["spec"]["template"]["metadata"]["labels"] = {"app": "x"}
    assert validate("Deployment", dep) == [
        {
            "field": "spec.template.metadata.labels",
            "message": 'Invalid value: map[string]string{"app":"x"}: '
            "`selector` does not match template `labels`",
            "reason": "FieldValueInvalid",
        }
    ]


def test_selector_required_and_non_empty():
    missing = make_deployment()
    del missing["spec"]["selector"]
    causes = validate("Deployment", missing)
    assert only(causes, "spec.selector")["message"] == "Required value"
    assert "spec.template.metadata.labels" in fields(causes)  # a nil selector matches nothing
    empty = make_deployment(selector={})
    assert only(validate("Deployment", empty), "spec.selector")["message"] == (
        "Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), "
        "MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: "
        "empty selector is invalid for deployment"
    )
    bad = make_deployment(selector={"matchExpressions": [{"key": "a", "operator": "In"}]})
    assert "spec.selector.matchExpressions[0].values" in fields(validate("Deployment", bad))


def test_match_expressions_selector():
    dep = make_deployment(
        selector={"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "x"]}]}
    )
    assert validate("Deployment", dep) == []


def test_template_is_validated_with_its_prefix():
    dep = make_deployment()
    dep["spec"]["template"]["spec"]["containers"][0]["image"] = ""
    dep["spec"]["template"]["spec"]["restartPolicy"] = "Never"
    causes = validate("Deployment", dep)
    assert only(causes, "spec.template.spec.containers[0].image")["message"] == "Required value"
    assert only(causes, "spec.template.spec.restartPolicy")["message"] == (
        'Unsupported value: "Never": supported values: "Always"'
    )


def test_counts_and_strategy():
    dep = make_deployment(
        replicas=-1,
        strategy={
            "type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": 0, "maxUnavailable": "0%"},
        },
        progressDeadlineSeconds=5,
        minReadySeconds=10,
    )
    causes = validate("Deployment", dep)
    assert only(causes, "spec.replicas")["message"] == (
        "Invalid value: -1: must be greater than or equal to 0"
    )
    assert only(causes, "spec.strategy.rollingUpdate.maxUnavailable")["message"] == (
        'Invalid value: "0%": may not be 0 when `maxSurge` is 0'
    )
    assert only(causes, "spec.progressDeadlineSeconds")["message"] == (
        "Invalid value: 5: must be greater than minReadySeconds"
    )


def test_strategy_rules():
    recreate = make_deployment(strategy={"type": "Recreate", "rollingUpdate": {"maxSurge": 1}})
    assert only(validate("Deployment", recreate), "spec.strategy.rollingUpdate")["message"] == (
        "Forbidden: may not be specified when strategy `type` is 'Recreate'"
    )
    bogus = make_deployment(strategy={"type": "BlueGreen"})
    assert only(validate("Deployment", bogus), "spec.strategy.type")["message"] == (
        'Unsupported value: "BlueGreen": supported values: "Recreate", "RollingUpdate"'
    )
    percent = make_deployment(
        strategy={"rollingUpdate": {"maxSurge": "x%", "maxUnavailable": "200%"}}
    )
    causes = validate("Deployment", percent)
    assert (
        "a valid percent string" in only(causes, "spec.strategy.rollingUpdate.maxSurge")["message"]
    )
    assert only(causes, "spec.strategy.rollingUpdate.maxUnavailable")["message"] == (
        'Invalid value: "200%": must not be greater than 100%'
    )


def test_selector_is_immutable():
    old = make_deployment()
    new = copy.deepcopy(old)
    new["spec"]["selector"] = {"matchLabels": {"app": "web", "v": "2"}}
    new["spec"]["template"]["metadata"]["labels"]["v"] = "2"
    assert validate("Deployment", new, old) == [
        {
            "field": "spec.selector",
            "message": 'Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"web", '
            '"v":"2"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
            "reason": "FieldValueInvalid",
        }
    ]
    scaled = copy.deepcopy(old)
    scaled["spec"]["replicas"] = 5
    assert validate("Deployment", scaled, old) == []
    rs_old = make_deployment("ReplicaSet")
    rs_new = copy.deepcopy(rs_old)
    rs_new["spec"]["selector"]["matchLabels"]["app"] = "other"
    assert "spec.selector" in fields(validate("ReplicaSet", rs_new, rs_old))


# --- services -----------------------------------------------------------------


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


# --- other kinds --------------------------------------------------------------


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


def test_lease():
    lease = {"metadata": {"name": "l", "namespace": "kube-system"}, "spec": {}}
    assert validate("Lease", lease) == []
    lease["spec"] = {"leaseDurationSeconds": 0, "leaseTransitions": -1}
    assert fields(validate("Lease", lease)) == [
        "spec.leaseDurationSeconds",
        "spec.leaseTransitions",
    ]


def make_slice(**fields):
    obj = {
        "metadata": {"name": "web-x", "namespace": "default"},
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.0.0.1"], "conditions": {"ready": True}}],
        "ports": [{"port": 80}],
        **fields,
    }
    return defaulted("EndpointSlice", obj)


def test_endpointslice():
    assert validate("EndpointSlice", make_slice()) == []
    assert validate("EndpointSlice", make_slice(addressType=None)) == [
        {"field": "addressType", "message": "Required value", "reason": "FieldValueRequired"}
    ]
    assert validate("EndpointSlice", make_slice(addressType="IP"))[0]["message"] == (
        'Unsupported value: "IP": supported values: "FQDN", "IPv4", "IPv6"'
    )
    bad = make_slice(
        endpoints=[
            {"addresses": []},
            {"addresses": ["fd00::1", "10.0.0.2"], "nodeName": "Node_1"},
            {"addresses": ["10.0.0.3"] * 101},
        ],
        ports=[{"port": 80}, {"port": 81, "protocol": "ICMP"}, {"name": "Web", "port": 82}],
    )
    causes = validate("EndpointSlice", bad)
    assert [(c["field"], c["reason"]) for c in causes] == [
        ("endpoints[0].addresses", "FieldValueRequired"),
        ("endpoints[1].addresses[0]", "FieldValueInvalid"),
        ("endpoints[1].nodeName", "FieldValueInvalid"),
        ("endpoints[2].addresses", "FieldValueTooMany"),
        ("ports[1].name", "FieldValueDuplicate"),
        ("ports[1].protocol", "FieldValueNotSupported"),
        ("ports[2].name", "FieldValueInvalid"),
    ]
    assert causes[0]["message"] == "Required value: must contain at least 1 address"
    assert causes[1]["message"] == 'Invalid value: "fd00::1": must be a valid IPv4 address'
    assert causes[3]["message"] == "Too many: 101: must have at most 100 items"
    many = make_slice(endpoints=[{"addresses": ["10.0.0.1"]}] * 1001)
    assert fields(validate("EndpointSlice", many)) == ["endpoints"]
    fqdn = make_slice(addressType="FQDN", endpoints=[{"addresses": ["db.example.com", "db"]}])
    assert fields(validate("EndpointSlice", fqdn)) == ["endpoints[0].addresses[1]"]
    old = make_slice()
    new = make_slice(addressType="IPv6", endpoints=[])
    assert validate("EndpointSlice", new, old) == [
        {
            "field": "addressType",
            "message": 'Invalid value: "IPv6": field is immutable',
            "reason": "FieldValueInvalid",
        }
    ]


def test_causes_fit_the_invalid_status_builder():
    pod = make_pod()
    pod["spec"]["containers"] = []
    err = invalid_error("Pod", "web", validate("Pod", pod))
    assert err.code == 422
    assert err.message == 'Pod "web" is invalid: spec.containers: Required value'
