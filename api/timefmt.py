"""Kubernetes timestamps, one way for every component: RFC 3339 with whole seconds
for metadata, conditions and taints (`2024-05-01T12:00:00Z`), MicroTime for Lease
renewals (`…:00.123456Z`); compared as epoch seconds. Go durations for flags."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?([Zz]|[+-]\d\d:\d\d)")


def rfc3339(epoch: float | None = None) -> str:
    """Whole-second UTC time, as metav1.Time serialises."""
    moment = datetime.fromtimestamp(time.time() if epoch is None else epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_time(epoch: float | None = None) -> str:
    """Microsecond UTC time, as metav1.MicroTime serialises (Lease times)."""
    moment = datetime.fromtimestamp(time.time() if epoch is None else epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_time(text: object) -> float | None:
    """Epoch seconds of an RFC 3339 timestamp, or None when absent or malformed."""
    if not isinstance(text, str):
        return None
    match = _RFC3339.fullmatch(text.strip())
    if not match:
        return None
    head, fraction, zone = match.groups()
    try:
        moment = datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None
    seconds = moment.timestamp() + (float(fraction) if fraction else 0.0)
    if zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        hours, minutes = int(zone[1:3]), int(zone[4:6])
        seconds -= sign * (hours * 3600 + minutes * 60)
    return seconds


def parse_duration(text: str) -> float:
    """Seconds of a Go duration (`40s`, `1m30s`, `500ms`, `2h`); a bare number is
    seconds. Raises ValueError for anything else."""
    value = text.strip()
    try:
        return float(value)
    except ValueError:
        pass
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}
    parts = re.findall(r"(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)", value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise ValueError(f"invalid duration {text!r}")
    return sum(float(n) * units[u] for n, u in parts)
