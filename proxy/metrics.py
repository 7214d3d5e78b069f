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
per chunk: when a direction ends with its sender's FIN, the kernel's count of the
bytes the receiving socket took in (TCP_INFO's tcpi_bytes_received) is what passed.
A side that resets instead is counted from what the other side acknowledged
(tcpi_bytes_acked), which is what reached it.
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
# tcpi_bytes_received are the two u64 at offset 120 (Linux 4.1 and later). A SYN and
# a FIN take one sequence number each, and these counters include them.
_TCP_INFO = getattr(socket, "TCP_INFO", 11)
_BYTES_OFFSET = 120
_INFO_LENGTH = 136
_BYTES = struct.Struct("=QQ")
FIN_WAIT2 = 5


def tcp_info_bytes(sock: Any) -> tuple[int, int, int] | None:
    """(state, bytes acknowledged by the peer, bytes received) of a TCP socket, as
    the kernel counts them; None when it cannot tell (the socket is closed)."""
    if sock is None:
        return None
    try:
        raw = sock.getsockopt(socket.IPPROTO_TCP, _TCP_INFO, _INFO_LENGTH)
    except (OSError, ValueError):
        return None
    if len(raw) < _INFO_LENGTH:
        return None
    acked, received = _BYTES.unpack_from(raw, _BYTES_OFFSET)
    return raw[0], acked, received


def received_until_fin(sock: Any) -> int | None:
    """The payload a socket received, read once its peer's FIN arrived (final then)."""
    info = tcp_info_bytes(sock)
    return None if info is None else max(0, info[2] - 1)


def acked_so_far(sock: Any, active_open: bool) -> int | None:
    """The payload the peer of a socket acknowledged until now (less its SYN when we
    dialled it, less our FIN once acknowledged)."""
    info = tcp_info_bytes(sock)
    if info is None:
        return None
    state, acked, _ = info
    acked -= int(active_open) + int(state == FIN_WAIT2)
    return max(0, acked)


class Tally:
    """Counts one TCP connection's bytes, each direction once. A direction is final
        when its sender's FIN arrives: the receiving socket's count then is exactly what
        was sent (`ended`). A side that vanishes without a FIN (a reset) leaves its
        direction to what the other socket's peer acknowledged of it, and the other
    direction to what that socket received (`lost`)."""

    __slots__ = ("counted_in", "counted_out", "stats")

    def __init__(self, stats: PortStats) -> None:
        self.stats = stats
        self.counted_in = self.counted_out = False

    def ended(self, is_client: bool, transport: Any) -> None:
        """The FIN of the client (is_client) or of the backend arrived on `transport`."""
        if self.counted_in if is_client else self.counted_out:
            return
        self._count(is_client, received_until_fin(transport.get_extra_info("socket")))

    def lost(self, is_client: bool, other: Any) -> None:
        """The client's (is_client) or the backend's socket is gone; `other` is the
        other side's transport, still open (and closed right after: nothing more
        flows). What the lost side sent is what the other side acknowledged; what the
        other side sent (no FIN yet, or `ended` counted it) is what it received."""
        if not (self.counted_in if is_client else self.counted_out):
            sock = other.get_extra_info("socket")
            # the client's bytes went to the backend, which we dialled
            self._count(is_client, acked_so_far(sock, active_open=is_client))
        if not (self.counted_out if is_client else self.counted_in):
            info = tcp_info_bytes(other.get_extra_info("socket"))
            self._count(not is_client, None if info is None else info[2])

    def _count(self, from_client: bool, count: int | None) -> None:
        if from_client:
            self.counted_in = True
            if count:
                self.stats.bytes_in.inc(count)
        else:
            self.counted_out = True
            if count:
                self.stats.bytes_out.inc(count)
