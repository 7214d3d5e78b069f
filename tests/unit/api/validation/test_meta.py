"""api.validation.meta: names, namespaces, labels, annotations, owner references, finalizers."""

import copy

from api.validation import validate
from tests.unit.api.validation.objects import (
    SUBDOMAIN_MSG,
    defaulted,
    fields,
    make_pod,
    make_service,
    only,
)


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
