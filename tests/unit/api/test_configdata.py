"""ConfigMaps and Secrets in the API: keys, sizes, immutability and Secret types."""

from __future__ import annotations

from api.validation import validate
from tests.unit.configobjects import b64, cm, secret


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
