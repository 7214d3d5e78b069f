"""NodeAffinity: node selectors, required and preferred node affinity (pure logic)."""

from __future__ import annotations

from typing import Any

import pytest

from scheduler.framework import filter_applies, score_applies
from scheduler.plugins.node_affinity import NodeAffinity
from tests.unit.scheduler.plugins.builders import node, pod, reasons

SSD = node("ssd-1", labels={"disk": "ssd", "cores": "16", "zone": "a"})
HDD = node("hdd-1", labels={"disk": "hdd", "cores": "4"})
AFFINITY_REASON = ("node(s) didn't match Pod's node affinity/selector",)


def required(*terms: dict) -> dict:
    return {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": list(terms)}
        }
    }


def expr(key: str, operator: str, *values: str) -> dict:
    e: dict[str, Any] = {"key": key, "operator": operator}
    if values:
        e["values"] = list(values)
    return e


def test_node_selector_must_match_every_label():
    plugin = NodeAffinity()
    p = pod(nodeSelector={"disk": "ssd"})
    assert plugin.filter(p, SSD) is None
    assert reasons(plugin.filter(p, HDD)) == AFFINITY_REASON
    assert reasons(plugin.filter(pod(nodeSelector={"disk": "ssd", "zone": "b"}), SSD))


@pytest.mark.parametrize(
    ("expression", "matches_ssd", "matches_hdd"),
    [
        (expr("disk", "In", "ssd", "nvme"), True, False),
        (expr("disk", "NotIn", "ssd"), False, True),
        (expr("zone", "Exists"), True, False),
        (expr("zone", "DoesNotExist"), False, True),
        (expr("cores", "Gt", "8"), True, False),
        (expr("cores", "Lt", "8"), False, True),
        (expr("cores", "Gt", "many"), False, False),  # invalid: the term matches nothing
    ],
)
def test_required_node_affinity_operators(expression, matches_ssd, matches_hdd):
    plugin = NodeAffinity()
    p = pod(affinity=required({"matchExpressions": [expression]}))
    assert (plugin.filter(p, SSD) is None) is matches_ssd
    assert (plugin.filter(p, HDD) is None) is matches_hdd


def test_terms_are_ored_and_expressions_within_a_term_anded():
    plugin = NodeAffinity()
    both = pod(
        affinity=required(
            {"matchExpressions": [expr("disk", "In", "ssd"), expr("cores", "Lt", "8")]}
        )
    )
    assert reasons(plugin.filter(both, SSD)) == AFFINITY_REASON
    either = pod(
        affinity=required(
            {"matchExpressions": [expr("disk", "In", "ssd")]},
            {"matchExpressions": [expr("cores", "Lt", "8")]},
        )
    )
    assert plugin.filter(either, SSD) is None and plugin.filter(either, HDD) is None


def test_match_fields_select_by_node_name_and_empty_terms_match_nothing():
    plugin = NodeAffinity()
    by_name = pod(
        affinity=required(
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["hdd-1"]}]}
        )
    )
    assert plugin.filter(by_name, HDD) is None
    assert reasons(plugin.filter(by_name, SSD)) == AFFINITY_REASON
    empty = pod(affinity=required({}))
    assert reasons(plugin.filter(empty, SSD)) == AFFINITY_REASON


def test_node_selector_and_required_affinity_must_both_hold():
    plugin = NodeAffinity()
    p = pod(
        nodeSelector={"disk": "ssd"},
        affinity=required({"matchExpressions": [expr("cores", "Lt", "8")]}),
    )
    assert plugin.filter(p, SSD) is not None and plugin.filter(p, HDD) is not None


def test_pods_without_selector_or_affinity_skip_the_filter_and_score():
    plugin = NodeAffinity()
    assert not filter_applies(plugin, pod())
    assert not score_applies(plugin, pod())


def test_preferred_affinity_scores_by_summed_weights_of_matching_terms():
    plugin = NodeAffinity()
    p = pod(
        affinity={
            "nodeAffinity": {
                "preferredDuringSchedulingIgnoredDuringExecution": [
                    {"weight": 80, "preference": {"matchExpressions": [expr("disk", "In", "ssd")]}},
                    {"weight": 20, "preference": {"matchExpressions": [expr("cores", "Exists")]}},
                ]
            }
        }
    )
    plain = node("plain")
    scores = [plugin.score(p, n) for n in (SSD, HDD, plain)]
    assert scores == [100, 20, 0]
    plugin.normalize(p, scores)
    assert scores == [100, 20, 0]
    assert plugin.filter(p, plain) is None  # preferences never filter
