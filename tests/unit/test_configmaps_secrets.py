"""ConfigMaps and Secrets: validation, stringData, tables, and the kubelet's pure parts
(env from them, volume payloads, the atomic writer)."""

from __future__ import annotations

import base64
import stat
from pathlib import Path

import pytest

from api import configdata, errors
from api.defaults import apply_defaults
from api.validation import validate
from apiserver import protobuf, strategies, tables
from kubelet import volumes
from kubelet.configdata import ConfigDataError, references, volume_payload
from kubelet.envvars import build_env


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def cm(**fields):
    return {"metadata": {"name": "cfg", "namespace": "ns"}, **fields}


def secret(**fields):
    obj = {"metadata": {"name": "s", "namespace": "ns"}, **fields}
    apply_defaults("Secret", obj)
    return obj


def messages(kind, obj, old=None):
    return [f"{c['field']}: {c['message']}" for c in validate(kind, obj, old)]


def test_config_keys_and_sizes():
    assert messages("ConfigMap", cm(data={"a.b": "1", "A_b-9": "2"})) == []
    bad = messages("ConfigMap", cm(data={"a b": "1", "..x": "2", ".": "3"}))
    assert bad == [
        "data[.]: Invalid value: \".\": must not be '.'",
        "data[..x]: Invalid value: \"..x\": must not start with '..'",
        'data[a b]: Invalid value: "a b": a valid config key must consist of alphanumeric '
        "characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', "
        "regex used for validation is '[-._a-zA-Z0-9]+')",
    ]
    long = messages("ConfigMap", cm(data={"k" * 254: "x"}))
    assert long[0].endswith("must be no more than 253 characters")
    dup = messages("ConfigMap", cm(data={"k": "1"}, binaryData={"k": b64("2")}))
    assert dup == ['data[k]: Invalid value: "k": duplicate of key present in binaryData']
    big = messages("ConfigMap", cm(data={"a": "x" * (1024 * 1024), "b": "y"}))
    assert big == [": Too long: must have at most 1048576 bytes"]
    assert messages("Secret", secret(data={"a": b64("x" * (1024 * 1024 + 1))})) == [
        "data: Too long: must have at most 1048576 bytes"
    ]


def test_immutable_configmap_and_secret():
    old = cm(data={"a": "1"}, immutable=True)
    assert messages("ConfigMap", cm(data={"a": "1"}, immutable=True), old) == []
    assert messages("ConfigMap", cm(data={"a": "2"}, immutable=True), old) == [
        "data: Forbidden: field is immutable when `immutable` is set"
    ]
    assert messages("ConfigMap", cm(data={"a": "1"}), old) == [
        "immutable: Forbidden: field is immutable when `immutable` is set"
    ]
    assert messages("ConfigMap", cm(data={"a": "2"}), cm(data={"a": "1"})) == []
    old_s = secret(data={"a": b64("1")}, immutable=True)
    assert messages("Secret", secret(data={"a": b64("2")}, immutable=True), old_s) == [
        "data: Forbidden: field is immutable when `immutable` is set"
    ]
    changed = secret(data={"tls.crt": "", "tls.key": ""}, type="kubernetes.io/tls")
    assert messages("Secret", changed, secret()) == [
        'type: Invalid value: "kubernetes.io/tls": field is immutable'
    ]


def test_secret_types():
    assert secret()["type"] == "Opaque"
    assert messages("Secret", secret(type="kubernetes.io/tls", data={"tls.crt": b64("c")})) == [
        "data[tls.key]: Required value"
    ]
    assert messages("Secret", secret(type="kubernetes.io/dockerconfigjson")) == [
        "data[.dockerconfigjson]: Required value"
    ]
    bad_json = secret(type="kubernetes.io/dockerconfigjson", data={".dockerconfigjson": b64("x")})
    assert messages("Secret", bad_json)[0].startswith(
        'data[.dockerconfigjson]: Invalid value: "<secret contents redacted>"'
    )
    good = secret(type="kubernetes.io/dockerconfigjson", data={".dockerconfigjson": b64("{}")})
    assert messages("Secret", good) == []


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


def test_tables():
    now = 1_000_000.0
    row = tables.CELLS["ConfigMap"](cm(data={"a": "1"}, binaryData={"b": ""}), now)
    assert row[:2] == ["cfg", 2]
    srow = tables.CELLS["Secret"](secret(data={"a": ""}), now)
    assert srow[:3] == ["s", "Opaque", 1]
    assert [c["name"] for c in tables.COLUMNS["Secret"]] == ["Name", "Type", "Data", "Age"]


def test_protobuf_secret_bytes_become_base64():
    entry = protobuf.Writer().string(1, "k").bytes(2, b"\x00\xff")
    meta = protobuf.Writer().string(1, "s")
    raw = protobuf.Writer().message(1, meta).message(2, entry).string(3, "Opaque")
    type_meta = protobuf.Writer().string(1, "v1").string(2, "Secret")
    body = protobuf.MAGIC + bytes(protobuf.Writer().message(1, type_meta).message(2, raw))
    obj = protobuf.decode_k8s_protobuf(body)
    assert obj["data"] == {"k": base64.b64encode(b"\x00\xff").decode()}
    assert obj["type"] == "Opaque" and obj["metadata"]["name"] == "s"


# ---- kubelet --------------------------------------------------------------------------


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


def test_atomic_writer_and_mount_errors(tmp_path: Path):
    target = tmp_path / "vol"
    assert volumes.write_atomic(target, {"a": (b"1", 0o644), "d/b": (b"2", 0o600)})
    assert (target / "a").read_bytes() == b"1" and (target / "a").is_symlink()
    assert stat.S_IMODE((target / "d" / "b").stat().st_mode) == 0o600
    assert not volumes.write_atomic(target, {"a": (b"1", 0o644), "d/b": (b"2", 0o600)})
    first = (target / "..data").resolve()
    assert volumes.write_atomic(target, {"a": (b"changed", 0o644)})
    assert (target / "a").read_bytes() == b"changed"
    assert not (target / "d").exists() and not first.exists()
    pod = {**POD, "spec": {"volumes": [{"name": "v", "configMap": {"name": "gone"}}]}}
    with pytest.raises(volumes.MountError) as exc:
        volumes.prepare_volumes(pod, tmp_path, "n", CONFIG_DATA)
    assert str(exc.value) == 'MountVolume.SetUp failed for volume "v" : configmap "gone" not found'
    binds = volumes.container_binds(
        {"volumeMounts": [{"name": "v", "mountPath": "/etc/cfg"}]},
        {"v": target},
        read_only={"v"},
    )
    assert binds == [f"{target}:/etc/cfg:ro"]
