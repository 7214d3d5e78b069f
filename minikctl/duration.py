"""The argparse type of kubectl's duration flags (--timeout, --since): api.timefmt's one
Go-duration parser, with kubectl's error wording."""

from __future__ import annotations

import argparse

from api.timefmt import parse_duration


def duration_arg(text: str) -> float:
    """Seconds from a Go duration or a bare number of seconds (kubectl refuses the bare
    number, but nobody means anything else by `--timeout=5`)."""
    try:
        seconds = parse_duration(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'invalid duration "{text}"') from None
    if seconds < 0 and _is_number(text):
        raise argparse.ArgumentTypeError(f"invalid duration {text!r}: negative")
    return seconds


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
