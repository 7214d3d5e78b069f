"""Kubernetes timestamps, one way for every component: RFC 3339 with whole seconds
for metadata, conditions and taints (`2024-05-01T12:00:00Z`), MicroTime for Lease
renewals (`…:00.123456Z`); compared as epoch seconds. Go durations for flags, and their
printing ("1m0s")."""

from __future__ import annotations

import math
import re
import time
from datetime import UTC, datetime

_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?([Zz]|[+-]\d\d:\d\d)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


_last_second: tuple[int, str] = (0, "1970-01-01T00:00:00Z")


def rfc3339(epoch: float | None = None) -> str:
    """Whole-second UTC time, as metav1.Time serialises (the last second's text kept:
    every create stamps one)."""
    global _last_second
    if epoch is None:
        epoch = time.time()
    second = math.floor(epoch)
    whole = epoch - second < 0.9999995  # else datetime rounds it up to the next second
    if whole and second == _last_second[0]:
        return _last_second[1]
    text = datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if whole:
        _last_second = (second, text)
    return text


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
    """Seconds of a Go duration (`40s`, `1m30s`, `500ms`, `.5s`, `-2h`), as Go's
    time.ParseDuration reads it; a bare number is seconds. Raises ValueError for anything
    else. Callers that need another exception (argparse) wrap this one parser."""
    value = text.strip()
    try:
        return float(value)
    except ValueError:
        pass
    sign = -1.0 if value.startswith("-") else 1.0
    rest = value[1:] if value[:1] in ("+", "-") else value
    total, pos = 0.0, 0
    while pos < len(rest):
        match = _DURATION_PART.match(rest, pos)
        if not match:
            raise ValueError(f"invalid duration {text!r}")
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if not rest:
        raise ValueError(f"invalid duration {text!r}")
    return sign * total


def format_duration(seconds: float) -> str:
    """Go's time.Duration.String(), which kubectl's messages print ("global timeout
    reached: 1m0s"): `0s`, `500ms`, `20s`, `1m0s`, `1h2m3s`."""
    if seconds == 0:
        return "0s"
    if seconds < 1:
        ms = seconds * 1000
        return f"{ms:g}ms" if ms >= 1 else f"{seconds * 1e6:g}µs"
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = f"{secs:g}s"
    if hours:
        return f"{int(hours)}h{int(minutes)}m{text}"
    if minutes:
        return f"{int(minutes)}m{text}"
    return text
