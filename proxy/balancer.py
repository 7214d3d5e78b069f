"""Choosing a backend for a new connection: round robin, or sticky per client IP
(`sessionAffinity: ClientIP`). Pure logic with an injectable clock.

One `Balancer` per service port, shared by all its listeners (ClusterIP, NodePort,
LoadBalancer), so round robin and affinity span them all, as in kube-proxy.
Endpoint changes replace the backend list in place: the next connection sees them,
connections already made keep their backend.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence

from proxy.servicemap import Backend


class Balancer:
    def __init__(
        self,
        backends: Sequence[Backend] = (),
        affinity_seconds: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.backends: tuple[Backend, ...] = tuple(backends)
        self.affinity_seconds = affinity_seconds
        self._clock = clock
        self._next = 0
        self._affinity: dict[str, tuple[Backend, float]] = {}  # client ip -> (backend, last use)

    def __bool__(self) -> bool:
        return bool(self.backends)

    def update(self, backends: Sequence[Backend], affinity_seconds: int | None) -> None:
        """New endpoints or affinity settings; forgets stickiness to vanished backends."""
        backends = tuple(backends)
        if backends != self.backends:
            self.backends = backends
            present = set(backends)
            self._affinity = {c: v for c, v in self._affinity.items() if v[0] in present}
            if self._next >= len(backends):
                self._next = 0
        if affinity_seconds != self.affinity_seconds:
            self.affinity_seconds = affinity_seconds
            if affinity_seconds is None:
                self._affinity.clear()

    def candidates(self, client_ip: str) -> Iterator[Backend]:
        """Backends to try in order: the client's sticky one first (if still fresh),
        then every backend once, starting at the round-robin position (which moves on
        by one per call)."""
        backends = self.backends
        if not backends:
            return
        sticky = self._sticky(client_ip)
        if sticky is not None:
            yield sticky
        start = self._next
        self._next = (start + 1) % len(backends)
        for i in range(len(backends)):
            backend = backends[(start + i) % len(backends)]
            if backend != sticky:
                yield backend

    def connected(self, client_ip: str, backend: Backend) -> None:
        """Remember a successful choice, so the client sticks to it."""
        if self.affinity_seconds is not None:
            self._affinity[client_ip] = (backend, self._clock())
            if len(self._affinity) > 65536:
                self.expire()

    def expire(self) -> None:
        """Drop stickiness that outlived its timeout (called now and then)."""
        if self.affinity_seconds is None:
            return
        cutoff = self._clock() - self.affinity_seconds
        self._affinity = {c: v for c, v in self._affinity.items() if v[1] >= cutoff}

    def _sticky(self, client_ip: str) -> Backend | None:
        if self.affinity_seconds is None:
            return None
        entry = self._affinity.get(client_ip)
        if entry is None:
            return None
        backend, last = entry
        if self._clock() - last > self.affinity_seconds:
            del self._affinity[client_ip]
            return None
        return backend


class Target:
    """What a listener forwards to: the proxier swaps `balancer` in place when the
    listener is handed to another service port."""

    __slots__ = ("balancer", "name")

    def __init__(self, name: str, balancer: Balancer) -> None:
        self.name = name
        self.balancer = balancer
