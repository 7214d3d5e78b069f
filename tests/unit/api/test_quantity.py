from decimal import Decimal

import pytest

from api.quantity import QUANTITY_ERROR, QuantityError, is_quantity, parse_quantity


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1", Decimal(1)),
        ("500m", Decimal("0.5")),
        ("0.5", Decimal("0.5")),
        ("1.5", Decimal("1.5")),
        (".5", Decimal("0.5")),
        ("100n", Decimal("1E-7")),
        ("3u", Decimal("0.000003")),
        ("2k", Decimal(2000)),
        ("1M", Decimal(10**6)),
        ("1G", Decimal(10**9)),
        ("1T", Decimal(10**12)),
        ("1P", Decimal(10**15)),
        ("1E", Decimal(10**18)),
        ("1Ki", Decimal(1024)),
        ("128Mi", Decimal(128 * 2**20)),
        ("1.5Gi", Decimal(3 * 2**29)),
        ("1Ti", Decimal(2**40)),
        ("1Pi", Decimal(2**50)),
        ("1Ei", Decimal(2**60)),
        ("1e3", Decimal(1000)),
        ("1E3", Decimal(1000)),
        ("12e-3", Decimal("0.012")),
        ("+2", Decimal(2)),
        ("-1", Decimal(-1)),
    ],
)
def test_parses_suffixes_exactly(text, expected):
    assert parse_quantity(text) == expected


def test_json_numbers_are_quantities():
    assert parse_quantity(2) == Decimal(2)
    assert parse_quantity(0.25) == Decimal("0.25")
    # exact, not binary floating point
    assert parse_quantity("0.1") + parse_quantity("0.2") == Decimal("0.3")


def test_binary_and_decimal_suffixes_differ():
    assert parse_quantity("1Gi") > parse_quantity("1G")
    assert parse_quantity("1000m") == parse_quantity("1")


@pytest.mark.parametrize("bad", ["", "abc", "1x", "1Kb", "1 Gi", "1e", "1.2.3", ".", "m", "1ii"])
def test_rejects_malformed(bad):
    with pytest.raises(QuantityError) as err:
        parse_quantity(bad)
    assert str(err.value) == QUANTITY_ERROR
    assert not is_quantity(bad)


@pytest.mark.parametrize("bad", [True, None, [], {}, float("nan"), float("inf")])
def test_rejects_non_quantity_types(bad):
    with pytest.raises(QuantityError):
        parse_quantity(bad)


@pytest.mark.parametrize(
    ("text", "printed"),
    [
        ("1", "1"),
        ("500m", "500m"),
        ("1.5", "1500m"),
        ("2000", "2k"),
        ("1536", "1536"),
        ("1Gi", "1Gi"),
        ("0.5Gi", "512Mi"),
        ("1536Mi", "1536Mi"),
        ("1e3", "1e3"),
        (0.25, "250m"),
        ("0", "0"),
    ],
)
def test_quantities_print_canonically(text, printed):
    from api.quantity import Quantity

    assert str(Quantity.parse(text)) == printed


def test_binary_quantities_below_1024_print_in_decimal():
    from decimal import Decimal

    from api.quantity import BINARY_SI, format_quantity

    assert format_quantity(Decimal(1000), BINARY_SI) == "1k"
    assert format_quantity(Decimal("0.5"), BINARY_SI) == "500m"
    assert format_quantity(Decimal(3 * 2**30 // 2), BINARY_SI) == "1536Mi"
