"""Expectations: what a controller has asked the apiserver to do and not yet seen in
its watch (Kubernetes' ControllerExpectations + UIDTrackingControllerExpectations).

A ReplicaSet that created 3 pods must not create them again just because its pod
informer has not caught up. Until every expected create and delete has been observed
(or 5 minutes have passed: a lost event must not wedge the controller) the controller
does not manage that key's replicas again."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

log = logging.getLogger(__name__)

EXPECTATIONS_TIMEOUT = 300.0


@dataclass
class _Expected:
    adds: int
    dels: int
    set_at: float
    pending_deletes: set[str] = field(default_factory=set)

    def fulfilled(self) -> bool:
        return self.adds <= 0 and self.dels <= 0


class Expectations:
    """Per controller key: creations and deletions still to be observed."""

    def __init__(
        self, timeout: float = EXPECTATIONS_TIMEOUT, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.timeout = timeout
        self.clock = clock
        self._items: dict[str, _Expected] = {}

    def satisfied(self, key: str) -> bool:
        """True when the controller may act on `key` again."""
        exp = self._items.get(key)
        if exp is None or exp.fulfilled():
            return True
        if self.clock() - exp.set_at > self.timeout:
            log.info("expectations of %s expired (adds %d, dels %d)", key, exp.adds, exp.dels)
            return True
        return False

    def expect_creations(self, key: str, count: int) -> None:
        self._items[key] = _Expected(count, 0, self.clock())

    def expect_deletions(self, key: str, pod_keys: Iterable[str]) -> None:
        keys = set(pod_keys)
        self._items[key] = _Expected(0, len(keys), self.clock(), keys)

    def expect(self, key: str, count: int, pod_keys: Iterable[str]) -> None:
        """Creations and deletions at once (SetExpectations), for a sync that does both."""
        keys = set(pod_keys)
        self._items[key] = _Expected(count, len(keys), self.clock(), keys)

    def creation_observed(self, key: str) -> None:
        exp = self._items.get(key)
        if exp is not None:
            exp.adds -= 1

    def deletion_observed(self, key: str, pod_key: str) -> None:
        """Counts once per expected pod, however many events report its deletion."""
        exp = self._items.get(key)
        if exp is not None and pod_key in exp.pending_deletes:
            exp.pending_deletes.discard(pod_key)
            exp.dels -= 1

    def forget(self, key: str) -> None:
        self._items.pop(key, None)

    def pending(self, key: str) -> tuple[int, int]:
        """(adds, dels) still expected, for logs and tests."""
        exp = self._items.get(key)
        return (exp.adds, exp.dels) if exp else (0, 0)
