"""Pod Security Standards' levels, versions and a namespace's policy, as
k8s.io/pod-security-admission/api: the `pod-security.kubernetes.io/<mode>[-version]`
labels resolved against the cluster's defaults, with Kubernetes' error wording for bad
labels and its fallbacks (a bad enforce level means `restricted`, a bad audit or warn
level means `privileged`: fail closed for enforce, open for the others)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from api.validation.field import Cause, invalid

PRIVILEGED, BASELINE, RESTRICTED = "privileged", "baseline", "restricted"
LEVELS = (PRIVILEGED, BASELINE, RESTRICTED)

LABEL_PREFIX = "pod-security.kubernetes.io/"
ENFORCE_LEVEL_LABEL = LABEL_PREFIX + "enforce"
ENFORCE_VERSION_LABEL = LABEL_PREFIX + "enforce-version"
AUDIT_LEVEL_LABEL = LABEL_PREFIX + "audit"
AUDIT_VERSION_LABEL = LABEL_PREFIX + "audit-version"
WARN_LEVEL_LABEL = LABEL_PREFIX + "warn"
WARN_VERSION_LABEL = LABEL_PREFIX + "warn-version"

# audit annotation keys (prefixed with LABEL_PREFIX when recorded)
EXEMPT_ANNOTATION = "exempt"
AUDIT_VIOLATIONS_ANNOTATION = "audit-violations"
ENFORCE_POLICY_ANNOTATION = "enforce-policy"
ERROR_ANNOTATION = "error"

LEVEL_ERROR = "must be one of " + ", ".join(LEVELS)
VERSION_ERROR = 'must be "latest" or "v1.x"'
_VERSION = re.compile(r"^v1\.([0-9]|[1-9][0-9]*)$")


@dataclass(frozen=True, order=True)
class Version:
    """A policy version: `v1.<minor>`, or `latest` (newer than any numbered one)."""

    latest: bool = False
    major: int = 1
    minor: int = 0

    def __str__(self) -> str:
        return "latest" if self.latest else f"v{self.major}.{self.minor}"

    def older(self, other: Version) -> bool:
        if self.latest:
            return False
        if other.latest:
            return True
        return (self.major, self.minor) < (other.major, other.minor)


LATEST = Version(latest=True)


def v1(minor: int) -> Version:
    return Version(False, 1, minor)


def parse_level(text: str) -> str:
    """A level; ValueError (with Kubernetes' words) for anything else."""
    if text not in LEVELS:
        raise ValueError(LEVEL_ERROR)
    return text


def parse_version(text: str) -> Version:
    if text == "latest":
        return LATEST
    match = _VERSION.match(text)
    if match is None:
        raise ValueError(VERSION_ERROR)
    return v1(int(match.group(1)))


def compare_levels(a: str, b: str) -> int:
    """-1, 0 or 1 as `a` is less strict than, as strict as or stricter than `b`."""
    return (LEVELS.index(a) > LEVELS.index(b)) - (LEVELS.index(a) < LEVELS.index(b))


@dataclass(frozen=True)
class LevelVersion:
    level: str = PRIVILEGED
    version: Version = LATEST

    def __str__(self) -> str:
        return f"{self.level}:{self.version}"

    def equivalent(self, other: LevelVersion) -> bool:
        """Both privileged (whatever the version), or the same level and version."""
        both_privileged = self.level == PRIVILEGED and other.level == PRIVILEGED
        return both_privileged or self == other


@dataclass(frozen=True)
class Policy:
    enforce: LevelVersion = field(default_factory=LevelVersion)
    audit: LevelVersion = field(default_factory=LevelVersion)
    warn: LevelVersion = field(default_factory=LevelVersion)

    def fully_privileged(self) -> bool:
        return all(lv.level == PRIVILEGED for lv in (self.enforce, self.audit, self.warn))

    def equivalent(self, other: Policy) -> bool:
        return (
            self.enforce.equivalent(other.enforce)
            and self.audit.equivalent(other.audit)
            and self.warn.equivalent(other.warn)
        )


def policy_to_evaluate(labels: dict | None, defaults: Policy) -> tuple[Policy, list[Cause]]:
    """The namespace's policy from its labels over `defaults`, and the causes of any bad
    label (`metadata.labels[pod-security.kubernetes.io/enforce]: Invalid value: ...`). A
    usable policy comes back even with errors. An enforce level stricter than the warn
    level, with no warn label, also warns at that level (Kubernetes' defaulting)."""
    labels = labels if isinstance(labels, dict) else {}
    errs: list[Cause] = []
    enforce, audit, warn = defaults.enforce, defaults.audit, defaults.warn

    def level(label: str, fallback: str) -> str:
        try:
            return parse_level(str(labels[label]))
        except ValueError as err:
            errs.append(invalid(f"metadata.labels[{label}]", str(labels[label]), str(err)))
            return fallback

    def version(label: str) -> Version:
        try:
            return parse_version(str(labels[label]))
        except ValueError as err:
            errs.append(invalid(f"metadata.labels[{label}]", str(labels[label]), str(err)))
            return LATEST

    has_enforce_level = False
    if ENFORCE_LEVEL_LABEL in labels:
        before = len(errs)
        enforce = replace(enforce, level=level(ENFORCE_LEVEL_LABEL, RESTRICTED))
        has_enforce_level = len(errs) == before
    if ENFORCE_VERSION_LABEL in labels:
        enforce = replace(enforce, version=version(ENFORCE_VERSION_LABEL))
    if AUDIT_LEVEL_LABEL in labels:
        audit = replace(audit, level=level(AUDIT_LEVEL_LABEL, PRIVILEGED))
    if AUDIT_VERSION_LABEL in labels:
        audit = replace(audit, version=version(AUDIT_VERSION_LABEL))
    has_warn_level = WARN_LEVEL_LABEL in labels
    if has_warn_level:
        warn = replace(warn, level=level(WARN_LEVEL_LABEL, PRIVILEGED))
    if WARN_VERSION_LABEL in labels:
        warn = replace(warn, version=version(WARN_VERSION_LABEL))
    if not has_warn_level and has_enforce_level and compare_levels(enforce.level, warn.level) > 0:
        warn = LevelVersion(
            enforce.level, warn.version if WARN_VERSION_LABEL in labels else enforce.version
        )
    return Policy(enforce, audit, warn), errs
