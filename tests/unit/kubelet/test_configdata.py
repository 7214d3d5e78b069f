"""The ConfigMaps and Secrets a pod consumes: env and envFrom from them, which ones a
pod refers to, the files of its configMap/secret volumes."""

from __future__ import annotations

import pytest

from kubelet.configdata import ConfigDataError, references, volume_payload
from kubelet.envvars import build_env
from tests.unit.configobjects import b64, cm, secret

POD = {"metadata": {"name": "p", "namespace": "ns", "uid": "u1"}, "spec": {}}


CONFIG_DATA = {
    ("ConfigMap", "cfg"): cm(data={"A": "from-cm", "B": "$(X)", "1bad=": "?"}),
    ("Secret", "s"): secret(data={"PASS": b64("hunter2")}),
    ("ConfigMap", "gone"): None,
}


def test_env_from_configmaps_and_secrets():
    container = {
        "envFrom": [
            {"configMapRef": {"name": "cfg"}, "prefix": "P_"},
            {"secretRef": {"name": "s"}},
        ],
        "env": [
            {"name": "K", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "A"}}},
            {"name": "S", "valueFrom": {"secretKeyRef": {"name": "s", "key": "PASS"}}},
            {"name": "E", "value": "$(P_A)"},
            {
                "name": "O",
                "valueFrom": {"configMapKeyRef": {"name": "gone", "key": "x", "optional": True}},
            },
            {
                "name": "O2",
                "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "no", "optional": True}},
            },
        ],
    }
    warnings: list[str] = []
    env = build_env(
        POD,
        container,
        pod_ip="",
        host_ip="",
        config_data=CONFIG_DATA,
        warnings=warnings,
        service_env={},
    )
    assert env == [
        ("P_A", "from-cm"),
        ("P_B", "$(X)"),  # envFrom values are not expanded
        ("PASS", "hunter2"),
        ("K", "from-cm"),
        ("S", "hunter2"),
        ("E", "from-cm"),
    ]
    assert warnings == [
        "Keys [P_1bad=] from the EnvFrom configMap ns/cfg were skipped since they are "
        "considered invalid environment variable names."
    ]


def test_env_missing_sources_are_errors():
    def env_of(container):
        return build_env(POD, container, pod_ip="", host_ip="", config_data=CONFIG_DATA)

    missing = {"name": "X", "valueFrom": {"configMapKeyRef": {"name": "gone", "key": "k"}}}
    with pytest.raises(ConfigDataError, match=r'^configmap "gone" not found$'):
        env_of({"env": [missing]})
    no_key = {"name": "X", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}
    with pytest.raises(ConfigDataError, match=r"^couldn't find key k in Secret ns/s$"):
        env_of({"env": [no_key]})
    with pytest.raises(ConfigDataError, match=r'^secret "nope" not found$'):
        env_of({"envFrom": [{"secretRef": {"name": "nope"}}]})
    assert env_of({"envFrom": [{"secretRef": {"name": "nope", "optional": True}}]}) == []


def test_references_and_volume_payloads():
    pod = {
        "spec": {
            "containers": [{"envFrom": [{"secretRef": {"name": "s"}}]}],
            "volumes": [{"name": "v", "configMap": {"name": "cfg"}}, {"name": "e", "emptyDir": {}}],
        }
    }
    assert references(pod) == {("Secret", "s"), ("ConfigMap", "cfg")}
    all_keys = volume_payload("ns", {"name": "v", "configMap": {"name": "cfg"}}, CONFIG_DATA)
    assert all_keys["A"] == (b"from-cm", 0o644)
    picked = volume_payload(
        "ns",
        {
            "name": "v",
            "secret": {
                "secretName": "s",
                "defaultMode": 0o400,
                "items": [{"key": "PASS", "path": "a/pw", "mode": 0o600}],
            },
        },
        CONFIG_DATA,
    )
    assert picked == {"a/pw": (b"hunter2", 0o600)}
    with pytest.raises(ConfigDataError, match=r"^references non-existent secret key: x$"):
        volume_payload(
            "ns",
            {"name": "v", "secret": {"secretName": "s", "items": [{"key": "x", "path": "x"}]}},
            CONFIG_DATA,
        )
    with pytest.raises(ConfigDataError, match=r'^configmap "gone" not found$'):
        volume_payload("ns", {"name": "v", "configMap": {"name": "gone"}}, CONFIG_DATA)
    assert (
        volume_payload(
            "ns", {"name": "v", "configMap": {"name": "gone", "optional": True}}, CONFIG_DATA
        )
        == {}
    )
