"""From the metrics' proposal to the replica count the HPA sets (horizontal.go's
normalizeDesiredReplicas and normalizeDesiredReplicasWithBehaviors), pure.

Without `behavior`: the highest recommendation of the downscale stabilization window
(the controller flag), then minReplicas/maxReplicas and the scale-up limit
max(2×current, 4). With `behavior`: the scale-up window keeps the lowest
recommendation of its window, the scale-down window the highest; then the policies
limit how much may change per period, counting the scale events the controller
remembers, selected by `selectPolicy`. Each step says why, as the AbleToScale and
ScalingLimited conditions' reason and message.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

Obj = dict[str, Any]
SCALE_UP_LIMIT_FACTOR = 2.0
SCALE_UP_LIMIT_MINIMUM = 4.0


@dataclass(frozen=True)
class Recommendation:
    replicas: int
    timestamp: float


@dataclass(frozen=True)
class ScaleEvent:
    change: int  # absolute number of replicas added or removed
    timestamp: float


@dataclass
class History:
    """What the controller remembers of one HPA between syncs."""

    recommendations: list[Recommendation] = field(default_factory=list)
    scale_up_events: list[ScaleEvent] = field(default_factory=list)
    scale_down_events: list[ScaleEvent] = field(default_factory=list)


@dataclass(frozen=True)
class Outcome:
    replicas: int
    able_reason: str
    able_message: str
    limited: bool
    limited_reason: str
    limited_message: str


WITHIN_RANGE = ("DesiredWithinRange", "the desired count is within the acceptable range")
TOO_FEW = ("TooFewReplicas", "the desired replica count is less than the minimum replica count")
TOO_MANY = ("TooManyReplicas", "the desired replica count is more than the maximum replica count")
UP_LIMIT = (
    "ScaleUpLimit",
    "the desired replica count is increasing faster than the maximum scale rate",
)
DOWN_LIMIT = (
    "ScaleDownLimit",
    "the desired replica count is decreasing faster than the maximum scale rate",
)
READY = ("ReadyForNewScale", "recommended size matches current size")


def _outcome(stabilized: int, able: tuple[str, str], final: int, why: tuple[str, str]) -> Outcome:
    return Outcome(final, able[0], able[1], final != stabilized, why[0], why[1])


def normalize(
    history: History,
    current: int,
    desired: int,
    min_replicas: int,
    max_replicas: int,
    window: float,
    now: float,
) -> Outcome:
    """No behavior: stabilize scale-downs over `window` seconds, then the bounds."""
    stabilized = desired
    kept = []
    for rec in history.recommendations:
        if rec.timestamp > now - window:
            stabilized = max(stabilized, rec.replicas)
            kept.append(rec)
    history.recommendations = [*kept, Recommendation(desired, now)]
    able = READY
    if stabilized != desired:
        able = (
            "ScaleDownStabilized",
            "recent recommendations were higher than current one, applying the highest "
            "recent recommendation",
        )
    scale_up_limit = int(max(SCALE_UP_LIMIT_FACTOR * current, SCALE_UP_LIMIT_MINIMUM))
    if max_replicas > scale_up_limit:
        maximum, over = scale_up_limit, UP_LIMIT
    else:
        maximum, over = max_replicas, TOO_MANY
    if stabilized < min_replicas:
        return _outcome(stabilized, able, min_replicas, TOO_FEW)
    if stabilized > maximum:
        return _outcome(stabilized, able, maximum, over)
    return _outcome(stabilized, able, stabilized, WITHIN_RANGE)


def _changes(period: float, events: list[ScaleEvent], now: float) -> int:
    return sum(e.change for e in events if e.timestamp > now - period)


def scale_up_limit(current: int, history: History, rules: Obj, now: float) -> int:
    policy = rules.get("selectPolicy") or "Max"
    if policy == "Disabled":
        return current
    pick = min if policy == "Min" else max
    result: int | None = None
    for p in rules.get("policies") or []:
        period = float(p.get("periodSeconds") or 0)
        start = (
            current
            - _changes(period, history.scale_up_events, now)
            + _changes(period, history.scale_down_events, now)
        )
        value = int(p.get("value") or 0)
        if p.get("type") == "Pods":
            proposed = start + value
        else:
            proposed = math.ceil(start * (1 + value / 100))
        result = proposed if result is None else pick(result, proposed)
    return current if result is None else result


def scale_down_limit(current: int, history: History, rules: Obj, now: float) -> int:
    policy = rules.get("selectPolicy") or "Max"
    if policy == "Disabled":
        return current
    # For scaling down the smallest change (Min) is the highest count.
    pick = max if policy == "Min" else min
    result: int | None = None
    for p in rules.get("policies") or []:
        period = float(p.get("periodSeconds") or 0)
        start = (
            current
            - _changes(period, history.scale_up_events, now)
            + _changes(period, history.scale_down_events, now)
        )
        value = int(p.get("value") or 0)
        proposed = start - value if p.get("type") == "Pods" else int(start * (1 - value / 100))
        result = proposed if result is None else pick(result, proposed)
    return current if result is None else result


def normalize_with_behavior(
    history: History,
    current: int,
    desired: int,
    min_replicas: int,
    max_replicas: int,
    behavior: Obj,
    default_down_window: float,
    now: float,
) -> Outcome:
    up = behavior.get("scaleUp") or {}
    down = behavior.get("scaleDown") or {}
    up_window = float(up.get("stabilizationWindowSeconds") or 0)
    down_window_raw = down.get("stabilizationWindowSeconds")
    down_window = float(default_down_window if down_window_raw is None else down_window_raw)
    up_rec = down_rec = desired
    kept = []
    longest = max(up_window, down_window)
    for rec in history.recommendations:
        if rec.timestamp > now - up_window:
            up_rec = min(up_rec, rec.replicas)
        if rec.timestamp > now - down_window:
            down_rec = max(down_rec, rec.replicas)
        if rec.timestamp > now - longest:
            kept.append(rec)
    history.recommendations = [*kept, Recommendation(desired, now)]
    stabilized = current
    if stabilized < up_rec:
        stabilized = up_rec
    if stabilized > down_rec:
        stabilized = down_rec
    able = READY
    if stabilized != desired:
        if stabilized < desired:
            able = (
                "ScaleUpStabilized",
                "recent recommendations were lower than current one, applying the lowest "
                "recent recommendation",
            )
        else:
            able = (
                "ScaleDownStabilized",
                "recent recommendations were higher than current one, applying the highest "
                "recent recommendation",
            )
    if stabilized > current:
        limit = max(scale_up_limit(current, history, up, now), current)
        maximum, why = (limit, UP_LIMIT) if max_replicas > limit else (max_replicas, TOO_MANY)
        if stabilized > maximum:
            return _outcome(stabilized, able, maximum, why)
    elif stabilized < current:
        limit = min(scale_down_limit(current, history, down, now), current)
        minimum, why = (limit, DOWN_LIMIT) if min_replicas < limit else (min_replicas, TOO_FEW)
        if stabilized < minimum:
            return _outcome(stabilized, able, minimum, why)
    return _outcome(stabilized, able, stabilized, WITHIN_RANGE)


def record_scale(
    history: History, before: int, after: int, behavior: Obj | None, now: float
) -> None:
    """Remember a scaling for the policies' periods (the longest one is kept)."""
    longest = 0.0
    for direction in ("scaleUp", "scaleDown"):
        for p in ((behavior or {}).get(direction) or {}).get("policies") or []:
            longest = max(longest, float(p.get("periodSeconds") or 0))
    history.scale_up_events = [e for e in history.scale_up_events if e.timestamp > now - longest]
    history.scale_down_events = [
        e for e in history.scale_down_events if e.timestamp > now - longest
    ]
    if after > before:
        history.scale_up_events.append(ScaleEvent(after - before, now))
    elif after < before:
        history.scale_down_events.append(ScaleEvent(before - after, now))
