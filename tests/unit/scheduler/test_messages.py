"""The FailedScheduling message, worded and ordered as kube-scheduler's FitError."""

from __future__ import annotations

from scheduler.framework import Status
from scheduler.messages import NO_NODES_AVAILABLE, fit_error_message

AFFINITY = "node(s) didn't match Pod's node affinity/selector"


def test_the_issue_example_word_for_word():
    statuses = [
        Status(("Insufficient cpu",)),
        Status((AFFINITY,)),
        Status((AFFINITY,)),
    ]
    assert fit_error_message(3, statuses) == (
        "0/3 nodes are available: 1 Insufficient cpu, "
        "2 node(s) didn't match Pod's node affinity/selector."
    )


def test_reasons_are_counted_per_node_and_sorted_as_strings():
    statuses = [
        Status(("Insufficient cpu", "Insufficient memory")),
        Status(("Insufficient memory",)),
        Status(("node(s) had untolerated taint {node.kubernetes.io/not-ready: }",)),
        Status(("Too many pods",)),
    ]
    assert fit_error_message(5, statuses) == (
        "0/5 nodes are available: 1 Insufficient cpu, 1 Too many pods, "
        "1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, "
        "2 Insufficient memory."
    )


def test_sorting_is_by_the_whole_string_so_counts_compare_as_text():
    statuses = [Status(("Insufficient cpu",))] * 10 + [Status(("Too many pods",))] * 2
    assert fit_error_message(12, statuses) == (
        "0/12 nodes are available: 10 Insufficient cpu, 2 Too many pods."
    )


def test_no_nodes_at_all():
    assert fit_error_message(0, []) == NO_NODES_AVAILABLE == "no nodes available to schedule pods"
