"""controller.job.successpolicy: which successPolicy rule an Indexed Job meets."""

from __future__ import annotations

from typing import Any

from controller.job.successpolicy import matched


def job(*rules: dict[str, Any]) -> dict:
    spec: dict[str, Any] = {"completions": 5, "completionMode": "Indexed"}
    if rules:
        spec["successPolicy"] = {"rules": list(rules)}
    return {"spec": spec}


def test_no_policy_or_nothing_succeeded():
    assert matched(job(), {0, 1, 2, 3, 4}) is None
    assert matched(job({"succeededCount": 1}), set()) is None


def test_succeeded_indexes_all_of_them():
    policy = job({"succeededIndexes": "0,2-3"})
    assert matched(policy, {0, 2}) is None
    assert matched(policy, {0, 2, 3}) == "Matched rules at index 0"


def test_succeeded_indexes_with_a_count():
    policy = job({"succeededIndexes": "1-4", "succeededCount": 2})
    assert matched(policy, {0, 1}) is None  # index 0 is not one of the rule's
    assert matched(policy, {1, 4}) == "Matched rules at index 0"


def test_succeeded_count_alone_and_the_first_rule_that_holds():
    policy = job({"succeededIndexes": "4"}, {"succeededCount": 2})
    assert matched(policy, {0}) is None
    assert matched(policy, {0, 1}) == "Matched rules at index 1"
    assert matched(policy, {4}) == "Matched rules at index 0"


def test_indexes_beyond_completions_are_ignored():
    assert matched(job({"succeededIndexes": "7-9"}), {0, 1, 2, 3, 4}) is None
