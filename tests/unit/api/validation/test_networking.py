"""Ingress and IngressClass validation (api.validation.networking), worded as
Kubernetes' pkg/apis/networking/validation."""

import copy

import pytest

from api.validation import validate
from tests.unit.api.validation.objects import defaulted, fields


def backend(name="web", number=80, port_name=None):
    port = {"name": port_name} if port_name else {"number": number}
    return {"service": {"name": name, "port": port}}


def make_ingress(**spec):
    body = {
        "rules": [
            {
                "host": "demo.local",
                "http": {"paths": [{"path": "/api", "pathType": "Prefix", "backend": backend()}]},
            }
        ],
        **spec,
    }
    return defaulted(
        "Ingress",
        {"metadata": {"name": "demo", "namespace": "default"}, "spec": body},
    )


def path0(ing):
    return ing["spec"]["rules"][0]["http"]["paths"][0]


def test_a_plain_ingress_is_valid():
    assert validate("Ingress", make_ingress()) == []


@pytest.mark.parametrize("host", ["foo.com", "*.foo.com", "a-b.c.example"])
def test_hosts_may_be_subdomains_or_wildcards(host):
    ing = make_ingress()
    ing["spec"]["rules"][0]["host"] = host
    assert validate("Ingress", ing) == []


def test_bad_hosts_name_the_field():
    ing = make_ingress()
    ing["spec"]["rules"][0]["host"] = "Foo_.com"
    assert fields(validate("Ingress", ing)) == ["spec.rules[0].host"]
    ing["spec"]["rules"][0]["host"] = "foo.*.com"
    causes = validate("Ingress", ing)
    assert fields(causes) == ["spec.rules[0].host"]
    assert "a wildcard DNS-1123 subdomain must start with '*.'" in causes[0]["message"]
    ing["spec"]["rules"][0]["host"] = "10.0.0.1"
    assert validate("Ingress", ing)[0]["message"] == (
        'Invalid value: "10.0.0.1": must be a DNS name, not an IP address'
    )


def test_path_type_is_required_in_v1():
    ing = make_ingress()
    del path0(ing)["pathType"]
    assert validate("Ingress", ing) == [
        {
            "field": "spec.rules[0].http.paths[0].pathType",
            "message": "Required value: pathType must be specified",
            "reason": "FieldValueRequired",
        }
    ]
    path0(ing)["pathType"] = "Regex"
    assert validate("Ingress", ing)[0]["message"] == (
        'Unsupported value: "Regex": supported values: "Exact", "ImplementationSpecific", "Prefix"'
    )


@pytest.mark.parametrize(
    ("path_type", "path", "message"),
    [
        ("Prefix", "api", 'Invalid value: "api": must be an absolute path'),
        ("Exact", "/a//b", "Invalid value: \"/a//b\": must not contain '//'"),
        ("Prefix", "/a/..", "Invalid value: \"/a/..\": cannot end with '/..'"),
        ("ImplementationSpecific", "api", 'Invalid value: "api": must be an absolute path'),
    ],
)
def test_paths_must_be_absolute_and_clean(path_type, path, message):
    ing = make_ingress()
    path0(ing).update(pathType=path_type, path=path)
    causes = validate("Ingress", ing)
    assert causes[0]["field"] == "spec.rules[0].http.paths[0].path"
    assert causes[0]["message"] == message


def test_implementation_specific_may_leave_the_path_out():
    ing = make_ingress()
    path0(ing)["pathType"] = "ImplementationSpecific"
    del path0(ing)["path"]
    assert validate("Ingress", ing) == []


def test_a_backend_is_exactly_one_of_service_and_resource():
    ing = make_ingress()
    path0(ing)["backend"]["resource"] = {"kind": "Bucket", "name": "b"}
    assert validate("Ingress", ing)[0]["message"] == (
        'Invalid value: "": cannot set both resource and service backends'
    )
    path0(ing)["backend"] = {}
    assert validate("Ingress", ing)[0]["message"] == (
        'Invalid value: "": resource or service backend is required'
    )
    path0(ing)["backend"] = {"resource": {"apiGroup": "k8s.example.com", "kind": "Bucket"}}
    assert fields(validate("Ingress", ing)) == ["spec.rules[0].http.paths[0].backend.resource.name"]


def test_service_port_is_a_name_or_a_number():
    ing = make_ingress()
    path0(ing)["backend"] = {"service": {"name": "web", "port": {}}}
    assert validate("Ingress", ing)[0]["message"] == (
        "Required value: port name or number is required"
    )
    path0(ing)["backend"] = {"service": {"name": "web", "port": {"name": "http", "number": 80}}}
    assert validate("Ingress", ing)[0]["message"] == (
        'Invalid value: "": cannot set both port name & port number'
    )
    path0(ing)["backend"] = backend(number=70000)
    assert fields(validate("Ingress", ing)) == [
        "spec.rules[0].http.paths[0].backend.service.port.number"
    ]
    path0(ing)["backend"] = backend(port_name="http")
    assert validate("Ingress", ing) == []
    path0(ing)["backend"] = backend(name="Web")
    assert fields(validate("Ingress", ing)) == ["spec.rules[0].http.paths[0].backend.service.name"]


def test_rules_or_a_default_backend():
    ing = make_ingress(rules=[])
    assert validate("Ingress", ing)[0] == {
        "field": "spec",
        "message": "Invalid value: []networking.IngressRule(nil): "
        "either `defaultBackend` or `rules` must be specified",
        "reason": "FieldValueInvalid",
    }
    assert validate("Ingress", make_ingress(rules=[], defaultBackend=backend())) == []


def test_tls_hosts_and_secret_names():
    ing = make_ingress(tls=[{"hosts": ["demo.local", "*.demo.local"], "secretName": "demo-tls"}])
    assert validate("Ingress", ing) == []
    ing = make_ingress(tls=[{"hosts": ["Demo!"], "secretName": "Bad_Name"}])
    assert fields(validate("Ingress", ing)) == ["spec.tls[0].hosts[0]", "spec.tls[0].secretName"]


def test_class_name_and_annotation_must_agree():
    ing = make_ingress(ingressClassName="minik")
    ing["metadata"]["annotations"] = {"kubernetes.io/ingress.class": "nginx"}
    assert fields(validate("Ingress", ing)) == ["annotations.kubernetes.io/ingress.class"]


def test_load_balancer_status_addresses():
    ing = make_ingress()
    ing["status"] = {"loadBalancer": {"ingress": [{"ip": "nope"}, {"hostname": "1.2.3.4"}]}}
    assert fields(validate("Ingress", ing)) == [
        "status.loadBalancer.ingress[0].ip",
        "status.loadBalancer.ingress[1].hostname",
    ]


def make_class(**spec):
    return defaulted(
        "IngressClass",
        {"metadata": {"name": "minik"}, "spec": {"controller": "minik.io/ingress", **spec}},
    )


def test_ingress_class_controller_is_a_domain_prefixed_path():
    assert validate("IngressClass", make_class()) == []
    for bad in ("minik", "minik.io/", "/x"):
        causes = validate("IngressClass", make_class(controller=bad))
        assert fields(causes) == ["spec.controller"], bad
    assert fields(validate("IngressClass", make_class(controller=""))) == ["spec.controller"]


def test_ingress_class_parameters_default_to_cluster_scope():
    ic = make_class(parameters={"apiGroup": "k8s.example.com", "kind": "Params", "name": "p"})
    assert ic["spec"]["parameters"]["scope"] == "Cluster"
    assert validate("IngressClass", ic) == []
    ic["spec"]["parameters"]["namespace"] = "default"
    assert validate("IngressClass", ic)[0]["message"] == (
        "Forbidden: `parameters.scope` is set to 'Cluster'"
    )
    ic["spec"]["parameters"].update(scope="Namespace", namespace="Bad_NS")
    assert fields(validate("IngressClass", ic)) == ["spec.parameters.namespace"]
    ic["spec"]["parameters"]["scope"] = "Galaxy"
    assert fields(validate("IngressClass", ic)) == ["spec.parameters.scope"]


def test_ingress_class_controller_is_immutable():
    old = make_class()
    new = copy.deepcopy(old)
    new["spec"]["controller"] = "example.com/other"
    assert validate("IngressClass", new, old)[0]["message"] == (
        'Invalid value: "example.com/other": field is immutable'
    )
