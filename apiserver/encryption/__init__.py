"""Encryption at rest (`--encryption-provider-config`), as kube-apiserver does it: a
value transformer between the codec and etcd. `transformers` are Kubernetes' providers
(pure), `config` reads and validates the EncryptionConfiguration, and `Encryption` is
what apiserver/storage.py calls with each etcd key: the transformer of the key's
resource, or None for a resource the configuration does not name (those values are
written as they are and cost one cached dict look-up)."""

from __future__ import annotations

from api import errors
from api.resources import RESOURCES
from apiserver.encryption.config import ConfigError, EncryptionConfig, load
from apiserver.encryption.transformers import (
    ENCRYPTED,
    PrefixTransformers,
    TransformError,
)
from apiserver.metrics import TRANSFORMATIONS

__all__ = ["ENCRYPTED", "ConfigError", "Encryption", "TransformError", "load", "transform_error"]

REGISTRY = "/registry/"


def _builtin_groups() -> dict[str, str]:
    """etcd key segment -> API group of the built-in resources (events.k8s.io Events
    are core Events in etcd, as in Kubernetes)."""
    groups: dict[str, str] = {}
    for res in sorted(RESOURCES, key=lambda r: r.group != ""):
        groups.setdefault(res.storage_resource, res.group)
    return groups


def transform_error(key: str, err: Exception) -> errors.ApiError:
    """kube-apiserver's answer for a value it cannot read: a 500 naming the key."""
    return errors.internal(f'Internal error occurred: unable to transform key "{key}": {err}')


class Encryption:
    """The configured transformers by etcd key (`/registry/<resource>/...`, custom
    resources `/registry/<group>/<resource>/...`)."""

    def __init__(self, config: EncryptionConfig) -> None:
        self._config = config
        self._groups = _builtin_groups()
        self._by_segment: dict[str, PrefixTransformers | None] = {}

    def for_key(self, key: str) -> PrefixTransformers | None:
        start = len(REGISTRY)
        end = key.find("/", start)
        segment = key[start:end] if end > 0 else key[start:]
        if "." in segment:  # a custom resource's group; its resource comes next
            after = key.find("/", end + 1)
            segment = key[start:after] if after > 0 else key[start:]
        try:
            return self._by_segment[segment]
        except KeyError:
            pass
        group, _, resource = segment.rpartition("/")
        if not group:
            group = self._groups.get(resource, "")
        found = self._by_segment[segment] = self._config.for_resource(group, resource)
        return found

    def to_storage(self, key: str, chain: PrefixTransformers, data: bytes) -> bytes:
        label = chain.writer.label
        try:
            out = chain.to_storage(data, key.encode())
        except Exception:
            TRANSFORMATIONS.labels("to_storage", label, "Unknown").inc()
            raise
        TRANSFORMATIONS.labels("to_storage", label, "OK").inc()
        return out

    def from_storage(self, key: str, chain: PrefixTransformers, data: bytes) -> bytes:
        """The plaintext; an ApiError (500) when no listed provider opens it."""
        try:
            out, used = chain.from_storage(data, key.encode())
        except TransformError as err:
            TRANSFORMATIONS.labels("from_storage", _prefix_label(data), "Unknown").inc()
            raise transform_error(key, err) from err
        TRANSFORMATIONS.labels("from_storage", used.label, "OK").inc()
        return out


def _prefix_label(data: bytes) -> str:
    """`k8s:enc:aescbc:v1:` of a value no provider opened (`identity`: not encrypted)."""
    if not data.startswith(ENCRYPTED):
        return "identity"
    return b":".join(data[:64].split(b":")[:4]).decode("ascii", "replace") + ":"
