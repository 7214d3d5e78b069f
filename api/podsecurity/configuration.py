"""The PodSecurity plugin's configuration: a `PodSecurityConfiguration`
(pod-security.admission.config.k8s.io/v1, also v1beta1/v1alpha1) as the
`configuration` of the `PodSecurity` entry of an `AdmissionConfiguration`
(apiserver.config.k8s.io/v1), with Kubernetes' defaults (everything `privileged`,
version `latest`, no exemptions) and validation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from api.labels import dns1123_label_errors, dns1123_subdomain_errors
from api.podsecurity.levels import LevelVersion, Policy, parse_level, parse_version

GROUP = "pod-security.admission.config.k8s.io"
KIND = "PodSecurityConfiguration"
API_VERSIONS = tuple(f"{GROUP}/{v}" for v in ("v1", "v1beta1", "v1alpha1"))
ADMISSION_KIND = "AdmissionConfiguration"
ADMISSION_API_VERSIONS = (
    "apiserver.config.k8s.io/v1",
    "apiserver.config.k8s.io/v1alpha1",
    "apiserver.k8s.io/v1alpha1",
)
PLUGIN = "PodSecurity"


class ConfigurationError(ValueError):
    """A configuration the apiserver must refuse to start with."""


@dataclass(frozen=True)
class Exemptions:
    usernames: frozenset[str] = frozenset()
    namespaces: frozenset[str] = frozenset()
    runtime_classes: frozenset[str] = frozenset()


@dataclass(frozen=True)
class PodSecurityConfiguration:
    defaults: Policy = field(default_factory=Policy)
    exemptions: Exemptions = field(default_factory=Exemptions)


def _strings(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigurationError(f"{where}: must be a list of strings")
    return value


def _unique(values: list[str], where: str, check: Any) -> frozenset[str]:
    seen: set[str] = set()
    errs = []
    for i, value in enumerate(values):
        problem = check(value)
        if problem:
            errs.append(f'{where}[{i}]: Invalid value: "{value}": {problem}')
        elif value in seen:
            errs.append(f'{where}[{i}]: Duplicate value: "{value}"')
        seen.add(value)
    if errs:
        raise ConfigurationError("; ".join(errs))
    return frozenset(values)


def _namespace_problem(name: str) -> str:
    return ", ".join(dns1123_label_errors(name))


def parse_pod_security_configuration(doc: Any) -> PodSecurityConfiguration:
    """A PodSecurityConfiguration document (a dict from YAML or JSON)."""
    if not isinstance(doc, dict):
        raise ConfigurationError(f"{KIND}: must be an object")
    if doc.get("kind") != KIND or doc.get("apiVersion") not in API_VERSIONS:
        raise ConfigurationError(
            f"want kind {KIND} of {API_VERSIONS[0]}, got kind {doc.get('kind')!r} of "
            f"{doc.get('apiVersion')!r}"
        )
    defaults = doc.get("defaults") or {}
    if not isinstance(defaults, dict):
        raise ConfigurationError("defaults: must be an object")
    modes = []
    errs = []
    for mode in ("enforce", "audit", "warn"):
        level_text = str(defaults.get(mode) or "privileged")
        version_text = str(defaults.get(f"{mode}-version") or "latest")
        try:
            level = parse_level(level_text)
        except ValueError as err:
            errs.append(f'defaults.{mode}: Invalid value: "{level_text}": {err}')
            level = "privileged"
        try:
            version = parse_version(version_text)
        except ValueError as err:
            errs.append(f'defaults.{mode}-version: Invalid value: "{version_text}": {err}')
            version = parse_version("latest")
        modes.append(LevelVersion(level, version))
    if errs:
        raise ConfigurationError("; ".join(errs))
    exemptions = doc.get("exemptions") or {}
    if not isinstance(exemptions, dict):
        raise ConfigurationError("exemptions: must be an object")
    return PodSecurityConfiguration(
        Policy(*modes),
        Exemptions(
            usernames=_unique(
                _strings(exemptions.get("usernames"), "exemptions.usernames"),
                "exemptions.usernames",
                lambda u: "" if u else "username must not be empty",
            ),
            namespaces=_unique(
                _strings(exemptions.get("namespaces"), "exemptions.namespaces"),
                "exemptions.namespaces",
                _namespace_problem,
            ),
            runtime_classes=_unique(
                _strings(exemptions.get("runtimeClasses"), "exemptions.runtimeClasses"),
                "exemptions.runtimeClasses",
                lambda rc: ", ".join(dns1123_subdomain_errors(rc)),
            ),
        ),
    )


def plugin_entry(doc: Any, plugin: str = PLUGIN) -> dict | None:
    """The `plugins[]` entry of an AdmissionConfiguration for `plugin`: it has either
    `configuration` (the embedded document) or `path` (a file, relative to the
    AdmissionConfiguration's own)."""
    if not isinstance(doc, dict):
        raise ConfigurationError(f"{ADMISSION_KIND}: must be an object")
    if doc.get("kind") != ADMISSION_KIND or doc.get("apiVersion") not in ADMISSION_API_VERSIONS:
        raise ConfigurationError(
            f"want kind {ADMISSION_KIND} of {ADMISSION_API_VERSIONS[0]}, got kind "
            f"{doc.get('kind')!r} of {doc.get('apiVersion')!r}"
        )
    for entry in doc.get("plugins") or []:
        if isinstance(entry, dict) and entry.get("name") == plugin:
            return entry
    return None
