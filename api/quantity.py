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


# --- printing, as resource.Quantity.String() does -----------------------------------------

DECIMAL_SI, BINARY_SI, DECIMAL_EXPONENT = "DecimalSI", "BinarySI", "DecimalExponent"

_DECIMAL_SUFFIXES = {-9: "n", -6: "u", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P"}
_DECIMAL_SUFFIXES[18] = "E"
_BINARY_SUFFIXES = {0: "", 10: "Ki", 20: "Mi", 30: "Gi", 40: "Ti", 50: "Pi", 60: "Ei"}
_NANO = Decimal("1e-9")


def quantity_format(text: object) -> str:
    """The format a quantity was written in, which its sums and prints keep: `1Gi` is
    BinarySI, `1e3` DecimalExponent, everything else (and JSON numbers) DecimalSI."""
    if not isinstance(text, str):
        return DECIMAL_SI
    match = _NUMBER.fullmatch(text)
    suffix = match.group(2) if match else ""
    if suffix.endswith("i"):
        return BINARY_SI
    if suffix[:1] in ("e", "E"):
        return DECIMAL_EXPONENT
    return DECIMAL_SI


def format_quantity(value: Decimal, fmt: str = DECIMAL_SI) -> str:
    """Kubernetes' canonical text of a quantity (Quantity.CanonicalizeBytes): values are
    rounded up to nano units; BinarySI uses the largest power-of-1024 suffix that keeps
    an integer, but falls back to decimal below 1024 or for fractions (so 1000 of a
    BinarySI quantity prints `1k`); decimal forms use a mantissa with an exponent that is
    a multiple of 3."""
    value = (value / _NANO).to_integral_value(rounding="ROUND_CEILING") * _NANO
    if value == 0:
        return "0"
    if fmt == BINARY_SI and abs(value) >= 1024 and value == value.to_integral_value():
        number, exponent = int(value), 0
        while number % 1024 == 0 and exponent < 60:
            number //= 1024
            exponent += 10
        return f"{number}{_BINARY_SUFFIXES[exponent]}"
    sign, digits, exp = value.normalize().as_tuple()
    mantissa = int("".join(map(str, digits)))
    exponent = int(exp)
    while exponent % 3:
        mantissa *= 10
        exponent -= 1
    while exponent > 18:  # beyond the largest suffix, keep the digits
        mantissa *= 1000
        exponent -= 3
    text = f"{'-' if sign else ''}{mantissa}"
    if fmt == DECIMAL_EXPONENT:
        return text + (f"e{exponent}" if exponent else "")
    return text + _DECIMAL_SUFFIXES[exponent]


class Quantity:
    """A parsed quantity that remembers its format, so sums print the way Kubernetes
    prints them (the format of the first non-zero term, as Quantity.Add)."""

    __slots__ = ("format", "value")

    def __init__(self, value: Decimal | int = 0, fmt: str = DECIMAL_SI) -> None:
        self.value = Decimal(value)
        self.format = fmt

    @classmethod
    def parse(cls, text: str | int | float) -> Quantity:
        """Raises QuantityError for what is not a quantity."""
        return cls(parse_quantity(text), quantity_format(text))

    def __add__(self, other: Quantity) -> Quantity:
        fmt = other.format if self.value == 0 else self.format
        return Quantity(self.value + other.value, fmt)

    def __sub__(self, other: Quantity) -> Quantity:
        fmt = other.format if self.value == 0 else self.format
        return Quantity(self.value - other.value, fmt)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Quantity) and self.value == other.value

    def __hash__(self) -> int:
        return hash(self.value)

    def __lt__(self, other: Quantity) -> bool:
        return self.value < other.value

    def __le__(self, other: Quantity) -> bool:
        return self.value <= other.value

    def __str__(self) -> str:
        return format_quantity(self.value, self.format)

    def __repr__(self) -> str:
        return f"Quantity({str(self)!r})"
