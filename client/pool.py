"""httpcore's connection pool with its request-to-connection pass made linear.

httpcore 1.0's pool runs `_assign_requests_to_connections` on every request and every
response close, and that pass is quadratic in the pool's connections: for each idle one
it counts every connection again (the keep-alive check, encode/httpcore#1035, not
merged), and for each queued request it filters them all twice. A component's pool holds
its watches too (the controller manager's, 37 streams), so every short request paid for
all of them: 16% of a client's CPU at only 16 connections (cProfile of 2,000 creates).

This pass walks the connections once, evicts surplus idle ones by the idle count (what
`max_keepalive_connections` says), and hands each idle HTTP/1.1 connection to one queued
request only: a connection already assigned to a request that has not started on it yet
is neither offered again nor closed as idle (encode/httpcore#1110), where httpcore's pass
could give it to several (the losers retried) or close it under the request.
"""

from __future__ import annotations

import httpcore

# What the pass reads and changes of httpcore's pool (1.0.x); without them the stock
# pool is kept (netbackend.asyncio_transport).
_POOL_ATTRIBUTES = ("_assign_requests_to_connections", "create_connection")


def supported() -> bool:
    return all(hasattr(httpcore.AsyncConnectionPool, a) for a in _POOL_ATTRIBUTES)


class LinearPool(httpcore.AsyncConnectionPool):
    """httpcore.AsyncConnectionPool (HTTP/1.1) whose assignment pass is O(connections +
    requests) and never offers one idle connection to two requests."""

    def _assign_requests_to_connections(self) -> list:
        reserved = {id(r.connection) for r in self._requests if r.connection is not None}
        closing: list = []
        kept: list = []
        idle: list = []  # unreserved idle connections, oldest first
        for conn in self._connections:
            if conn.is_closed():
                continue
            if id(conn) not in reserved and conn.has_expired():
                closing.append(conn)
                continue
            kept.append(conn)
            if id(conn) not in reserved and conn.is_idle():
                idle.append(conn)
        surplus = len(idle) - self._max_keepalive_connections
        if surplus > 0:
            evicted = {id(conn) for conn in idle[:surplus]}
            closing.extend(idle[:surplus])
            kept = [conn for conn in kept if id(conn) not in evicted]
            idle = idle[surplus:]
        self._connections[:] = kept

        for pool_request in self._requests:  # `idle` loses each connection it hands out
            if not pool_request.is_queued():
                continue
            origin = pool_request.request.url.origin
            reuse = next((conn for conn in idle if conn.can_handle_request(origin)), None)
            if reuse is not None:
                idle.remove(reuse)
                pool_request.assign_to_connection(reuse)
                continue
            if len(self._connections) >= self._max_connections:
                if not idle:
                    continue  # the pool is full and busy: the request waits its turn
                victim = idle.pop(0)
                self._connections.remove(victim)
                closing.append(victim)
            conn = self.create_connection(origin)
            self._connections.append(conn)
            pool_request.assign_to_connection(conn)
        return closing
