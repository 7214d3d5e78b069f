"""`--encryption-provider-config` (apiserver/encryption/config.py): Kubernetes'
EncryptionConfiguration, refused at start-up with one line when kube-apiserver would
refuse it, and which resource each etcd key's value is encrypted as."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest

from apiserver.__main__ import main
from apiserver.encryption import Encryption
from apiserver.encryption.config import ConfigError, load, parse

K32 = base64.b64encode(b"a" * 32).decode()
K16 = base64.b64encode(b"b" * 16).decode()


def document(*entries: dict) -> dict:
    return {
        "apiVersion": "apiserver.config.k8s.io/v1",
        "kind": "EncryptionConfiguration",
        "resources": list(entries),
    }


def aescbc(name: str = "key1", secret: str = K32) -> dict:
    return {"aescbc": {"keys": [{"name": name, "secret": secret}]}}


def writer(config: Any, key: str) -> bytes | None:
    chain = Encryption(config).for_key(key)
    return None if chain is None else chain.writer.prefix


def test_a_valid_file_in_yaml(tmp_path: Path) -> None:
    path = tmp_path / "enc.yaml"
    path.write_text(
        f"""apiVersion: apiserver.config.k8s.io/v1
kind: EncryptionConfiguration
resources:
  - resources: [secrets, configmaps]
    providers:
      - aesgcm:
          keys:
            - name: key1
              secret: {K32}
      - secretbox:
          keys:
            - name: box
              secret: {K32}
      - identity: {{}}
"""
    )
    config = load(path)
    assert writer(config, "/registry/secrets/ns/s") == b"k8s:enc:aesgcm:v1:key1:"
    assert writer(config, "/registry/configmaps/ns/c") == b"k8s:enc:aesgcm:v1:key1:"
    assert writer(config, "/registry/pods/ns/p") is None
    chain = Encryption(config).for_key("/registry/secrets/ns/s")
    assert chain is not None
    assert [t.prefix for t in chain.transformers] == [
        b"k8s:enc:aesgcm:v1:key1:",
        b"k8s:enc:secretbox:v1:box:",
        b"",
    ]


def test_resources_by_group_and_wildcards() -> None:
    config = parse(
        document(
            {"resources": ["deployments.apps", "secrets"], "providers": [aescbc("deploy")]},
            {"resources": ["*.apps"], "providers": [aescbc("apps")]},
            {"resources": ["*."], "providers": [aescbc("core")]},
            {"resources": ["*.*"], "providers": [aescbc("all")]},
        )
    )
    assert writer(config, "/registry/deployments/ns/d") == b"k8s:enc:aescbc:v1:deploy:"
    assert writer(config, "/registry/secrets/ns/s") == b"k8s:enc:aescbc:v1:deploy:"
    assert writer(config, "/registry/statefulsets/ns/s") == b"k8s:enc:aescbc:v1:apps:"
    assert writer(config, "/registry/configmaps/ns/c") == b"k8s:enc:aescbc:v1:core:"
    assert writer(config, "/registry/events/ns/e") == b"k8s:enc:aescbc:v1:core:"
    assert writer(config, "/registry/jobs/ns/j") == b"k8s:enc:aescbc:v1:all:"
    # a custom resource: /registry/<group>/<resource>/...
    assert writer(config, "/registry/stable.example.com/crontabs/ns/c") == (
        b"k8s:enc:aescbc:v1:all:"
    )


def test_a_resource_named_twice_gets_both_entries_providers_the_first_writes() -> None:
    config = parse(
        document(
            {"resources": ["secrets"], "providers": [aescbc("first")]},
            {"resources": ["secrets"], "providers": [aescbc("second")]},
        )
    )
    chain = Encryption(config).for_key("/registry/secrets/ns/s")
    assert chain is not None
    assert [t.prefix for t in chain.transformers] == [
        b"k8s:enc:aescbc:v1:first:",
        b"k8s:enc:aescbc:v1:second:",
    ]


@pytest.mark.parametrize(
    ("earlier", "later", "message"),
    [
        ("*.", "secrets", 'resource "secrets" is masked by earlier rule "*."'),
        ("*.apps", "deployments.apps", 'resource "deployments.apps" is masked by earlier rule'),
        ("*.*", "*.apps", 'resource "*.apps" is masked by earlier rule "*.*"'),
        ("*.", "*.", 'resource "*." is masked by earlier rule "*."'),
    ],
)  # fmt: skip
def test_a_resource_after_a_wildcard_covering_it_is_refused(
    earlier: str, later: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse(
            document(
                {"resources": [earlier], "providers": [aescbc()]},
                {"resources": [later], "providers": [aescbc()]},
            )
        )


def test_a_custom_resource_by_name() -> None:
    config = parse(
        document({"resources": ["crontabs.stable.example.com"], "providers": [aescbc()]})
    )
    assert writer(config, "/registry/stable.example.com/crontabs/ns/c") is not None
    assert writer(config, "/registry/stable.example.com/other/ns/c") is None
    assert writer(config, "/registry/secrets/ns/s") is None


SHORT = base64.b64encode(b"x" * 10).decode()
TWICE = {"aescbc": {"keys": [{"name": "k", "secret": K32}, {"name": "k", "secret": K32}]}}
KMS = {"kms": {"name": "vault", "endpoint": "unix:///k"}}


def secrets_with(provider: dict) -> dict:
    return {"resources": ["secrets"], "providers": [provider]}


def named(*resources: str) -> dict:
    return {"resources": list(resources), "providers": [aescbc()]}


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            secrets_with(aescbc(secret=SHORT)),
            'resources[0].providers[0].aescbc.keys[0].secret: Invalid value: "REDACTED": '
            "secret is not of the expected length, got 10, expected one of [16 24 32]",
        ),
        (
            secrets_with({"secretbox": {"keys": [{"name": "k", "secret": K16}]}}),
            "got 16, expected one of [32]",
        ),
        (secrets_with(aescbc(secret="not base64!")), "secrets must be base64 encoded"),
        (secrets_with({"aescbc": {}}), "at least one keys is required"),
        (
            secrets_with({"aescbc": {"keys": [{"secret": K32}]}}),
            "name is a mandatory field for a key",
        ),
        (secrets_with({"rot13": {}}), "unknown provider rot13"),
        (secrets_with(KMS), "the kms provider is not supported by minik"),
        (
            secrets_with({**aescbc(), "identity": {}}),
            "more than one provider specified in a single element",
        ),
        (secrets_with(TWICE), "Duplicate value: 'k'"),
        ({"resources": ["secrets"], "providers": []}, "at least one resources[0].providers"),
        ({"resources": [], "providers": [aescbc()]}, "at least one resources[0].resources"),
        (named("Secrets"), "should not contain capital letters"),
        (named("*"), "use '*.' to encrypt all the resources"),
        (named("secrets.*"), "across groups is not supported"),
        (named("events.events.k8s.io"), "Use 'events' instead"),
        (named("secrets", "*."), "overlapping resources"),
        (named("secrets", "secrets"), "specified multiple times"),
    ],
)
def test_invalid_configurations_are_refused(entry: dict, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse(document(entry))
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_wrong_kind_or_no_resources_is_refused() -> None:
    with pytest.raises(ConfigError, match=re.escape("want apiVersion apiserver.config.k8s.io/v1")):
        parse({**document({"resources": ["secrets"], "providers": [aescbc()]}), "kind": "Foo"})
    with pytest.raises(ConfigError, match="at least one resources is required"):
        parse(document())


def test_the_apiserver_refuses_to_start_with_an_invalid_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "enc.json"
    bad = {"resources": ["secrets"], "providers": [aescbc(secret=K16[:-4] + "====")]}
    path.write_text(json.dumps(document(bad)))
    assert main(["--encryption-provider-config", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"apiserver: --encryption-provider-config {path}: resources[0]")
    assert "secret" in err and err.count("\n") == 1
    assert main(["--encryption-provider-config", str(tmp_path / "missing.yaml")]) == 1
    assert "cannot read" in capsys.readouterr().err
