"""controller.localpath.volumes: the default class and the provisioned volumes."""

from api.defaults import apply_defaults
from api.storage import is_default_class, volume_fits_node
from api.validation import validate
from controller.localpath.volumes import default_storage_class, volume_for, volume_name

CLAIM = {
    "metadata": {"name": "data", "namespace": "shop", "uid": "1234-abcd", "resourceVersion": "7"},
    "spec": {
        "accessModes": ["ReadWriteOnce"],
        "resources": {"requests": {"storage": "2Gi"}},
        "storageClassName": "standard",
    },
}


def test_default_class_is_valid_and_default():
    sc = default_storage_class()
    apply_defaults("StorageClass", sc)
    assert validate("StorageClass", sc) == []
    assert is_default_class(sc)
    assert (sc["volumeBindingMode"], sc["reclaimPolicy"]) == ("WaitForFirstConsumer", "Delete")


def test_volume_is_named_after_the_claim_uid():
    assert volume_name(CLAIM) == "pvc-1234-abcd"


def test_volume_for_a_claim_on_a_node():
    pv = volume_for(CLAIM, default_storage_class(), "node-a", "/var/lib/minik/a/local-path")
    apply_defaults("PersistentVolume", pv)
    assert validate("PersistentVolume", pv) == []
    spec = pv["spec"]
    assert spec["hostPath"] == {
        "path": "/var/lib/minik/a/local-path/pvc-1234-abcd",
        "type": "DirectoryOrCreate",
    }
    assert spec["capacity"] == {"storage": "2Gi"}
    assert spec["storageClassName"] == "standard"
    assert spec["persistentVolumeReclaimPolicy"] == "Delete"
    assert spec["claimRef"]["uid"] == "1234-abcd"
    assert pv["metadata"]["annotations"] == {
        "pv.kubernetes.io/provisioned-by": "minik.io/local-path"
    }
    assert volume_fits_node(pv, "node-a", {"kubernetes.io/hostname": "node-a"})
    assert not volume_fits_node(pv, "node-b", {"kubernetes.io/hostname": "node-b"})
