"""ResourceQuota accounting, as Kubernetes' quota evaluators (pkg/quota/v1/evaluator/core
and the generic object-count evaluator): what one object costs, which quotas and scopes
it falls under, and the ResourceList arithmetic with Kubernetes' printing. Pure logic,
shared by the apiserver's ResourceQuota admission (charging a create) and the resource
quota controller (recounting the live objects), so both always agree."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from api.quantity import Quantity, QuantityError
from api.storage import volume_class
from api.timefmt import parse_time

Obj = dict[str, Any]
ResourceList = dict[str, Quantity]

# Scopes (core/v1 ResourceQuotaScope).
TERMINATING = "Terminating"
NOT_TERMINATING = "NotTerminating"
BEST_EFFORT = "BestEffort"
NOT_BEST_EFFORT = "NotBestEffort"
PRIORITY_CLASS = "PriorityClass"
CROSS_NAMESPACE_POD_AFFINITY = "CrossNamespacePodAffinity"
STANDARD_SCOPES = (
    TERMINATING,
    NOT_TERMINATING,
    BEST_EFFORT,
    NOT_BEST_EFFORT,
    PRIORITY_CLASS,
    CROSS_NAMESPACE_POD_AFFINITY,
)
SCOPE_OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist")

# The compute resources a pod is charged for (podResources in Kubernetes).
POD_COMPUTE = (
    "cpu",
    "memory",
    "ephemeral-storage",
    "requests.cpu",
    "requests.memory",
    "requests.ephemeral-storage",
    "limits.cpu",
    "limits.memory",
    "limits.ephemeral-storage",
)
# Resources a quota on cpu/memory forces every container to state (validationSet).
MUST_SPECIFY = (
    "cpu",
    "memory",
    "requests.cpu",
    "requests.memory",
    "limits.cpu",
    "limits.memory",
)
# Object counts with their legacy names, by (group, plural).
LEGACY_COUNTS = {
    ("", "pods"): "pods",
    ("", "services"): "services",
    ("", "configmaps"): "configmaps",
    ("", "secrets"): "secrets",
    ("", "persistentvolumeclaims"): "persistentvolumeclaims",
    ("", "replicationcontrollers"): "replicationcontrollers",
    ("", "resourcequotas"): "resourcequotas",
}
STANDARD_QUOTA_RESOURCES = frozenset(
    {
        *LEGACY_COUNTS.values(),
        "services.nodeports",
        "services.loadbalancers",
        *POD_COMPUTE,
        "requests.storage",
    }
)
# Resources a scoped quota may limit (IsResourceQuotaScopeValidForResource).
_POD_OBJECT_COUNT = frozenset({"pods", "count/pods"})
_POD_COMPUTE_SCOPED = frozenset({*_POD_OBJECT_COUNT, *POD_COMPUTE})
STORAGE_CLASS_SUFFIX = ".storageclass.storage.k8s.io/"
INTEGER_RESOURCES = frozenset(LEGACY_COUNTS.values()) | {
    "services.nodeports",
    "services.loadbalancers",
}


def count_name(group: str, plural: str) -> str:
    """`count/<resource>.<group>`, or `count/<resource>` in the core group."""
    return f"count/{plural}.{group}" if group else f"count/{plural}"


def is_integer_resource(name: str) -> bool:
    """Resources whose quantities must be whole numbers (IsIntegerResourceName)."""
    return name in INTEGER_RESOURCES or name.startswith("count/")


def scope_valid_for_resource(scope: str, name: str) -> bool:
    if scope in (TERMINATING, NOT_TERMINATING, NOT_BEST_EFFORT, PRIORITY_CLASS):
        return name in _POD_COMPUTE_SCOPED
    if scope == CROSS_NAMESPACE_POD_AFFINITY:
        return name in _POD_OBJECT_COUNT
    if scope == BEST_EFFORT:
        return name in _POD_OBJECT_COUNT
    return False


# --- ResourceList arithmetic ---------------------------------------------------------------


def parse_list(items: Mapping[str, Any] | None) -> ResourceList:
    """A JSON ResourceList as Quantities; an unparseable value (never stored: validation
    refuses it) counts as absent."""
    out: ResourceList = {}
    for name, text in (items or {}).items():
        try:
            out[name] = Quantity.parse(text)
        except QuantityError:
            continue
    return out


def to_json(items: Mapping[str, Quantity]) -> dict[str, str]:
    return {name: str(q) for name, q in sorted(items.items())}


def add(a: Mapping[str, Quantity], b: Mapping[str, Quantity]) -> ResourceList:
    out = dict(a)
    for name, q in b.items():
        out[name] = out[name] + q if name in out else q
    return out


def subtract_non_negative(a: Mapping[str, Quantity], b: Mapping[str, Quantity]) -> ResourceList:
    out: ResourceList = {}
    for name, q in a.items():
        diff = q - b[name] if name in b else q
        out[name] = diff if diff.value > 0 else Quantity(0, q.format)
    return out


def mask(items: Mapping[str, Quantity], names: Iterable[str]) -> ResourceList:
    keep = set(names)
    return {name: q for name, q in items.items() if name in keep}


def exceeded(usage: Mapping[str, Quantity], hard: Mapping[str, Quantity]) -> list[str]:
    """The names whose usage is above the hard limit (LessThanOrEqual's complement)."""
    return sorted(n for n, q in usage.items() if n in hard and q.value > hard[n].value)


def pretty(items: Mapping[str, Quantity]) -> str:
    """`pods=1,requests.cpu=500m`: prettyPrint of Kubernetes' quota admission."""
    return ",".join(f"{name}={items[name]}" for name in sorted(items))


# --- pods ----------------------------------------------------------------------------------


def _sum_containers(spec: Obj, key: str) -> ResourceList:
    """PodRequests/PodLimits: the app containers' sum, at least the largest init step."""
    total: ResourceList = {}
    for c in spec.get("containers") or []:
        total = add(total, parse_list((c.get("resources") or {}).get(key)))
    sidecars: ResourceList = {}
    for c in spec.get("initContainers") or []:
        own = parse_list((c.get("resources") or {}).get(key))
        if c.get("restartPolicy") == "Always":
            sidecars = add(sidecars, own)
            total = add(total, own)
            continue
        step = add(own, sidecars)
        for name, q in step.items():
            if name not in total or q.value > total[name].value:
                total[name] = q
    return add(total, parse_list(spec.get("overhead")))


def pod_requests(pod: Obj) -> ResourceList:
    return _sum_containers(pod.get("spec") or {}, "requests")


def pod_limits(pod: Obj) -> ResourceList:
    return _sum_containers(pod.get("spec") or {}, "limits")


def compute_usage(requests: Mapping[str, Quantity], limits: Mapping[str, Quantity]) -> ResourceList:
    """podComputeUsageHelper: a pod (or one container) in quota's resource names."""
    one = Quantity.parse("1")
    out: ResourceList = {"pods": one}
    for name in ("cpu", "memory", "ephemeral-storage"):
        if name in requests:
            out[name] = requests[name]
            out[f"requests.{name}"] = requests[name]
        if name in limits:
            out[f"limits.{name}"] = limits[name]
    for name, q in requests.items():
        if name.startswith("hugepages-"):
            out[name] = q
            out[f"requests.{name}"] = q
        elif "/" in name and not name.startswith("kubernetes.io/"):  # extended resources
            out[f"requests.{name}"] = q
    return out


def pod_is_terminal(pod: Obj, now: float | None = None) -> bool:
    """Not charged for compute any more: Succeeded/Failed, or past its deletion grace."""
    phase = (pod.get("status") or {}).get("phase")
    if phase in ("Succeeded", "Failed"):
        return True
    md = pod.get("metadata") or {}
    deleted_at = parse_time(md.get("deletionTimestamp"))
    if deleted_at is not None and md.get("deletionGracePeriodSeconds") is not None:
        grace = int(md["deletionGracePeriodSeconds"] or 0)
        return (time.time() if now is None else now) > deleted_at + grace
    return False


def pod_usage(pod: Obj, now: float | None = None) -> ResourceList:
    """PodUsageFunc: `count/pods` always (it counts stored objects); `pods` and the
    compute resources only while the pod is not terminal."""
    out: ResourceList = {"count/pods": Quantity.parse("1")}
    if pod_is_terminal(pod, now):
        return out
    return add(out, compute_usage(pod_requests(pod), pod_limits(pod)))


def is_best_effort(pod: Obj) -> bool:
    spec = pod.get("spec") or {}
    for c in list(spec.get("containers") or []) + list(spec.get("initContainers") or []):
        res = c.get("resources") or {}
        for key in ("requests", "limits"):
            if any(n in ("cpu", "memory") for n in res.get(key) or {}):
                return False
    return True


def missing_requirements(pod: Obj, required: Iterable[str]) -> str | None:
    """The `must specify ...` text when a quota on cpu/memory meets a container that does
    not state them (the pod evaluator's Constraints), else None."""
    needed = set(required) & set(MUST_SPECIFY)
    missing: dict[str, set[str]] = {}
    spec = pod.get("spec") or {}
    for c in list(spec.get("containers") or []) + list(spec.get("initContainers") or []):
        res = c.get("resources") or {}
        has = set(compute_usage(parse_list(res.get("requests")), parse_list(res.get("limits"))))
        for name in needed - has:
            missing.setdefault(name, set()).add(str(c.get("name", "")))
    if not missing:
        return None
    parts = [f"{name} for: {','.join(sorted(missing[name]))}" for name in sorted(missing)]
    return "must specify " + "; ".join(parts)


# --- scopes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScopeRequirement:
    scope: str
    operator: str = "Exists"
    values: tuple[str, ...] = ()


def scope_requirements(quota: Obj) -> list[ScopeRequirement]:
    """spec.scopes (each an Exists requirement) plus spec.scopeSelector's expressions."""
    spec = quota.get("spec") or {}
    out = [ScopeRequirement(str(s)) for s in spec.get("scopes") or []]
    for expr in (spec.get("scopeSelector") or {}).get("matchExpressions") or []:
        out.append(
            ScopeRequirement(
                str(expr.get("scopeName", "")),
                str(expr.get("operator", "")),
                tuple(str(v) for v in expr.get("values") or []),
            )
        )
    return out


def pod_matches_scope(req: ScopeRequirement, pod: Obj) -> bool:
    spec = pod.get("spec") or {}
    if req.scope == TERMINATING:
        deadline = spec.get("activeDeadlineSeconds")
        return deadline is not None and int(deadline) >= 0
    if req.scope == NOT_TERMINATING:
        deadline = spec.get("activeDeadlineSeconds")
        return deadline is None or int(deadline) < 0
    if req.scope == BEST_EFFORT:
        return is_best_effort(pod)
    if req.scope == NOT_BEST_EFFORT:
        return not is_best_effort(pod)
    if req.scope == PRIORITY_CLASS:
        name = str(spec.get("priorityClassName") or "")
        if req.operator == "Exists":
            return bool(name)
        if req.operator == "In":
            return name in req.values
        if req.operator == "NotIn":
            return name not in req.values
        return False  # DoesNotExist: the key is always present in Kubernetes' label set
    if req.scope == CROSS_NAMESPACE_POD_AFFINITY:
        return _cross_namespace_affinity(spec)
    return False


def _cross_namespace_affinity(spec: Obj) -> bool:
    affinity = spec.get("affinity") or {}
    for kind in ("podAffinity", "podAntiAffinity"):
        terms = affinity.get(kind) or {}
        for term in terms.get("requiredDuringSchedulingIgnoredDuringExecution") or []:
            if term.get("namespaces") or term.get("namespaceSelector") is not None:
                return True
        for weighted in terms.get("preferredDuringSchedulingIgnoredDuringExecution") or []:
            term = weighted.get("podAffinityTerm") or {}
            if term.get("namespaces") or term.get("namespaceSelector") is not None:
                return True
    return False


# --- evaluators ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Evaluator:
    """What one kind costs: `names` decides which hard resources it answers for,
    `usage` what one object costs; `on_update` when an UPDATE can change its cost."""

    group: str
    plural: str
    on_update: bool = False

    @property
    def count(self) -> str:
        return count_name(self.group, self.plural)

    def matching(self, names: Iterable[str]) -> list[str]:
        return sorted(n for n in names if self.handles_name(n))

    def handles_name(self, name: str) -> bool:
        if name == self.count or name == LEGACY_COUNTS.get((self.group, self.plural)):
            return True
        if (self.group, self.plural) == ("", "pods"):
            return (
                name in POD_COMPUTE
                or name.startswith(("hugepages-", "requests.hugepages-"))
                or (name.startswith("requests.") and "/" in name)
            )
        if (self.group, self.plural) == ("", "services"):
            return name in ("services.nodeports", "services.loadbalancers")
        if (self.group, self.plural) == ("", "persistentvolumeclaims"):
            return name == "requests.storage" or (
                STORAGE_CLASS_SUFFIX in name
                and name.endswith(("/requests.storage", "/persistentvolumeclaims"))
            )
        return False

    def usage(self, obj: Obj, now: float | None = None) -> ResourceList:
        kind = (self.group, self.plural)
        if kind == ("", "pods"):
            return pod_usage(obj, now)
        one = Quantity.parse("1")
        out: ResourceList = {self.count: one}
        legacy = LEGACY_COUNTS.get(kind)
        if legacy:
            out[legacy] = one
        if kind == ("", "services"):
            out.update(_service_usage(obj))
        elif kind == ("", "persistentvolumeclaims"):
            out.update(_claim_usage(obj))
        return out

    def matches_scopes(self, quota: Obj, obj: Obj) -> bool:
        """A quota with scopes only ever matches pods (MatchesNoScopeFunc elsewhere)."""
        reqs = scope_requirements(quota)
        if not reqs:
            return True
        if (self.group, self.plural) != ("", "pods"):
            return False
        return all(pod_matches_scope(r, obj) for r in reqs)


def _service_usage(svc: Obj) -> ResourceList:
    spec = svc.get("spec") or {}
    ports = Quantity(len(spec.get("ports") or []))
    out: ResourceList = {}
    if spec.get("type") == "NodePort":
        out["services.nodeports"] = ports
    elif spec.get("type") == "LoadBalancer":
        if spec.get("allocateLoadBalancerNodePorts") is not False:
            out["services.nodeports"] = ports
        out["services.loadbalancers"] = Quantity.parse("1")
    return out


def _claim_usage(pvc: Obj) -> ResourceList:
    out: ResourceList = {}
    storage = parse_list(((pvc.get("spec") or {}).get("resources") or {}).get("requests"))
    cls = volume_class(pvc)
    if cls:
        out[f"{cls}{STORAGE_CLASS_SUFFIX}persistentvolumeclaims"] = Quantity.parse("1")
    if "storage" in storage:
        out["requests.storage"] = storage["storage"]
        if cls:
            out[f"{cls}{STORAGE_CLASS_SUFFIX}requests.storage"] = storage["storage"]
    return out


PODS = Evaluator("", "pods")
SERVICES = Evaluator("", "services", on_update=True)
CLAIMS = Evaluator("", "persistentvolumeclaims", on_update=True)
_SPECIAL = {("", "pods"): PODS, ("", "services"): SERVICES, ("", "persistentvolumeclaims"): CLAIMS}


def evaluator_for(group: str, plural: str) -> Evaluator:
    """Pods, services and claims have their own rules; every other kind is counted."""
    return _SPECIAL.get((group, plural)) or Evaluator(group, plural)


def hard_names(quota: Obj) -> list[str]:
    return sorted(((quota.get("status") or {}).get("hard") or {}).keys())


# --- admission -----------------------------------------------------------------------------


class QuotaRefused(Exception):
    """A write the quotas refuse; str() is the text after `... is forbidden: `."""


def _has_usage_stats(rq: Obj, names: Iterable[str]) -> bool:
    used = (rq.get("status") or {}).get("used") or {}
    return all(name in used for name in names)


def charge(
    evaluator: Evaluator, quotas: list[Obj], obj: Obj, old: Obj | None = None
) -> dict[str, ResourceList]:
    """CheckRequest of Kubernetes' quota admission: the new `status.used` of every quota
    the write changes, by quota name; raises QuotaRefused with Kubernetes' message when
    a quota does not know its usage yet, the object leaves out a resource a quota
    tracks (`must specify ...`), or the write would exceed a hard limit."""
    interesting: list[Obj] = []
    for rq in quotas:
        if not evaluator.matches_scopes(rq, obj):
            continue
        restricted = evaluator.matching(hard_names(rq))
        if not restricted:
            continue
        name = (rq.get("metadata") or {}).get("name", "")
        if (evaluator.group, evaluator.plural) == ("", "pods"):
            missing = missing_requirements(obj, restricted)
            if missing:
                raise QuotaRefused(f"failed quota: {name}: {missing}")
        if not _has_usage_stats(rq, restricted):
            raise QuotaRefused(
                f"status unknown for quota: {name}, resources: {','.join(restricted)}"
            )
        interesting.append(rq)
    if not interesting:
        return {}
    delta = evaluator.usage(obj)
    negative = sorted(n for n, q in delta.items() if q.value < 0)
    if negative:
        raise QuotaRefused(f"quota usage is negative for resource(s): {','.join(negative)}")
    if old is not None and (old.get("metadata") or {}).get("resourceVersion"):
        delta = subtract_non_negative(delta, evaluator.usage(old))
    delta = {n: q for n, q in delta.items() if q.value != 0}
    if not delta:
        return {}
    out: dict[str, ResourceList] = {}
    for rq in interesting:
        status = rq.get("status") or {}
        hard, used = parse_list(status.get("hard")), parse_list(status.get("used"))
        requested = mask(delta, hard)
        new_used = add(used, requested)
        over = exceeded(mask(new_used, requested), hard)
        if over:
            raise QuotaRefused(
                f"exceeded quota: {(rq.get('metadata') or {}).get('name', '')}, "
                f"requested: {pretty(mask(requested, over))}, "
                f"used: {pretty(mask(used, over))}, limited: {pretty(mask(hard, over))}"
            )
        if requested:
            out[(rq.get("metadata") or {}).get("name", "")] = new_used
    return out


# --- the controller's recount --------------------------------------------------------------


def calculate_usage(
    rq: Obj, evaluators_objects: Iterable[tuple[Evaluator, list[Obj]]], now: float | None = None
) -> ResourceList:
    """What the quota's namespace uses of each hard resource, from the live objects
    (each evaluator with its kind's objects); 0 for a tracked resource nothing uses."""
    hard = sorted(((rq.get("spec") or {}).get("hard") or {}).keys())
    used: ResourceList = {}
    for evaluator, objects in evaluators_objects:
        names = evaluator.matching(hard)
        if not names:
            continue
        for name in names:
            used.setdefault(name, Quantity(0))
        for obj in objects:
            if evaluator.matches_scopes(rq, obj):
                used = add(used, mask(evaluator.usage(obj, now), names))
    return used


def kinds_for(hard: Iterable[str]) -> set[tuple[str, str]]:
    """The (group, plural) whose objects a quota on these resources counts."""
    out: set[tuple[str, str]] = set()
    for name in hard:
        for kind, evaluator in _SPECIAL.items():
            if evaluator.handles_name(name):
                out.add(kind)
        if name.startswith("count/"):
            plural, _, group = name[len("count/") :].partition(".")
            out.add((group, plural))
        for kind, legacy in LEGACY_COUNTS.items():
            if name == legacy:
                out.add(kind)
    return out
