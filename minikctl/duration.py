"""Go durations (`30s`, `1m30s`, `500ms`), which kubectl's --timeout and --since take,
and their printing, which its messages use ("global timeout reached: 1m0s")."""

from __future__ import annotations

import argparse
import re

_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def parse_duration(text: str) -> float:
    """Seconds from a Go duration; a bare number is taken as seconds (kubectl refuses it,
    but nobody means anything else by `--timeout=5`)."""
    value = text.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        if seconds < 0:
            raise argparse.ArgumentTypeError(f"invalid duration {text!r}: negative")
        return seconds
    sign = -1.0 if value.startswith("-") else 1.0
    rest = value.lstrip("+-")
    total, pos = 0.0, 0
    while pos < len(rest):
        match = _PART.match(rest, pos)
        if not match:
            raise argparse.ArgumentTypeError(f'invalid duration "{text}"')
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if not rest:
        raise argparse.ArgumentTypeError(f'invalid duration "{text}"')
    return sign * total


def format_duration(seconds: float) -> str:
    """Go's time.Duration.String(): `0s`, `500ms`, `20s`, `1m0s`, `1h2m3s`."""
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
