"""VolumeBinding's filter: claims decide which nodes fit."""

from typing import Any

from scheduler.plugins.volume_binding import (
    BIND_CONFLICT,
    NODE_CONFLICT,
    UNBOUND_IMMEDIATE,
    VolumeBinding,
)
from tests.unit.scheduler.plugins.builders import node, pod


class Store:
    def __init__(self, claims=(), volumes=(), classes=()):
        self.claims = {c["metadata"]["name"]: c for c in claims}
        self.pvs = {v["metadata"]["name"]: v for v in volumes}
        self.classes = {c["metadata"]["name"]: c for c in classes}

    def claim(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.claims.get(name)

    def volume(self, name: str) -> dict[str, Any] | None:
        return self.pvs.get(name)

    def storage_class(self, name: str) -> dict[str, Any] | None:
        return self.classes.get(name)

    def volumes(self) -> list[dict[str, Any]]:
        return list(self.pvs.values())


def claim(name="data", volume="", class_name="local", **annotations):
    return {
        "metadata": {"name": name, "namespace": "default", "annotations": annotations},
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "resources": {"requests": {"storage": "1Gi"}},
            "storageClassName": class_name,
            **({"volumeName": volume} if volume else {}),
        },
    }


def on_node(name, node_name, class_name="local"):
    term = {
        "matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": [node_name]}
        ]
    }
    return {
        "metadata": {"name": name},
        "spec": {
            "capacity": {"storage": "1Gi"},
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": class_name,
            "nodeAffinity": {"required": {"nodeSelectorTerms": [term]}},
        },
        "status": {"phase": "Available"},
    }


def sc(name="local", mode="WaitForFirstConsumer", provisioner="kubernetes.io/no-provisioner"):
    return {"metadata": {"name": name}, "provisioner": provisioner, "volumeBindingMode": mode}


def with_claim(name="data"):
    return pod(volumes=[{"name": "v", "persistentVolumeClaim": {"claimName": name}}])


def host(name):
    return node(name, labels={"kubernetes.io/hostname": name})


def reasons(plugin, n):
    status = plugin.filter(with_claim(), n)
    return status.reasons if status else ()


def test_pods_without_claims_are_skipped():
    assert not VolumeBinding(Store()).filter_applies(pod())
    assert VolumeBinding(Store()).filter_applies(with_claim())


def test_missing_claim_and_unbound_immediate_claim():
    assert reasons(VolumeBinding(Store()), host("a")) == ('persistentvolumeclaim "data" not found',)
    store = Store([claim()], classes=[sc(mode="Immediate")])
    assert reasons(VolumeBinding(store), host("a")) == (UNBOUND_IMMEDIATE,)


def test_bound_volume_node_affinity():
    store = Store([claim(volume="pv-a")], [on_node("pv-a", "a")])
    plugin = VolumeBinding(store)
    assert reasons(plugin, host("a")) == ()
    assert reasons(plugin, host("b")) == (NODE_CONFLICT,)


def test_wait_for_first_consumer_static_volumes_and_provisioning():
    store = Store([claim()], [on_node("pv-a", "a")], [sc()])
    plugin = VolumeBinding(store)
    assert reasons(plugin, host("a")) == ()
    assert reasons(plugin, host("b")) == (BIND_CONFLICT,)
    provisioned = VolumeBinding(Store([claim()], [], [sc(provisioner="minik.io/local-path")]))
    assert reasons(provisioned, host("b")) == ()


def test_a_selected_node_is_the_only_fit():
    store = Store(
        [claim(**{"volume.kubernetes.io/selected-node": "a"})],
        [],
        [sc(provisioner="minik.io/local-path")],
    )
    plugin = VolumeBinding(store)
    assert reasons(plugin, host("a")) == ()
    assert reasons(plugin, host("b")) == (NODE_CONFLICT,)
