"""`podFailurePolicy`: the first rule that matches a failed pod decides whether the
failure fails the Job (FailJob), is not counted (Ignore) or counts toward
`backoffLimit` (Count), as Kubernetes' matchPodFailurePolicy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Obj = dict[str, Any]


@dataclass(frozen=True)
class Match:
    action: str  # "FailJob", "Ignore", "Count", "FailIndex"
    message: str  # why, for the Job's condition


def _exit_code_matches(pod: Obj, requirement: Obj) -> tuple[str, int] | None:
    name = requirement.get("containerName")
    values = requirement.get("values") or []
    operator = requirement.get("operator")
    status = pod.get("status") or {}
    for cs in (status.get("initContainerStatuses") or []) + (status.get("containerStatuses") or []):
        if name is not None and cs.get("name") != name:
            continue
        terminated = (cs.get("state") or {}).get("terminated")
        if not terminated:
            continue
        code = int(terminated.get("exitCode") or 0)
        if code == 0:
            continue
        if (operator == "In" and code in values) or (operator == "NotIn" and code not in values):
            return cs.get("name", ""), code
    return None


def _condition_matches(pod: Obj, patterns: list[Obj]) -> str | None:
    conditions = (pod.get("status") or {}).get("conditions") or []
    for pattern in patterns:
        for cond in conditions:
            if cond.get("type") == pattern.get("type") and cond.get("status") == (
                pattern.get("status") or "True"
            ):
                return str(pattern.get("type"))
    return None


def match(policy: Obj | None, pod: Obj) -> Match | None:
    """The action of the first matching rule, None when no rule matches."""
    md = pod.get("metadata") or {}
    pod_name = f"{md.get('namespace')}/{md.get('name')}"
    for i, rule in enumerate((policy or {}).get("rules") or []):
        action = rule.get("action", "")
        requirement = rule.get("onExitCodes")
        if requirement is not None:
            found = _exit_code_matches(pod, requirement)
            if found is not None:
                container, code = found
                return Match(
                    action,
                    f"Container {container} for pod {pod_name} failed with exit code {code} "
                    f"matching {action} rule at index {i}",
                )
        condition = _condition_matches(pod, rule.get("onPodConditions") or [])
        if condition is not None:
            return Match(
                action,
                f"Pod {pod_name} has condition {condition} matching {action} rule at index {i}",
            )
    return None
