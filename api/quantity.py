"""Kubernetes resource quantities ("500m", "1Gi", "1e3", or a bare JSON number) as exact
Decimals, so requests and limits compare without floating-point surprises."""

from __future__ import annotations

import math
import re
from decimal import Decimal

# Kubernetes' own wording for an unparseable quantity.
QUANTITY_ERROR = (
    "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
)

_SUFFIXES: dict[str, Decimal] = {
    "": Decimal(1),
    # decimal SI
    "n": Decimal("1e-9"),
    "u": Decimal("1e-6"),
    "m": Decimal("1e-3"),
    "k": Decimal("1e3"),
    "M": Decimal("1e6"),
    "G": Decimal("1e9"),
    "T": Decimal("1e12"),
    "P": Decimal("1e15"),
    "E": Decimal("1e18"),
    # binary SI
    "Ki": Decimal(2**10),
    "Mi": Decimal(2**20),
    "Gi": Decimal(2**30),
    "Ti": Decimal(2**40),
    "Pi": Decimal(2**50),
    "Ei": Decimal(2**60),
}
_NUMBER = re.compile(r"([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(.*)", re.DOTALL)
_EXPONENT = re.compile(r"[eE]([+-]?[0-9]+)")


class QuantityError(ValueError):
    """A value that is not a Kubernetes quantity; str() is Kubernetes' message."""

    def __init__(self) -> None:
        super().__init__(QUANTITY_ERROR)


def parse_quantity(value: str | int | float) -> Decimal:
    """The exact value of a quantity; raises QuantityError when it does not parse.

    Ints and floats are accepted because Kubernetes' Quantity decodes JSON numbers too
    (`cpu: 0.5` in YAML arrives as a float)."""
    if isinstance(value, bool):
        raise QuantityError()
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise QuantityError()
        return Decimal(repr(value))
    if not isinstance(value, str):
        raise QuantityError()
    match = _NUMBER.fullmatch(value)
    if not match:
        raise QuantityError()
    number, suffix = match.groups()
    multiplier = _SUFFIXES.get(suffix)
    if multiplier is None:
        exponent = _EXPONENT.fullmatch(suffix)
        if not exponent:
            raise QuantityError()
        multiplier = Decimal(10) ** int(exponent.group(1))
    return Decimal(number) * multiplier


def is_quantity(value: object) -> bool:
    try:
        parse_quantity(value)  # type: ignore[arg-type]
    except QuantityError:
        return False
    return True
