"""Zone states, eviction rates and the token bucket of the node lifecycle controller,
with a fake clock."""

from __future__ import annotations

import math

from controller.nodelifecycle.zones import (
    FULL_DISRUPTION,
    NORMAL,
    PARTIAL_DISRUPTION,
    EvictionPolicy,
    TokenBucket,
    Zones,
    zone_key,
    zone_state,
)


def node(ready: str | None, zone: str = "") -> dict:
    labels = {"topology.kubernetes.io/zone": zone} if zone else {}
    conditions = [] if ready is None else [{"type": "Ready", "status": ready}]
    return {"metadata": {"labels": labels}, "status": {"conditions": conditions}}


def test_zone_state_follows_kubernetes_thresholds():
    assert zone_state([node("True"), node("Unknown")], 0.55) == NORMAL
    assert zone_state([node("Unknown"), node("False"), node(None)], 0.55) == FULL_DISRUPTION
    two_of_three = [node("Unknown"), node("Unknown"), node("True")]
    assert zone_state(two_of_three, 0.55) == NORMAL  # never partial with two or fewer
    three_of_five = [node("Unknown")] * 3 + [node("True")] * 2
    assert zone_state(three_of_five, 0.55) == PARTIAL_DISRUPTION
    assert zone_state(three_of_five, 0.7) == NORMAL


def test_zones_group_by_labels_and_master_disruption_needs_every_zone_down():
    assert zone_key(node("True")) == ""
    assert zone_key(node("True", "a")) == ":\x00:a"
    zones = Zones.of([node("Unknown", "a"), node("True", "b")], 0.55)
    assert zones.states == {":\x00:a": FULL_DISRUPTION, ":\x00:b": NORMAL}
    assert not zones.all_fully_disrupted
    assert Zones.of([node("Unknown", "a"), node("False", "b")], 0.55).all_fully_disrupted
    assert not Zones.of([], 0.55).all_fully_disrupted


def test_eviction_rate_by_state_and_size():
    policy = EvictionPolicy()
    assert policy.rate(NORMAL, 3) == 0.1
    assert policy.rate(FULL_DISRUPTION, 3) == 0.1  # one zone of several is down
    assert policy.rate(PARTIAL_DISRUPTION, 50) == 0.0
    assert policy.rate(PARTIAL_DISRUPTION, 51) == 0.01


def test_token_bucket_passes_one_then_waits_and_rate_zero_stops_all():
    now = [100.0]
    bucket = TokenBucket(0.5, clock=lambda: now[0])
    assert bucket.try_take() == 0.0
    assert bucket.try_take() == 2.0
    now[0] += 1.0
    assert bucket.try_take() == 1.0
    now[0] += 1.0
    assert bucket.try_take() == 0.0
    now[0] += 10.0  # a full token saved up...
    bucket.set_rate(0.0)
    assert bucket.try_take() == math.inf  # ...does not pass at rate 0
