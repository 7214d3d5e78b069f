"""`successPolicy` of Indexed Jobs (Kubernetes' matchSuccessPolicy): the Job succeeds
as soon as one rule holds — every index of `succeededIndexes` succeeded, or at least
`succeededCount` of them (of all indexes when the rule names none). The Job then gets
SuccessCriteriaMet with reason SuccessPolicy, its remaining pods are stopped, and
Complete follows. No I/O."""

from __future__ import annotations

from typing import Any

from controller.job.indexes import parse_indexes

Obj = dict[str, Any]

REASON = "SuccessPolicy"


def matched(job: Obj, completed: set[int]) -> str | None:
    """The condition message ("Matched rules at index 0") of the first rule that holds."""
    spec = job.get("spec") or {}
    policy = spec.get("successPolicy")
    if not policy or not completed:
        return None
    completions = int(spec.get("completions") or 0)
    for i, rule in enumerate(policy.get("rules") or []):
        count = rule.get("succeededCount")
        if rule.get("succeededIndexes") is not None:
            required = parse_indexes(rule["succeededIndexes"], completions)
            if not required:
                continue  # nothing parsable: the rule never holds
            done = len(required & completed)
            if (count is None and done == len(required)) or (
                count is not None and done >= int(count)
            ):
                return f"Matched rules at index {i}"
        elif count is not None and len(completed) >= int(count):
            return f"Matched rules at index {i}"
    return None
