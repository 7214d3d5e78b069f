import pytest

from api.errors import ApiError
from api.fields import parse_field_selector, selectable_fields
from api.resources import by_kind

POD = {
    "metadata": {"name": "web-1", "namespace": "default"},
    "spec": {"nodeName": "node-a", "restartPolicy": "Always", "schedulerName": "default-scheduler"},
    "status": {"phase": "Running", "podIP": "10.0.0.5"},
}
PENDING = {"metadata": {"name": "web-2", "namespace": "default"}, "spec": {}, "status": {}}
EVENT = {
    "metadata": {"name": "web-1.17", "namespace": "default"},
    "involvedObject": {"kind": "Pod", "namespace": "default", "name": "web-1", "uid": "u-1"},
    "reason": "Scheduled",
    "type": "Normal",
    "source": {"component": "default-scheduler"},
}


@pytest.mark.parametrize(
    ("text", "obj", "expected"),
    [
        ("metadata.name=web-1", POD, True),
        ("metadata.name==web-1", POD, True),
        ("metadata.name!=web-1", POD, False),
        ("metadata.namespace=default,metadata.name=web-1", POD, True),
        ("metadata.namespace=default,metadata.name=web-2", POD, False),
        ("spec.nodeName=node-a", POD, True),
        ("spec.nodeName=", PENDING, True),  # unscheduled: missing compares as ""
        ("spec.nodeName!=", POD, True),
        ("spec.nodeName!=", PENDING, False),
        ("status.phase!=Failed,status.phase!=Succeeded", POD, True),
        ("status.phase=Running", PENDING, False),
        ("status.podIP=10.0.0.5", POD, True),
        ("spec.schedulerName=default-scheduler", POD, True),
        ("spec.restartPolicy=Always", POD, True),
        ("", POD, True),
    ],
)
def test_pod_fields(text, obj, expected):
    assert parse_field_selector(text, by_kind("Pod")).matches(obj) is expected


def test_kubectl_describe_event_selector():
    sel = parse_field_selector(
        "involvedObject.namespace=default,involvedObject.uid=u-1,involvedObject.name=web-1",
        "events",
    )
    assert sel.matches(EVENT)
    assert not sel.matches({**EVENT, "involvedObject": {**EVENT["involvedObject"], "uid": "x"}})
    assert parse_field_selector("involvedObject.kind=Pod,reason=Scheduled", "events").matches(EVENT)
    assert parse_field_selector("type=Normal,source=default-scheduler", "ev").matches(EVENT)
    assert parse_field_selector("type=Warning", "Event").matches(EVENT) is False


def test_node_unschedulable_missing_means_false():
    sel = parse_field_selector("spec.unschedulable=false", "nodes")
    assert sel.matches({"metadata": {"name": "n"}, "spec": {}})
    assert sel.matches({"metadata": {"name": "n"}})
    assert not sel.matches({"metadata": {"name": "n"}, "spec": {"unschedulable": True}})
    assert parse_field_selector("spec.unschedulable=true", "nodes").matches(
        {"spec": {"unschedulable": True}}
    )


def test_namespace_phase():
    sel = parse_field_selector("status.phase=Active", "namespaces")
    assert sel.matches({"status": {"phase": "Active"}})
    assert not sel.matches({"status": {"phase": "Terminating"}})


@pytest.mark.parametrize(
    ("resource", "field"),
    [
        ("deployments", "spec.replicas"),
        ("services", "spec.nodeName"),
        ("pods", "spec.nodeNameX"),
        ("endpoints", "status.phase"),
        ("leases", "spec.holderIdentity"),
        ("nodes", "status.phase"),
    ],
)
def test_unsupported_field_is_kubernetes_wording(resource, field):
    with pytest.raises(ApiError) as err:
        parse_field_selector(f"{field}=x", resource)
    assert err.value.code == 400
    assert err.value.message == f"field label not supported: {field}"


def test_metadata_is_selectable_everywhere():
    for plural in ("deployments", "replicasets", "services", "endpoints", "leases", "nodes"):
        fields = selectable_fields(plural)
        assert "metadata.name" in fields and "metadata.namespace" in fields


@pytest.mark.parametrize("bad", ["metadata.name", "justtext,metadata.name=x"])
def test_terms_without_operator(bad):
    with pytest.raises(ApiError) as err:
        parse_field_selector(bad, "pods")
    assert "can't understand" in err.value.message


def test_escaped_values():
    sel = parse_field_selector(r"metadata.name=a\,b", "pods")
    assert sel.matches({"metadata": {"name": "a,b"}})
    assert str(sel) == r"metadata.name=a\,b"
    with pytest.raises(ApiError):
        parse_field_selector("metadata.name=a=b", "pods")


def test_exact_lets_the_server_read_one_object():
    sel = parse_field_selector("metadata.name=web,status.phase!=Failed", "pods")
    assert sel.exact("metadata.name") == "web"
    assert sel.exact("status.phase") is None
