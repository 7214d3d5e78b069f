"""Storage kinds: PersistentVolume and PersistentVolumeClaim (api.validation.core) and
StorageClass (api.validation.storage), with their defaults."""

import copy

from api.validation import validate
from tests.unit.api.validation.objects import defaulted, fields, only


def make_pv(**spec):
    body = {
        "capacity": {"storage": "1Gi"},
        "accessModes": ["ReadWriteOnce"],
        "hostPath": {"path": "/data/pv1"},
        **spec,
    }
    return defaulted("PersistentVolume", {"metadata": {"name": "pv1"}, "spec": body})


def make_pvc(**spec):
    body = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    body.update(spec)
    return defaulted(
        "PersistentVolumeClaim", {"metadata": {"name": "data", "namespace": "d"}, "spec": body}
    )


def make_sc(**fields_):
    body = {"metadata": {"name": "fast"}, "provisioner": "minik.io/local-path", **fields_}
    return defaulted("StorageClass", body)


def test_defaults():
    pv = make_pv()
    assert pv["spec"]["persistentVolumeReclaimPolicy"] == "Retain"
    assert pv["spec"]["volumeMode"] == "Filesystem"
    assert pv["status"] == {"phase": "Pending"}
    pvc = make_pvc()
    assert pvc["spec"]["volumeMode"] == "Filesystem"
    assert pvc["status"] == {"phase": "Pending"}
    sc = make_sc()
    assert (sc["reclaimPolicy"], sc["volumeBindingMode"]) == ("Delete", "Immediate")


def test_valid_objects():
    assert validate("PersistentVolume", make_pv()) == []
    assert validate("PersistentVolumeClaim", make_pvc()) == []
    assert validate("StorageClass", make_sc()) == []


def test_pv_required_fields_and_sources():
    pv = make_pv(accessModes=[], capacity={})
    pv["spec"].pop("hostPath")
    causes = validate("PersistentVolume", pv)
    assert only(causes, "spec.accessModes")["message"] == "Required value"
    assert "Required value" in [c["message"] for c in causes if c["field"] == "spec.capacity"]
    assert only(causes, "spec")["message"] == "Required value: must specify a volume type"
    two = make_pv(local={"path": "/mnt/x"})
    assert only(validate("PersistentVolume", two), "spec.local")["message"] == (
        "Forbidden: may not specify more than 1 volume type"
    )
    local = make_pv(local={"path": "/mnt/x"})
    local["spec"].pop("hostPath")
    assert only(validate("PersistentVolume", local), "spec.nodeAffinity")["message"] == (
        "Required value: Local volume requires node affinity"
    )


def test_pv_bad_values():
    pv = make_pv(accessModes=["ReadWriteSometimes"], capacity={"storage": "0"})
    causes = validate("PersistentVolume", pv)
    assert only(causes, "spec.accessModes")["message"].startswith(
        'Unsupported value: "ReadWriteSometimes": supported values: "ReadOnlyMany"'
    )
    assert only(causes, "spec.capacity[storage]")["message"] == (
        'Invalid value: "0": must be greater than zero'
    )


def test_pv_source_is_immutable():
    old = make_pv()
    old["metadata"]["resourceVersion"] = "1"
    new = copy.deepcopy(old)
    new["spec"]["hostPath"]["path"] = "/elsewhere"
    assert "spec.persistentvolumesource" in fields(validate("PersistentVolume", new, old))
    new = copy.deepcopy(old)
    new["spec"]["claimRef"] = {"namespace": "d", "name": "data"}
    assert validate("PersistentVolume", new, old) == []


def test_pvc_required_fields():
    pvc = make_pvc(accessModes=[], resources={})
    causes = validate("PersistentVolumeClaim", pvc)
    assert only(causes, "spec.accessModes")["message"] == (
        "Required value: at least 1 access mode is required"
    )
    assert only(causes, "spec.resources[storage]")["message"] == "Required value"


def test_pvc_spec_immutable_except_binding_and_expansion():
    old = make_pvc(storageClassName="standard")
    old["metadata"]["resourceVersion"] = "1"
    bound = copy.deepcopy(old)
    bound["spec"]["volumeName"] = "pv1"
    assert validate("PersistentVolumeClaim", bound, old) == []
    changed = copy.deepcopy(bound)
    changed["spec"]["volumeName"] = "pv2"
    assert only(validate("PersistentVolumeClaim", changed, bound), "spec")["message"].startswith(
        "Forbidden: spec is immutable after creation except resources.requests"
    )
    bigger = copy.deepcopy(bound)
    bigger["spec"]["resources"]["requests"]["storage"] = "2Gi"
    assert "spec" in fields(validate("PersistentVolumeClaim", bigger, bound))  # not bound yet
    bound["status"] = bigger["status"] = {"phase": "Bound"}
    assert validate("PersistentVolumeClaim", bigger, bound) == []
    smaller = copy.deepcopy(bound)
    smaller["spec"]["resources"]["requests"]["storage"] = "500Mi"
    assert only(
        validate("PersistentVolumeClaim", smaller, bound), "spec.resources.requests.storage"
    )["message"] == ("Forbidden: field can not be less than previous value")


def test_storage_class_rules():
    causes = validate("StorageClass", make_sc(provisioner="", reclaimPolicy="Recycle"))
    assert only(causes, "provisioner")["message"] == "Required value"
    assert only(causes, "reclaimPolicy")["message"] == (
        'Unsupported value: "Recycle": supported values: "Delete", "Retain"'
    )
    old = make_sc(parameters={"a": "b"})
    old["metadata"]["resourceVersion"] = "1"
    new = copy.deepcopy(old)
    new["provisioner"] = "other.io/x"
    new["parameters"] = {"a": "c"}
    causes = validate("StorageClass", new, old)
    assert only(causes, "provisioner")["message"] == (
        "Forbidden: updates to provisioner are forbidden."
    )
    assert only(causes, "parameters")["message"] == (
        "Forbidden: updates to parameters are forbidden."
    )
