"""ResourceQuota and LimitRange, core/v1's resource policies (pkg/apis/core/validation:
ValidateResourceQuota, ValidateLimitRange): resource names and quantities, quota scopes
and scope selectors, and the consistency of a LimitRange item's min, max, defaults and ratio."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from api import labels as lbl
from api import quota
from api.quantity import Quantity, QuantityError
from api.validation.field import (
    NEGATIVE,
    Cause,
    GoText,
    as_dict,
    as_list,
    as_str,
    duplicate,
    forbidden,
    invalid,
    invalid_each,
    not_supported,
    required,
)
from api.validation.pods import resource_name_errors

LIMIT_TYPES = ("Pod", "Container", "PersistentVolumeClaim")
NOT_INTEGER = "must be an integer"
INVALID_QUOTA_RESOURCE = "must be a standard resource for quota"
_EXISTS_ONLY = (
    "must be 'Exist' when scope is any of ResourceQuotaScopeTerminating, "
    "ResourceQuotaScopeNotTerminating, ResourceQuotaScopeBestEffort, "
    "ResourceQuotaScopeNotBestEffort or ResourceQuotaScopeCrossNamespacePodAffinity"
)


def _go_scopes(scopes: list[Any]) -> GoText:
    return GoText("[]core.ResourceQuotaScope{" + ", ".join(f'"{s}"' for s in scopes) + "}")


def _quantity(path: str, value: Any, causes: list[Cause]) -> Quantity | None:
    try:
        q = Quantity.parse(value)
    except QuantityError as err:
        causes.append(invalid(path, as_str(value), str(err)))
        return None
    if q.value < 0:
        causes.append(invalid(path, str(q), NEGATIVE))
    return q


def _quota_list(items: Any, path: str) -> list[Cause]:
    causes: list[Cause] = []
    for name, value in as_dict(items).items():
        p = f"{path}[{name}]"
        errs = lbl.label_key_errors(name)
        causes += invalid_each(p, name, errs)
        if (
            not errs
            and "/" not in name
            and name not in quota.STANDARD_QUOTA_RESOURCES
            and not name.startswith(("hugepages-", "requests.hugepages-"))
        ):
            causes.append(invalid(p, name, INVALID_QUOTA_RESOURCE))
        q = _quantity(p, value, causes)
        if q is not None and quota.is_integer_resource(name) and q.value % 1:
            causes.append(invalid(p, str(q), NOT_INTEGER))
    return causes


def _scopes(spec: dict, hard: list[str]) -> list[Cause]:
    scopes = as_list(spec.get("scopes"))
    causes: list[Cause] = []
    for scope in scopes:
        if scope not in quota.STANDARD_SCOPES:
            causes.append(invalid("spec.scopes", _go_scopes(scopes), "unsupported scope"))
        for name in hard:
            if _standard(name) and not quota.scope_valid_for_resource(scope, name):
                causes.append(
                    invalid(
                        "spec.scopes", _go_scopes(scopes), "unsupported scope applied to resource"
                    )
                )
    return causes + _conflicting("spec.scopes", set(scopes), _go_scopes(scopes))


def _standard(name: str) -> bool:
    return name in quota.STANDARD_QUOTA_RESOURCES or name.startswith("count/")


def _conflicting(path: str, scopes: set[Any], value: Any) -> list[Cause]:
    pairs = ((quota.BEST_EFFORT, quota.NOT_BEST_EFFORT), (quota.TERMINATING, quota.NOT_TERMINATING))
    return [invalid(path, value, "conflicting scopes") for a, b in pairs if {a, b} <= scopes]


def _scope_selector(spec: dict, hard: list[str]) -> list[Cause]:
    selector = spec.get("scopeSelector")
    if selector is None:
        return []
    path = "spec.scopeSelector.matchExpressions"
    causes: list[Cause] = []
    names: set[Any] = set()
    for expr in as_list(as_dict(selector).get("matchExpressions")):
        expr = as_dict(expr)
        scope, operator = expr.get("scopeName"), expr.get("operator")
        values = as_list(expr.get("values"))
        if scope not in quota.STANDARD_SCOPES:
            causes.append(invalid(f"{path}.scopeName", as_str(scope), "unsupported scope"))
        for name in hard:
            if _standard(name) and not quota.scope_valid_for_resource(str(scope), name):
                causes.append(
                    invalid(path, GoText(str(selector)), "unsupported scope applied to resource")
                )
        if (
            scope in quota.STANDARD_SCOPES
            and scope != quota.PRIORITY_CLASS
            and operator != "Exists"
        ):
            causes.append(invalid(f"{path}.operator", as_str(operator), _EXISTS_ONLY))
        if operator in ("In", "NotIn"):
            if not values:
                causes.append(
                    required(
                        f"{path}.values",
                        "must be at least one value when `operator` is 'In' or 'NotIn' for "
                        "scope selector",
                    )
                )
        elif operator in ("Exists", "DoesNotExist"):
            if values:
                causes.append(
                    invalid(
                        f"{path}.values",
                        values,
                        "must be no value when `operator` is 'Exist' or 'DoesNotExist' for "
                        "scope selector",
                    )
                )
        else:
            causes.append(
                invalid(f"{path}.operator", as_str(operator), "not a valid selector operator")
            )
        names.add(scope)
    return causes + _conflicting(path, names, GoText(str(selector)))


def validate_resource_quota(obj: dict) -> list[Cause]:
    spec = as_dict(obj.get("spec"))
    hard = sorted(as_dict(spec.get("hard")))
    causes = _quota_list(spec.get("hard"), "spec.hard")
    causes += _scopes(spec, hard) + _scope_selector(spec, hard)
    status = as_dict(obj.get("status"))
    causes += _quota_list(status.get("hard"), "status.hard")
    causes += _quota_list(status.get("used"), "status.used")
    return causes


def validate_resource_quota_update(new: dict, old: dict) -> list[Cause]:
    """Scopes are immutable (ValidateResourceQuotaUpdate)."""
    nspec, ospec = as_dict(new.get("spec")), as_dict(old.get("spec"))
    causes: list[Cause] = []
    if sorted(as_list(nspec.get("scopes"))) != sorted(as_list(ospec.get("scopes"))):
        causes.append(
            invalid("spec.scopes", _go_scopes(as_list(nspec.get("scopes"))), "field is immutable")
        )
    return causes


# --- LimitRange ----------------------------------------------------------------------------


def _limit_list(
    items: Any, path: str, out: dict[str, Quantity], causes: list[Cause], kind: Any = None
) -> None:
    """validateLimitRangeResourceName: container resource names for Pod and Container
    items, any qualified name otherwise."""
    for name, value in as_dict(items).items():
        p = f"{path}[{name}]"
        if kind in ("Pod", "Container"):
            causes += invalid_each(p, name, resource_name_errors(name))
        else:
            causes += invalid_each(p, name, lbl.label_key_errors(name))
        q = _quantity(p, value, causes)
        if q is not None:
            out[name] = q


def _item(item: dict, path: str) -> list[Cause]:
    causes: list[Cause] = []
    kind = item.get("type")
    if not kind:
        causes.append(required(f"{path}.type"))
    elif "/" not in str(kind) and kind not in LIMIT_TYPES:
        causes.append(not_supported(f"{path}.type", kind, LIMIT_TYPES))
    mins: dict[str, Quantity] = {}
    maxs: dict[str, Quantity] = {}
    defaults: dict[str, Quantity] = {}
    requests: dict[str, Quantity] = {}
    ratios: dict[str, Quantity] = {}
    _limit_list(item.get("max"), f"{path}.max", maxs, causes, kind)
    _limit_list(item.get("min"), f"{path}.min", mins, causes, kind)
    if kind == "Pod":
        if as_dict(item.get("default")):
            causes.append(forbidden(f"{path}.default", "may not be specified when `type` is 'Pod'"))
        if as_dict(item.get("defaultRequest")):
            causes.append(
                forbidden(f"{path}.defaultRequest", "may not be specified when `type` is 'Pod'")
            )
    else:
        _limit_list(item.get("default"), f"{path}.default", defaults, causes, kind)
        _limit_list(item.get("defaultRequest"), f"{path}.defaultRequest", requests, causes, kind)
    if kind == "PersistentVolumeClaim" and "storage" not in mins and "storage" not in maxs:
        causes.append(
            required(
                f"{path}.limits",
                "either minimum or maximum storage value is required, but neither was provided",
            )
        )
    _limit_list(
        item.get("maxLimitRequestRatio"), f"{path}.maxLimitRequestRatio", ratios, causes, kind
    )
    for name in sorted({*mins, *maxs, *defaults, *requests, *ratios}):
        causes += _consistency(path, name, mins, maxs, defaults, requests, ratios)
    return causes


def _consistency(
    path: str,
    name: str,
    mins: dict[str, Quantity],
    maxs: dict[str, Quantity],
    defaults: dict[str, Quantity],
    requests: dict[str, Quantity],
    ratios: dict[str, Quantity],
) -> list[Cause]:
    lo, hi = mins.get(name), maxs.get(name)
    default, request, ratio = defaults.get(name), requests.get(name), ratios.get(name)
    out: list[Cause] = []
    if lo is not None and hi is not None and lo.value > hi.value:
        out.append(
            invalid(
                f"{path}.min[{name}]", str(lo), f"min value {lo} is greater than max value {hi}"
            )
        )
    if request is not None and lo is not None and lo.value > request.value:
        out.append(
            invalid(
                f"{path}.defaultRequest[{name}]",
                str(request),
                f"min value {lo} is greater than default request value {request}",
            )
        )
    if request is not None and hi is not None and request.value > hi.value:
        out.append(
            invalid(
                f"{path}.defaultRequest[{name}]",
                str(request),
                f"default request value {request} is greater than max value {hi}",
            )
        )
    if request is not None and default is not None and request.value > default.value:
        out.append(
            invalid(
                f"{path}.defaultRequest[{name}]",
                str(request),
                f"default request value {request} is greater than default limit value {default}",
            )
        )
    if default is not None and lo is not None and lo.value > default.value:
        out.append(
            invalid(
                f"{path}.default[{name}]",
                str(lo),
                f"min value {lo} is greater than default value {default}",
            )
        )
    if default is not None and hi is not None and default.value > hi.value:
        out.append(
            invalid(
                f"{path}.default[{name}]",
                str(hi),
                f"default value {default} is greater than max value {hi}",
            )
        )
    if ratio is not None and ratio.value < 1:
        out.append(
            invalid(
                f"{path}.maxLimitRequestRatio[{name}]", str(ratio), f"ratio {ratio} is less than 1"
            )
        )
    if ratio is not None and lo is not None and hi is not None and lo.value > 0:
        limit = hi.value / lo.value
        if ratio.value > limit:
            out.append(
                invalid(
                    f"{path}.maxLimitRequestRatio[{name}]",
                    str(ratio),
                    f"ratio {ratio} is greater than max/min = {_go_float(limit)}",
                )
            )
    return out


def _go_float(value: Decimal) -> str:
    """Go's %f: six decimals."""
    return f"{float(value):f}"


def validate_limit_range(obj: dict) -> list[Cause]:
    causes: list[Cause] = []
    seen: set[Any] = set()
    for i, item in enumerate(as_list(as_dict(obj.get("spec")).get("limits"))):
        item = as_dict(item)
        path = f"spec.limits[{i}]"
        kind = item.get("type")
        if kind in seen:
            causes.append(duplicate(f"{path}.type", kind))
        seen.add(kind)
        causes += _item(item, path)
    return causes
