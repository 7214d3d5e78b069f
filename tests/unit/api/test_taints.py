"""Toleration matching as Kubernetes does it, and the questions built on it: the
first untolerated taint, and whether a toleration covers a key (admission)."""

from __future__ import annotations

import pytest

from api.taints import (
    NO_EXECUTE,
    NO_SCHEDULE,
    NOT_READY,
    UNREACHABLE,
    covers_key,
    first_untolerated,
    tolerates,
)

GPU = {"key": "dedicated", "value": "gpu", "effect": "NoSchedule"}


@pytest.mark.parametrize(
    ("toleration", "tolerated"),
    [
        ({"key": "dedicated", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}, True),
        ({"key": "dedicated", "value": "gpu"}, True),  # Equal is the default; any effect
        ({"key": "dedicated", "operator": "Exists"}, True),
        ({"operator": "Exists"}, True),  # empty key + Exists tolerates everything
        ({"key": "dedicated", "value": "cpu"}, False),
        ({"key": "dedicated", "value": "gpu", "effect": "NoExecute"}, False),
        ({"key": "other", "operator": "Exists"}, False),
    ],
)
def test_toleration_matching_follows_kubernetes(toleration, tolerated):
    assert tolerates(toleration, GPU) is tolerated


def test_toleration_matching():
    taint = {"key": UNREACHABLE, "effect": "NoExecute"}
    assert tolerates({"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute"}, taint)
    assert tolerates({"operator": "Exists"}, taint)
    assert not tolerates({"key": UNREACHABLE, "operator": "Exists", "effect": "NoSchedule"}, taint)
    assert not tolerates({"key": "other", "operator": "Exists"}, taint)
    valued = {"key": "k", "value": "v", "effect": "NoExecute"}
    assert tolerates({"key": "k", "value": "v"}, valued)
    assert not tolerates({"key": "k", "value": "w", "operator": "Equal"}, valued)


def test_first_untolerated_names_the_taint_that_keeps_the_pod_off():
    maintenance = {"key": "maintenance", "effect": NO_SCHEDULE}
    assert first_untolerated([], []) is None
    assert first_untolerated([], [GPU, maintenance]) is GPU
    assert first_untolerated([{"key": "dedicated", "operator": "Exists"}], [GPU, maintenance]) is (
        maintenance
    )
    assert first_untolerated([{"operator": "Exists"}], [GPU, maintenance]) is None


def test_covers_key_ignores_values_and_other_effects_do_not_count():
    assert covers_key({"key": NOT_READY, "operator": "Exists"}, NOT_READY, NO_EXECUTE)
    assert covers_key({"key": NOT_READY, "value": "x"}, NOT_READY, NO_EXECUTE)
    assert covers_key({"operator": "Exists", "effect": NO_EXECUTE}, UNREACHABLE, NO_EXECUTE)
    assert not covers_key({"key": NOT_READY, "effect": NO_SCHEDULE}, NOT_READY, NO_EXECUTE)
    assert not covers_key({"key": UNREACHABLE, "operator": "Exists"}, NOT_READY, NO_EXECUTE)
