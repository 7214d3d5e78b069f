"""`--config FILE`: the KubeSchedulerConfiguration (kubescheduler.config.k8s.io/v1)
fields minik's scheduler implements.

- `percentageOfNodesToScore` (0-100; 0, the default, is Kubernetes' adaptive share:
  50% - nodes/125, at least 5%, never fewer than 100 nodes), and a profile's own,
  which overrides it, as since Kubernetes 1.27;
- `profiles`: one profile here (its `schedulerName`, as `--scheduler-name`).

Decoding is strict, as kube-scheduler's: an unknown field, or one of Kubernetes'
that minik does not implement, is an error naming the field."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

API_VERSION = "kubescheduler.config.k8s.io/v1"
KIND = "KubeSchedulerConfiguration"
TOP_FIELDS = {"apiVersion", "kind", "percentageOfNodesToScore", "profiles"}
PROFILE_FIELDS = {"schedulerName", "percentageOfNodesToScore"}


class ConfigError(ValueError):
    """A bad configuration file; the message names the field."""


@dataclass(frozen=True)
class SchedulerConfig:
    percentage_of_nodes_to_score: int = 0
    scheduler_name: str | None = None  # None: --scheduler-name decides


def load(path: str | Path) -> SchedulerConfig:
    try:
        text = Path(path).read_text()
    except OSError as err:
        raise ConfigError(f"reading {path}: {err.strerror or err}") from None
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not YAML: {err}") from None
    return parse(doc)


def parse(doc: Any) -> SchedulerConfig:
    if not isinstance(doc, dict):
        raise ConfigError(f"the configuration must be a {KIND} object")
    if doc.get("apiVersion") != API_VERSION or doc.get("kind") != KIND:
        raise ConfigError(
            f"apiVersion/kind: want {API_VERSION} {KIND}, "
            f"got {doc.get('apiVersion')!r} {doc.get('kind')!r}"
        )
    _known(doc, TOP_FIELDS, "")
    percentage = _percentage(doc, "percentageOfNodesToScore")
    profiles = doc.get("profiles")
    if profiles is None:
        profiles = []
    if not isinstance(profiles, list):
        raise ConfigError("profiles: must be a list")
    if len(profiles) > 1:
        raise ConfigError("profiles: minik's scheduler runs one profile")
    name = None
    for i, profile in enumerate(profiles):
        where = f"profiles[{i}]"
        if not isinstance(profile, dict):
            raise ConfigError(f"{where}: must be an object")
        _known(profile, PROFILE_FIELDS, f"{where}.")
        name = profile.get("schedulerName")
        if name is not None and (not isinstance(name, str) or not name):
            raise ConfigError(f"{where}.schedulerName: Required value")
        own = _percentage(profile, "percentageOfNodesToScore", f"{where}.")
        if profile.get("percentageOfNodesToScore") is not None:
            percentage = own
    return SchedulerConfig(percentage, name)


def _known(obj: dict, fields: set[str], prefix: str) -> None:
    for key in obj:
        if key not in fields:
            raise ConfigError(f"{prefix}{key}: unknown field (or not implemented by minik)")


def _percentage(obj: dict, key: str, prefix: str = "") -> int:
    """kube-scheduler's validation: an integer in [0, 100] (0: adaptive)."""
    value = obj.get(key)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise ConfigError(f"{prefix}{key}: Invalid value: {value!r}: not in valid range [0-100]")
    return value
