"""api.validation.pods: pod specs and what a pod update may change."""

import copy

import pytest

from api.defaults import apply_defaults
from api.validation import validate
from tests.unit.api.validation.objects import (
    fields,
    make_pod,
    only,
)


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


def test_host_pid_and_a_shared_process_namespace_exclude_each_other():
    assert validate("Pod", make_pod(hostPID=True, hostIPC=True)) == []
    assert validate("Pod", make_pod(shareProcessNamespace=True)) == []
    assert validate("Pod", make_pod(hostPID=True, shareProcessNamespace=True)) == [
        {
            "field": "spec.securityContext.shareProcessNamespace",
            "message": "Invalid value: true: ShareProcessNamespace and HostPID cannot both "
            "be enabled",
            "reason": "FieldValueInvalid",
        }
    ]


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
