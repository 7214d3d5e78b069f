"""The proxy's Prometheus metrics. kube-proxy has no per-Service traffic metrics (its
iptables rules forward in the kernel); minik's userspace proxy sees every
connection, so it reports them, under names of its own:

- `minik_proxy_connections_total{service, port, protocol}`: connections accepted on
  the service port's listeners (ClusterIP, NodePort, LoadBalancer), UDP sessions;
- `minik_proxy_rejected_connections_total{service, port, protocol, reason}`:
  `no_endpoints` (reset at once) or `dial_failed` (no backend accepted);
- `minik_proxy_dial_failures_total{service, port, protocol}`: each backend dial that
  failed or timed out (a connection may try several);
- `minik_proxy_bytes_total{service, port, protocol, direction}`: TCP payload bytes,
  `in` from clients, `out` to clients, counted once per connection when it ends.

The TCP hot path runs no Python per chunk (proxy/tcp.py), so bytes are not counted
per chunk: when a connection ends, the kernel's own counters of the client socket
(TCP_INFO's tcpi_bytes_received and tcpi_bytes_acked; the backend socket's when the
client's is gone already) give what passed. `out` counts what the client
acknowledged.
"""

from __future__ import annotations

import socket
import struct
from typing import Any

from prometheus_client import Counter

LABELS = ("service", "port", "protocol")
CONNECTIONS = Counter(
    "minik_proxy_connections_total", "Connections accepted per service port.", LABELS
)
REJECTED = Counter(
    "minik_proxy_rejected_connections_total",
    "Connections reset without a backend, by reason (no_endpoints, dial_failed).",
    [*LABELS, "reason"],
)
DIAL_FAILURES = Counter(
    "minik_proxy_dial_failures_total",
    "Backend dials that failed or timed out, per service port.",
    LABELS,
)
BYTES = Counter(
    "minik_proxy_bytes_total",
    "TCP payload bytes per service port: direction in (from clients) or out (to clients).",
    [*LABELS, "direction"],
)


def port_labels(name: str) -> tuple[str, str, str]:
    """`ns/svc:http/TCP` (a ServicePortName's text) -> ("ns/svc", "http", "TCP")."""
    rest, _, protocol = name.rpartition("/")
    service, _, port = rest.partition(":")
    return service, port, protocol


class PortStats:
    """The counters of one service port, looked up once."""

    __slots__ = ("bytes_in", "bytes_out", "connections", "dial_failed", "dial_failures", "empty")

    def __init__(self, name: str) -> None:
        labels = port_labels(name)
        self.connections = CONNECTIONS.labels(*labels)
        self.dial_failures = DIAL_FAILURES.labels(*labels)
        self.empty = REJECTED.labels(*labels, "no_endpoints")
        self.dial_failed = REJECTED.labels(*labels, "dial_failed")
        self.bytes_in = BYTES.labels(*labels, "in")
        self.bytes_out = BYTES.labels(*labels, "out")


_stats: dict[str, PortStats] = {}


def stats_for(name: str) -> PortStats:
    found = _stats.get(name)
    if found is None:
        found = _stats[name] = PortStats(name)
    return found


# ---- TCP_INFO ---------------------------------------------------------------------------
# struct tcp_info (linux/tcp.h): tcpi_state is the first byte; tcpi_bytes_acked and
# tcpi_bytes_received are the two u64 at offset 120 (Linux 4.1 and later).
_TCP_INFO = getattr(socket, "TCP_INFO", 11)
_BYTES_OFFSET = 120
_INFO_LENGTH = 136
_BYTES = struct.Struct("=QQ")
# A FIN takes one sequence number, which the kernel's byte counters include.
FIN_RECEIVED = frozenset({6, 8, 9, 11})  # TIME_WAIT, CLOSE_WAIT, LAST_ACK, CLOSING
FIN_ACKED = frozenset({5, 6})  # FIN_WAIT2, TIME_WAIT


def tcp_bytes(sock: Any) -> tuple[int, int] | None:
    """(bytes the peer acknowledged, bytes received from it) of a connected TCP socket,
    FINs left out; None when the kernel cannot tell (the socket is closed)."""
    if sock is None:
        return None
    try:
        raw = sock.getsockopt(socket.IPPROTO_TCP, _TCP_INFO, _INFO_LENGTH)
    except (OSError, ValueError):
        return None
    if len(raw) < _INFO_LENGTH:
        return None
    acked, received = _BYTES.unpack_from(raw, _BYTES_OFFSET)
    state = raw[0]
    if state in FIN_RECEIVED and received:
        received -= 1
    if state in FIN_ACKED and acked:
        acked -= 1
    return acked, received


class Tally:
    """Counts one TCP connection's bytes once, when it ends."""

    __slots__ = ("done", "stats")

    def __init__(self, stats: PortStats) -> None:
        self.stats = stats
        self.done = False

    def finish(self, transport: Any, is_client: bool) -> None:
        """Read the counters of `transport` (still open), the client's or the backend's."""
        if self.done:
            return
        self.done = True
        counted = tcp_bytes(transport.get_extra_info("socket"))
        if counted is None:
            return
        acked, received = counted
        to_client, from_client = (acked, received) if is_client else (received, acked)
        if from_client:
            self.stats.bytes_in.inc(from_client)
        if to_client:
            self.stats.bytes_out.inc(to_client)
