"""The heads the fast path sees most, read without a full parse: substring searches
on the lower-cased bytes (C speed) find the few fields the proxy needs. Anything
unusual (another HTTP version, a header the proxy must replace or drop, framing other
than one Content-Length, odd whitespace that a full parser would refuse) returns
None, and the caller falls back to `http1`'s full parse. Both must agree on every
head this module accepts: tests/unit/ingress/test_quickhead.py checks that."""

from __future__ import annotations

import re
from typing import NamedTuple

# A request with any of these goes the full way (hop-by-hop, forwarded, framing).
_REQUEST_SLOW = (
    b"\nconnection:",
    b"\nkeep-alive:",
    b"\nproxy-connection:",
    b"\nte:",
    b"\ntrailer:",
    b"\nupgrade:",
    b"\nx-forwarded-",
    b"\nx-real-ip:",
    b"\ntransfer-encoding:",
    b"\nexpect:",
)
_RESPONSE_SLOW = (
    b"\nconnection:",
    b"\nkeep-alive:",
    b"\nproxy-connection:",
    b"\nte:",
    b"\ntrailer:",
    b"\nupgrade:",
    b"\ntransfer-encoding:",
)
# Whitespace before a colon (checked in _slow) or a folded line: the full parser decides.
_ODD_LINE = (b"\n ", b"\n\t")


def _newline_re(markers: tuple[bytes, ...]) -> re.Pattern[bytes]:
    """The markers (each starting with a newline) as one search: a newline, then any of
    their rests. A pattern that starts with one literal lets the regex engine skip from
    newline to newline instead of trying every alternative at every byte (measured 3x
    faster on a browser's head, the same on a short one)."""
    return re.compile(b"\n(?:" + b"|".join(re.escape(m[1:]) for m in markers) + b")")


_REQUEST_SLOW_RE = _newline_re(_REQUEST_SLOW + _ODD_LINE)
_RESPONSE_SLOW_RE = _newline_re(_RESPONSE_SLOW + _ODD_LINE)


def _slow(lower: bytes, pattern: re.Pattern[bytes]) -> bool:
    """Whether a lower-cased head has a marker of `pattern` or odd whitespace."""
    return pattern.search(lower) is not None or b" :" in lower or b"\t:" in lower


class QuickRequest(NamedTuple):
    method: str
    target: str
    host: str
    length: int


def _single_value(head: bytes, lower: bytes, name: bytes) -> bytes | bool | None:
    """The value of a header that appears at most once: None when absent, False when
    it appears twice."""
    key = b"\n" + name + b":"
    i = lower.find(key)
    if i < 0:
        return None
    if lower.find(key, i + 1) >= 0:
        return False
    start = i + len(key)
    return head[start : head.find(b"\r", start)].strip(b" \t")


def request(head: bytes) -> QuickRequest | None:
    lower = head.lower()  # the odd-whitespace markers read the same lower-cased
    if _slow(lower, _REQUEST_SLOW_RE):
        return None
    line = head[: head.find(b"\r\n")]
    parts = line.split(b" ")
    if len(parts) != 3 or parts[2] != b"HTTP/1.1" or not parts[0] or not parts[1]:
        return None
    host = _single_value(head, lower, b"host")
    length = _single_value(head, lower, b"content-length")
    if host is False or length is False:
        return None
    if length is not None and not (isinstance(length, bytes) and length.isdigit()):
        return None
    return QuickRequest(
        parts[0].decode("latin-1"),
        parts[1].decode("latin-1"),
        host.decode("latin-1") if isinstance(host, bytes) else "",
        int(length) if isinstance(length, bytes) else 0,
    )


def response_length(head: bytes, method: str) -> int | None:
    """The body length of a plain `HTTP/1.1 2xx` answer with one Content-Length and
    no hop-by-hop headers (it then goes to the client as received); None otherwise."""
    if not head.startswith(b"HTTP/1.1 2") or method == "HEAD" or head[9:12] == b"204":
        return None
    lower = head.lower()
    if _slow(lower, _RESPONSE_SLOW_RE):
        return None
    length = _single_value(head, lower, b"content-length")
    if not isinstance(length, bytes) or not length.isdigit():
        return None
    return int(length)
