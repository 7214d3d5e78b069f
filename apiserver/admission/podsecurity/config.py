"""Reading `--admission-control-config-file`: an AdmissionConfiguration whose
`PodSecurity` entry embeds a PodSecurityConfiguration (`configuration`) or names a
file holding one (`path`, relative to the AdmissionConfiguration's directory). No file,
or no PodSecurity entry, means Kubernetes' default: privileged everywhere."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from api.podsecurity.configuration import (
    ConfigurationError,
    PodSecurityConfiguration,
    parse_pod_security_configuration,
    plugin_entry,
)


def _read(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except OSError as err:
        raise ConfigurationError(f"reading {path}: {err.strerror or err}") from err
    except yaml.YAMLError as err:
        raise ConfigurationError(f"parsing {path}: {err}") from err


def load(path: str | Path | None) -> PodSecurityConfiguration:
    """The PodSecurity configuration of an admission configuration file; a
    ConfigurationError (with the file named) when it is unreadable or invalid."""
    if path is None:
        return PodSecurityConfiguration()
    path = Path(path)
    try:
        entry = plugin_entry(_read(path))
        if entry is None:
            return PodSecurityConfiguration()
        if entry.get("configuration") is not None:
            return parse_pod_security_configuration(entry["configuration"])
        if entry.get("path"):
            inner = Path(str(entry["path"]))
            inner = inner if inner.is_absolute() else path.parent / inner
            return parse_pod_security_configuration(_read(inner))
        return PodSecurityConfiguration()
    except ConfigurationError as err:
        raise ConfigurationError(f"--admission-control-config-file {path}: {err}") from err
