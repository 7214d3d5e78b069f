"""A pod's resource requests as plain ints (millicores for cpu, units for the rest),
computed once per pod so that the per-node checks are integer comparisons."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from api.quantity import QuantityError, parse_quantity

CPU, MEMORY, PODS, EPHEMERAL_STORAGE = "cpu", "memory", "pods", "ephemeral-storage"

# Kubernetes' defaults for a container that requests nothing, used only for scoring
# so that many request-less pods do not all pile up on one node.
DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024


def to_int(name: str, value: Any) -> int:
    """cpu in millicores, everything else in whole units, rounded up (Kubernetes'
    MilliValue / Value); an unparseable value counts as 0."""
    try:
        q = parse_quantity(value)
    except QuantityError:
        return 0
    return math.ceil(q * 1000) if name == CPU else math.ceil(q)


def parse_resource_list(resources: Mapping[str, Any] | None) -> dict[str, int]:
    return {name: to_int(name, value) for name, value in (resources or {}).items()}


def _container_requests(container: Mapping[str, Any]) -> dict[str, int]:
    return parse_resource_list((container.get("resources") or {}).get("requests"))


def _add(into: dict[str, int], more: Mapping[str, int]) -> None:
    for name, value in more.items():
        into[name] = into.get(name, 0) + value


def _max(into: dict[str, int], other: Mapping[str, int]) -> None:
    for name, value in other.items():
        if value > into.get(name, 0):
            into[name] = value


def pod_requests(spec: Mapping[str, Any]) -> dict[str, int]:
    """What the pod needs from a node, as Kubernetes computes it: the sum of the app
    containers (plus restartable "sidecar" init containers), or the largest init
    container step if that is larger, plus the pod overhead."""
    return _effective(spec, _container_requests)


def pod_non_zero_requests(spec: Mapping[str, Any]) -> tuple[int, int]:
    """(millicpu, memory) with Kubernetes' per-container defaults for missing values;
    scores use these so that request-less pods still spread."""

    def non_zero(container: Mapping[str, Any]) -> dict[str, int]:
        requests = _container_requests(container)  # unset gets the default, 0 stays 0
        return {
            CPU: requests.get(CPU, DEFAULT_MILLI_CPU_REQUEST),
            MEMORY: requests.get(MEMORY, DEFAULT_MEMORY_REQUEST),
        }

    total = _effective(spec, non_zero)
    return total.get(CPU, 0), total.get(MEMORY, 0)


def _effective(spec: Mapping[str, Any], per_container) -> dict[str, int]:
    containers: Iterable[Mapping[str, Any]] = spec.get("containers") or []
    total: dict[str, int] = {}
    for c in containers:
        _add(total, per_container(c))
    sidecars: dict[str, int] = {}
    init_peak: dict[str, int] = {}
    for c in spec.get("initContainers") or []:
        requests = per_container(c)
        if c.get("restartPolicy") == "Always":  # a sidecar keeps running beside the app
            _add(sidecars, requests)
            _max(init_peak, sidecars)
        else:
            step = dict(sidecars)
            _add(step, requests)
            _max(init_peak, step)
    _add(total, sidecars)
    _max(total, init_peak)
    _add(total, parse_resource_list(spec.get("overhead")))
    return total
