"""Docker's timestamps as the kubelet reads them: RFC 3339 with nanoseconds, and
`0001-01-01T00:00:00Z` for "never". Kubernetes' own formats are in `api.timefmt`."""

from __future__ import annotations

from api.timefmt import parse_time

_NEVER_YEAR = "0001-"


def parse_docker_time(text: str | None) -> float | None:
    """Epoch seconds of a Docker timestamp; None for empty or Docker's zero time."""
    if not text or text.startswith(_NEVER_YEAR):
        return None
    return parse_time(text)
