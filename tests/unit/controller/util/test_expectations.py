"""Expectations: creations and deletions a controller waits to observe, and their expiry."""

from __future__ import annotations

from controller.util.expectations import Expectations


def test_expectations_hold_until_observed():
    exp = Expectations()
    assert exp.satisfied("ns/rs")
    exp.expect_creations("ns/rs", 2)
    assert not exp.satisfied("ns/rs")
    exp.creation_observed("ns/rs")
    assert not exp.satisfied("ns/rs")
    exp.creation_observed("ns/rs")
    assert exp.satisfied("ns/rs")


def test_deletions_count_once_per_pod():
    exp = Expectations()
    exp.expect_deletions("ns/rs", ["ns/a", "ns/b"])
    exp.deletion_observed("ns/rs", "ns/a")
    exp.deletion_observed("ns/rs", "ns/a")  # update then delete of the same pod
    exp.deletion_observed("ns/rs", "ns/other")
    assert exp.pending("ns/rs") == (0, 1) and not exp.satisfied("ns/rs")
    exp.deletion_observed("ns/rs", "ns/b")
    assert exp.satisfied("ns/rs")


def test_expectations_expire():
    now = [0.0]
    exp = Expectations(timeout=300, clock=lambda: now[0])
    exp.expect_creations("k", 1)
    now[0] = 299
    assert not exp.satisfied("k")
    now[0] = 301
    assert exp.satisfied("k")
    exp.forget("k")
    assert exp.pending("k") == (0, 0)
