"""PodSecurity's Prometheus metrics, with pod-security-admission's names and labels
(k8s.io/pod-security-admission/metrics): how often each mode allowed or denied, and how
often a request was exempt. With no audit log in minik, these are where `audit` mode's
verdicts can be counted."""

from __future__ import annotations

from api.podsecurity.levels import PRIVILEGED, LevelVersion, Version
from componentbase.loopmetrics import Counter, register

EVALUATIONS = Counter(
    "pod_security_evaluations_total",
    "Number of policy evaluations that occurred, not counting ignored or exempt requests.",
    [
        "decision",
        "policy_level",
        "policy_version",
        "mode",
        "request_operation",
        "resource",
        "subresource",
    ],
)
EXEMPTIONS = Counter(
    "pod_security_exemptions_total",
    "Number of exempt requests, not counting ignored or out of scope requests.",
    ["request_operation", "resource", "subresource"],
)
register(EVALUATIONS, EXEMPTIONS)


def _resource(plural: str) -> str:
    """Kubernetes' resource label: "pod", "namespace", or any pod-template kind's
    "controller"."""
    return {"pods": "pod", "namespaces": "namespace"}.get(plural, "controller")


def _version(lv: LevelVersion, server: Version) -> str:
    """ "latest" for latest and for privileged (always effectively latest), "future" for
    a version newer than the server's."""
    if lv.version.latest or lv.level == PRIVILEGED:
        return "latest"
    return "future" if server.older(lv.version) else str(lv.version)


def evaluation(
    decision: str,
    lv: LevelVersion,
    server: Version,
    mode: str,
    operation: str,
    resource: str,
    subresource: str,
) -> None:
    EVALUATIONS.labels(
        decision,
        lv.level,
        _version(lv, server),
        mode,
        operation.lower(),
        _resource(resource),
        subresource,
    ).inc()


def exemption(operation: str, resource: str, subresource: str) -> None:
    EXEMPTIONS.labels(operation.lower(), _resource(resource), subresource).inc()
