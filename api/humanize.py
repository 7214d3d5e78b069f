"""Human-readable forms shared by the server's Tables and the CLI, worded as Kubernetes
prints them: ages (`5s`, `2m3s`, `3h4m`, `5d`, `2y30d`) and label sets (`k=v,k2=v2`).
Timestamps themselves are api.timefmt's; a selector's string form is api.labels'."""

from __future__ import annotations

import time
from collections.abc import Mapping

from api.timefmt import parse_time


def human_duration(seconds: float) -> str:
    """Kubernetes' `duration.HumanDuration`: coarser the older it gets (5s, 2m3s, 10m, 3h4m,
    5d, 2y30d). Up to 2s in the future counts as now (clock skew)."""
    secs = int(seconds)
    if secs < -1:
        return "<invalid>"
    if secs < 0:
        return "0s"
    if secs < 120:
        return f"{secs}s"
    minutes = secs // 60
    if minutes < 10:
        return _units(minutes, "m", secs % 60, "s")
    if minutes < 180:
        return f"{minutes}m"
    hours = secs // 3600
    if hours < 8:
        return _units(hours, "h", minutes % 60, "m")
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        return _units(hours // 24, "d", hours % 24, "h")
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        return _units(hours // 24 // 365, "y", (hours // 24) % 365, "d")
    return f"{hours // 24 // 365}y"


def _units(whole: int, unit: str, rest: int, rest_unit: str) -> str:
    """`3h` or `3h4m`: the smaller unit only when there is some of it."""
    return f"{whole}{unit}" if rest == 0 else f"{whole}{unit}{rest}{rest_unit}"


def age(timestamp: str | None, now: float | None = None) -> str:
    """Kubernetes' `translateTimestampSince`: `<unknown>` for a zero timestamp."""
    then = parse_time(timestamp)
    if then is None:
        return "<unknown>"
    return human_duration((time.time() if now is None else now) - then)


def format_labels(labels: Mapping[str, str] | None) -> str:
    """`k=v,k2=v2` sorted by key, `<none>` when empty (labels.FormatLabels)."""
    text = ",".join(f"{k}={v}" for k, v in sorted((labels or {}).items()))
    return text or "<none>"
