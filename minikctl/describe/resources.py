"""Sums of pod resource requests and limits, printed as Kubernetes prints quantities
(`100m`, `64Mi`, `0`) with a share of the node's allocatable — for `describe node`."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from api.quantity import BINARY_SI, DECIMAL_SI, QuantityError, parse_quantity
from api.quantity import format_quantity as api_format_quantity

Obj = dict[str, Any]


@dataclass
class Amount:
    """A running total that prints in the format of its first term, as Quantity.Add does."""

    value: Decimal = Decimal(0)
    binary: bool | None = None

    def add(self, text: Any) -> None:
        try:
            value = parse_quantity(text)
        except QuantityError:
            return
        if self.binary is None:
            self.binary = isinstance(text, str) and text.endswith("i")
        self.value += value

    def __str__(self) -> str:
        return format_quantity(self.value, bool(self.binary))


def format_quantity(value: Decimal, binary: bool = False) -> str:
    """Kubernetes' canonical quantity text (api.quantity.format_quantity)."""
    return api_format_quantity(value, BINARY_SI if binary else DECIMAL_SI)


def pod_totals(pod: Obj) -> tuple[dict[str, Amount], dict[str, Amount]]:
    """(requests, limits) of a pod: the sum over its containers, at least the largest
    init container's (kubectl's PodRequestsAndLimits, without overhead)."""
    spec = pod.get("spec") or {}
    totals: tuple[dict[str, Amount], dict[str, Amount]] = ({}, {})
    for container in spec.get("containers") or []:
        resources = container.get("resources") or {}
        for total, key in zip(totals, ("requests", "limits"), strict=True):
            for name, text in (resources.get(key) or {}).items():
                total.setdefault(name, Amount()).add(text)
    for container in spec.get("initContainers") or []:
        resources = container.get("resources") or {}
        for total, key in zip(totals, ("requests", "limits"), strict=True):
            for name, text in (resources.get(key) or {}).items():
                init = Amount()
                init.add(text)
                if name not in total or init.value > total[name].value:
                    total[name] = init
    return totals


def share(amount: Amount, allocatable: Any) -> str:
    """`100m (2%)`: the amount and its whole percent of the allocatable quantity."""
    try:
        whole = parse_quantity(allocatable) if allocatable is not None else Decimal(0)
    except QuantityError:
        whole = Decimal(0)
    percent = int(amount.value / whole * 100) if whole else 0
    return f"{amount} ({percent}%)"
