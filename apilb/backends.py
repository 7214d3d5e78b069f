"""Which apiservers the balancer may send a new connection to, and in what order.

Pure state, no I/O: the health checker and the dialler report what they saw, and
`candidates()` answers "whom to try, in order" for each new connection. Healthy
backends come first, round robin (so the apiservers share the clients), then the
unhealthy ones: when every check fails the balancer still tries them all rather
than refuse (a checker that cannot reach /readyz is not proof the server is gone),
as k3s' balancer falls back to its default server."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse


@dataclass
class Backend:
    """One apiserver: where it listens and what the balancer last saw of it."""

    url: str
    host: str
    port: int
    healthy: bool = True  # optimistic at start: the first check settles it
    failures: int = 0  # consecutive failed checks or dials
    # the open forwarded connections: (client side, apiserver side) stream writers
    connections: set[tuple[Any, Any]] = field(default_factory=set)


def parse_server(url: str) -> Backend:
    """`https://host:port` (or `host:port`) as a Backend; port 443 when none is given."""
    parsed = urlparse(url if "://" in url else f"https://{url}")
    if not parsed.hostname:
        raise ValueError(f"no host in {url!r}")
    return Backend(url.rstrip("/"), parsed.hostname, parsed.port or 443)


class Pool:
    """The apiservers and the round robin over the healthy ones."""

    def __init__(self, backends: list[Backend]) -> None:
        if not backends:
            raise ValueError("at least one --server is needed")
        self.backends = backends
        self._next = 0

    def candidates(self) -> list[Backend]:
        """Whom a new connection tries, in order: the healthy ones from the round
        robin's position, then the others."""
        n = len(self.backends)
        start = self._next % n
        self._next = (start + 1) % n
        ring = self.backends[start:] + self.backends[:start]
        return [b for b in ring if b.healthy] + [b for b in ring if not b.healthy]

    def mark(self, backend: Backend, ok: bool) -> bool:
        """Record a check's or a dial's outcome; True when the backend just went from
        healthy to unhealthy (its connections are then closed)."""
        if ok:
            backend.failures = 0
            backend.healthy = True
            return False
        backend.failures += 1
        went_down = backend.healthy
        backend.healthy = False
        return went_down
