"""`--encryption-provider-config`: Kubernetes' EncryptionConfiguration
(apiserver.config.k8s.io/v1), validated as kube-apiserver validates it, turned into
one `PrefixTransformers` per configured resource.

    apiVersion: apiserver.config.k8s.io/v1
    kind: EncryptionConfiguration
    resources:
      - resources: [secrets]          # also configmaps, deployments.apps, '*.apps', '*.', '*.*'
        providers:
          - aescbc: {keys: [{name: key1, secret: <base64 of 32 random bytes>}]}
          - identity: {}               # still read what was stored before encryption

A resource named in several entries gets all their providers, the earlier entry's
first (it writes with the first); a name after a wildcard that covers it (`*.`, `*.apps`,
`*.*` in an earlier entry) is refused as masked. An exact name wins over `*.<group>`,
which wins over `*.*`. The kms provider needs a KMS plugin over gRPC, which
minik does not speak: it is refused at start-up, like every invalid file, with one line."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from apiserver.encryption.transformers import (
    CIPHERS,
    IdentityCipher,
    PrefixTransformer,
    PrefixTransformers,
    key_prefix,
)

API_VERSIONS = ("apiserver.config.k8s.io/v1",)
KIND = "EncryptionConfiguration"
PROVIDERS = ("aescbc", "aesgcm", "secretbox", "identity", "kms")
AES_KEY_SIZES = (16, 24, 32)
KEY_SIZES = {"aescbc": AES_KEY_SIZES, "aesgcm": AES_KEY_SIZES, "secretbox": (32,)}
NOT_REST = ("apiserveripinfo", "serviceipallocations", "servicenodeportallocations")
ANY = "*"


class ConfigError(Exception):
    """An EncryptionConfiguration kube-apiserver would refuse (one line)."""


@dataclass
class EncryptionConfig:
    """The configured resources' transformers, by (group, resource); either may be `*`."""

    overrides: dict[tuple[str, str], PrefixTransformers] = field(default_factory=dict)

    def for_resource(self, group: str, resource: str) -> PrefixTransformers | None:
        """As Kubernetes looks them up: the exact resource, then `*.<group>`, then `*.*`."""
        o = self.overrides
        return o.get((group, resource)) or o.get((group, ANY)) or o.get((ANY, ANY))


def parse_group_resource(text: str) -> tuple[str, str]:
    """`deployments.apps` -> ("apps", "deployments"); `secrets` -> ("", "secrets")."""
    resource, _, group = text.partition(".")
    return group, resource


def load(path: str | Path) -> EncryptionConfig:
    try:
        doc = yaml.safe_load(Path(path).read_text())
    except OSError as err:
        raise ConfigError(f"cannot read {path}: {err.strerror}") from err
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not YAML or JSON: {str(err).splitlines()[0]}") from err
    try:
        return parse(doc)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from err


def parse(doc: Any) -> EncryptionConfig:
    if not isinstance(doc, dict):
        raise ConfigError("not an EncryptionConfiguration object")
    if doc.get("kind") != KIND or doc.get("apiVersion") not in API_VERSIONS:
        raise ConfigError(
            f"want apiVersion {API_VERSIONS[0]}, kind {KIND}; "
            f"got {doc.get('apiVersion')!r}, {doc.get('kind')!r}"
        )
    entries = doc.get("resources")
    if not isinstance(entries, list) or not entries:
        raise ConfigError("resources: Required value: at least one resources is required")
    errors: list[str] = []
    chains: dict[tuple[str, str], list[PrefixTransformer]] = {}
    for i, entry in enumerate(entries):
        path = f"resources[{i}]"
        if not isinstance(entry, dict):
            errors.append(f"{path}: Invalid value: not an object")
            continue
        names = entry.get("resources") or []
        errors += _check_resources(names, f"{path}.resources")
        providers = entry.get("providers") or []
        if not isinstance(providers, list) or not providers:
            errors.append(
                f"{path}.providers: Required value: at least one {path}.providers is required"
            )
            continue
        transformers: list[PrefixTransformer] = []
        for j, provider in enumerate(providers):
            transformers += _provider(provider, f"{path}.providers[{j}]", errors)
        if errors:
            continue
        for name in names:
            group, resource = parse_group_resource(name)
            for masking in ((group, ANY), (ANY, ANY)):
                if masking in chains:
                    raise ConfigError(
                        f'resource "{_yaml_name(group, resource)}" is masked by earlier rule '
                        f'"{_yaml_name(*masking)}"'
                    )
            # named again in a later entry: its providers come after the earlier ones
            chains.setdefault((group, resource), []).extend(transformers)
    if errors:
        raise ConfigError("; ".join(errors))
    return EncryptionConfig({gr: PrefixTransformers(ts) for gr, ts in chains.items()})


def _yaml_name(group: str, resource: str) -> str:
    """How Kubernetes names a group resource in its errors: `secrets`, `*.`, `*.apps`."""
    if not group:
        return "*." if resource == ANY else resource
    return f"{resource}.{group}"


def _check_resources(names: Any, path: str) -> list[str]:
    if not isinstance(names, list) or not names:
        return [f"{path}: Required value: at least one {path} is required"]
    errors = []
    for j, name in enumerate(names):
        where = f"{path}[{j}]: Invalid value: {name!r}"
        if not isinstance(name, str) or not name:
            errors.append(f"{where}: not a resource name")
            continue
        group, resource = parse_group_resource(name)
        if name.lower() != name:
            errors.append(f"{where}: resource name should not contain capital letters")
        elif name == ANY:
            errors.append(
                f"{where}: use '*.' to encrypt all the resources from core API group "
                "or *.* to encrypt all resources"
            )
        elif name in NOT_REST:
            errors.append(f"{where}: resources which do not have REST API/s cannot be encrypted")
        elif group == "events.k8s.io":
            errors.append(
                f"{where}: '*.events.k8s.io' objects are stored using the 'events' API group "
                "in etcd. Use 'events' instead in the config file"
            )
        elif group == "extensions":
            errors.append(
                f"{where}: 'extensions' group has been removed and cannot be used for encryption"
            )
        elif group == ANY and resource != ANY:
            errors.append(f"{where}: encrypting the same resource across groups is not supported")
    parsed = [parse_group_resource(n) for n in names if isinstance(n, str)]
    if len(set(parsed)) != len(parsed):
        errors.append(f"{path}: the same resource cannot be specified multiple times")
    if len(parsed) > 1 and any(
        a != b and (a == (ANY, ANY) or (a[0] == b[0] and ANY in (a[1], b[1])))
        for a in parsed
        for b in parsed
    ):
        errors.append(
            f"{path}: using overlapping resources such as 'secrets' and '*.' in the same "
            "resource list is not allowed as they will be masked"
        )
    return errors


def _provider(provider: Any, path: str, errors: list[str]) -> list[PrefixTransformer]:
    found = [name for name in PROVIDERS if isinstance(provider, dict) and name in provider]
    unknown = sorted(set(provider) - set(PROVIDERS)) if isinstance(provider, dict) else []
    if unknown:
        errors.append(
            f"{path}: unknown provider {', '.join(unknown)} (known: aescbc, aesgcm, secretbox, "
            "identity, kms)"
        )
        return []
    if not found:
        errors.append(
            f"{path}: provider does not contain any of the expected providers: "
            "KMS, AESGCM, AESCBC, Secretbox, Identity"
        )
        return []
    if len(found) > 1:
        errors.append(
            f"{path}: more than one provider specified in a single element, should split "
            "into different list elements"
        )
        return []
    name = found[0]
    if name == "identity":
        return [PrefixTransformer(b"", IdentityCipher())]
    if name == "kms":
        errors.append(
            f"{path}.kms: the kms provider is not supported by minik (it needs a KMS plugin "
            "over gRPC); use aesgcm, aescbc or secretbox"
        )
        return []
    keys = (provider[name] or {}).get("keys") if isinstance(provider[name], dict) else None
    if not isinstance(keys, list) or not keys:
        errors.append(f"{path}.{name}.keys: Required value: at least one keys is required")
        return []
    out = []
    names: set[str] = set()
    for k, key in enumerate(keys):
        where = f"{path}.{name}.keys[{k}]"
        secret = _key_secret(key, where, KEY_SIZES[name], errors)
        key_name = key.get("name") if isinstance(key, dict) else None
        if not key_name or not isinstance(key_name, str):
            errors.append(f"{where}.name: Required value: name is a mandatory field for a key")
            continue
        if key_name in names:
            errors.append(f"{where}.name: Duplicate value: {key_name!r}")
        names.add(key_name)
        if secret is None:
            continue
        try:
            cipher = CIPHERS[name](secret)
        except ImportError as err:  # secretbox without PyNaCl installed
            errors.append(f"{where}: the {name} provider needs {err.name} (pip install pynacl)")
            continue
        out.append(PrefixTransformer(key_prefix(name, key_name), cipher))
    return out


def _key_secret(key: Any, where: str, sizes: tuple[int, ...], errors: list[str]) -> bytes | None:
    text = key.get("secret") if isinstance(key, dict) else None
    if not text or not isinstance(text, str):
        errors.append(f"{where}.secret: Required value: secret is a mandatory field for a key")
        return None
    try:
        secret = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        errors.append(f'{where}.secret: Invalid value: "REDACTED": secrets must be base64 encoded')
        return None
    if len(secret) not in sizes:
        expected = " ".join(str(s) for s in sizes)
        errors.append(
            f'{where}.secret: Invalid value: "REDACTED": secret is not of the expected length, '
            f"got {len(secret)}, expected one of [{expected}]"
        )
        return None
    return secret
