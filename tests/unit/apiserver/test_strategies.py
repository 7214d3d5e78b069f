"""Secret and ConfigMap strategies: stringData is merged into data and dropped, bad
base64 is a 400 as in Kubernetes."""

from __future__ import annotations

import pytest

from api import configdata, errors
from apiserver import strategies
from tests.unit.configobjects import b64, cm, secret


def test_string_data_is_merged_and_dropped():
    strategy = strategies.for_kind("Secret")
    obj = secret(data={"a": b64("old"), "b": b64("keep")}, stringData={"a": "new", "c": "ç"})
    strategy.prepare_create(obj)
    assert "stringData" not in obj
    assert obj["data"] == {"a": b64("new"), "b": b64("keep"), "c": b64("ç")}
    new = secret(stringData={"x": "1"})
    strategy.prepare_update(new, obj)
    assert new["data"] == {"x": b64("1")} and "stringData" not in new


def test_bad_base64_is_a_400_as_kubernetes():
    with pytest.raises(errors.ApiError) as exc:
        strategies.for_kind("Secret").prepare_create(secret(data={"a": "ab!d"}))
    assert exc.value.code == 400
    assert exc.value.message == (
        'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 2'
    )
    assert configdata.base64_error("abc") == "illegal base64 data at input byte 0"
    assert configdata.base64_error("YWJj\nZA==") is None
    with pytest.raises(errors.ApiError):
        strategies.for_kind("ConfigMap").prepare_create(cm(binaryData={"k": "%%"}))


def test_daemonset_template_generation_follows_template_changes_only():
    strategy = strategies.for_kind("DaemonSet")
    template = {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c"}]}}
    ds = {"metadata": {"name": "x"}, "spec": {"template": template}, "status": {"numberReady": 5}}
    strategy.prepare_create(ds)
    assert ds["metadata"]["annotations"][strategies.TEMPLATE_GENERATION] == "1"
    assert ds["status"] == {
        "currentNumberScheduled": 0,
        "numberMisscheduled": 0,
        "desiredNumberScheduled": 0,
        "numberReady": 0,
    }
    same = {"metadata": {"name": "x"}, "spec": {"template": template, "minReadySeconds": 3}}
    strategy.prepare_update(same, ds)
    assert same["metadata"]["annotations"][strategies.TEMPLATE_GENERATION] == "1"
    assert same["status"] == ds["status"]
    other = {**template, "spec": {"containers": [{"name": "d"}]}}
    changed = {"metadata": {"name": "x", "annotations": {strategies.TEMPLATE_GENERATION: "9"}},
               "spec": {"template": other}}  # fmt: skip
    strategy.prepare_update(changed, same)
    assert changed["metadata"]["annotations"][strategies.TEMPLATE_GENERATION] == "2"


def test_job_create_generates_selector_and_labels():
    job = {
        "metadata": {"name": "pi", "uid": "u1"},
        "spec": {"template": {"metadata": {"labels": {"app": "pi"}}}},
        "status": {"succeeded": 9},
    }
    strategies.for_kind("Job").prepare_create(job)
    assert job["status"] == {}
    assert job["spec"]["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": "u1"}}
    assert job["spec"]["template"]["metadata"]["labels"] == {
        "app": "pi",
        "batch.kubernetes.io/controller-uid": "u1",
        "batch.kubernetes.io/job-name": "pi",
        "controller-uid": "u1",
        "job-name": "pi",
    }
    manual = {
        "metadata": {"name": "pi", "uid": "u1"},
        "spec": {"manualSelector": True, "selector": {"matchLabels": {"app": "pi"}}},
    }
    strategies.for_kind("Job").prepare_create(manual)
    assert manual["spec"] == {"manualSelector": True, "selector": {"matchLabels": {"app": "pi"}}}


def test_system_priority_classes_cannot_be_deleted():
    strategy = strategies.for_kind("PriorityClass")
    with pytest.raises(errors.ApiError) as err:
        strategy.check_delete("system-node-critical")
    assert err.value.code == 403
    assert err.value.message == (
        'priorityclasses.scheduling.k8s.io "system-node-critical" is forbidden: this is a '
        "system priority class and cannot be deleted"
    )
    strategy.check_delete("high")  # any other class may go


def test_statefulset_starts_with_zero_counts_and_keeps_status_on_update():
    strategy = strategies.for_kind("StatefulSet")
    sts = {"metadata": {"name": "web"}, "spec": {}, "status": {"replicas": 9}}
    strategy.prepare_create(sts)
    assert sts["status"] == {"replicas": 0, "availableReplicas": 0}
    new = {"metadata": {"name": "web"}, "spec": {"replicas": 2}, "status": {"replicas": 5}}
    strategy.prepare_update(new, sts)
    assert new["status"] == {"replicas": 0, "availableReplicas": 0}


def test_volume_phase_transition_time_moves_only_with_the_phase():
    strategy = strategies.for_kind("PersistentVolume")
    pv: dict = {"metadata": {"name": "pv"}, "spec": {}}
    strategy.prepare_create(pv)
    assert pv["status"]["phase"] == "Pending"
    old = {**pv, "status": {"phase": "Pending", "lastPhaseTransitionTime": "2020-01-01T00:00:00Z"}}
    same = strategy.prepare_status_update({**old, "status": {"phase": "Pending"}}, old)
    assert same["status"]["lastPhaseTransitionTime"] == "2020-01-01T00:00:00Z"
    moved = strategy.prepare_status_update({**old, "status": {"phase": "Available"}}, old)
    assert moved["status"]["lastPhaseTransitionTime"] != "2020-01-01T00:00:00Z"
    chosen = {"phase": "Bound", "lastPhaseTransitionTime": "2030-01-01T00:00:00Z"}
    kept = strategy.prepare_status_update({**old, "status": chosen}, old)
    assert kept["status"]["lastPhaseTransitionTime"] == "2030-01-01T00:00:00Z"
