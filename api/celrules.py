"""`x-kubernetes-validations`: CEL rules in a CRD's schema, evaluated as
kube-apiextensions-apiserver does, with `self` bound to the value at the rule's node
and `oldSelf` to its previous value on an update (transition rules run only then).

The CEL runtime is cel-python (`celpy`, pure Python, on PyPI); Kubernetes' own CEL
library extensions (quantity, url, ip...) are not provided."""

from __future__ import annotations

import functools
from typing import Any

from api.schema import json_type

Cause = dict[str, str]
RULES = "x-kubernetes-validations"


@functools.cache
def _env() -> Any:
    """Imported on first use: only CRDs with rules pay for the CEL runtime."""
    import celpy

    return celpy.Environment()


@functools.cache
def _program(rule: str) -> Any:
    env = _env()
    return env.program(env.compile(rule))


def _cel(value: Any) -> Any:
    import celpy

    return celpy.json_to_cel(value)


def compile_error(rule: str) -> str | None:
    """Why a rule does not compile, or None."""
    try:
        _program(rule)
    except Exception as err:  # celpy raises its own parse errors
        return str(err).splitlines()[0] if str(err) else type(err).__name__
    return None


def uses_old_self(rule: str) -> bool:
    return "oldSelf" in rule


def _join(path: str, field_path: str) -> str:
    if not field_path:
        return path
    return f"{path}{field_path}" if field_path.startswith((".", "[")) else f"{path}.{field_path}"


def check(
    rules: list[dict], value: Any, path: str, old: Any = None, has_old: bool = False
) -> list[Cause]:
    """The causes for the rules `value` fails."""
    causes: list[Cause] = []
    for rule_obj in rules:
        rule = str(rule_obj.get("rule", ""))
        if not rule:
            continue
        if uses_old_self(rule) and not has_old:
            continue  # a transition rule: only on update, with a previous value
        activation = {"self": _cel(value)}
        if has_old:
            activation["oldSelf"] = _cel(old)
        try:
            result = _program(rule).evaluate(activation)
            ok = bool(result) if not isinstance(result, Exception) else False
            detail = None if not isinstance(result, Exception) else str(result)
        except Exception as err:
            ok, detail = False, str(err)
        if ok:
            continue
        message = rule_obj.get("message") or f"failed rule: {rule}"
        if detail:
            message = f"{message}: {detail}"
        causes.append(
            {
                "field": _join(path, str(rule_obj.get("fieldPath") or "")),
                "reason": str(rule_obj.get("reason") or "FieldValueInvalid"),
                "message": f'Invalid value: "{json_type(value)}": {message}',
            }
        )
    return causes
