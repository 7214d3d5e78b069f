"""Timestamps as Kubernetes writes them, and Docker's as the kubelet reads them.

Pod status times are RFC 3339 with whole seconds (`2024-05-01T12:00:00Z`); Lease
renew times are MicroTime (`…:00.123456Z`). Docker reports nanoseconds, and
`0001-01-01T00:00:00Z` for "never"."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

_NEVER_YEAR = "0001-"
_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?([Zz]|[+-]\d\d:\d\d)")


def rfc3339(epoch: float | None = None) -> str:
    moment = datetime.fromtimestamp(time.time() if epoch is None else epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def micro_time(epoch: float | None = None) -> str:
    moment = datetime.fromtimestamp(time.time() if epoch is None else epoch, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_docker_time(text: str | None) -> float | None:
    """Epoch seconds of a Docker/RFC 3339 timestamp; None for empty or Docker's zero time."""
    if not text or text.startswith(_NEVER_YEAR):
        return None
    match = _RFC3339.fullmatch(text.strip())
    if not match:
        return None
    head, fraction, zone = match.groups()
    try:
        moment = datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None
    offset = 0
    if zone not in ("Z", "z"):
        sign = 1 if zone[0] == "+" else -1
        offset = sign * (int(zone[1:3]) * 3600 + int(zone[4:6]) * 60)
    return moment.timestamp() + (float(fraction) if fraction else 0.0) - offset


def parse_rfc3339(text: str | None) -> float | None:
    if not text:
        return None
    return parse_docker_time(text)
