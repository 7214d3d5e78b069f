"""Query parameters decoded as kube-apiserver decodes them."""

from __future__ import annotations

import pytest

from apiserver.options import query_flag


@pytest.mark.parametrize("value", ["true", "True", "TRUE", "t", "1", "", "yes"])
def test_anything_but_false_or_zero_is_true(value: str) -> None:
    assert query_flag({"watch": value}, "watch") is True


@pytest.mark.parametrize("value", ["false", "False", "FALSE", "0"])
def test_false_and_zero_are_false(value: str) -> None:
    assert query_flag({"watch": value}, "watch") is False


def test_absent_is_false() -> None:
    assert query_flag({}, "watch") is False
