"""What the EndpointSlice controller has written and not yet seen in its informer
(Kubernetes' EndpointSliceTracker). Slices get generated names, so a cache that is
behind cannot be caught by a name clash: a reconcile on it would create the same
slices again. The tracker remembers the generation of every slice the controller
created or updated, and every slice it deleted, per Service; while the cache holds
an older generation, misses a written slice or still holds a deleted one, the
Service's slices are stale and must not be reconciled yet."""

from __future__ import annotations

from typing import Any

from controller.endpointslice.reconciler import managed_service_key
from controller.util.controllerref import meta, uid_of

Obj = dict[str, Any]
DELETION_EXPECTED = -1


class SliceTracker:
    """Per Service key, slice uid -> last generation written (or DELETION_EXPECTED)."""

    def __init__(self) -> None:
        self._by_service: dict[str, dict[str, int]] = {}

    def wrote(self, endpoint_slice: Obj) -> None:
        """Record a slice as the API returned it after a create or update."""
        key = managed_service_key(endpoint_slice)
        if key is not None:
            generation = int(meta(endpoint_slice).get("generation") or 0)
            self._by_service.setdefault(key, {})[uid_of(endpoint_slice)] = generation

    def expect_deletion(self, endpoint_slice: Obj) -> None:
        key = managed_service_key(endpoint_slice)
        if key is not None:
            self._by_service.setdefault(key, {})[uid_of(endpoint_slice)] = DELETION_EXPECTED

    def deleted(self, endpoint_slice: Obj) -> None:
        """The informer saw the slice go: nothing more to wait for."""
        key = managed_service_key(endpoint_slice)
        tracked = self._by_service.get(key) if key is not None else None
        if tracked is not None:
            tracked.pop(uid_of(endpoint_slice), None)
            if not tracked:
                del self._by_service[key]  # type: ignore[arg-type]

    def forget(self, service_key: str) -> None:
        self._by_service.pop(service_key, None)

    def stale(self, service_key: str, slices: list[Obj]) -> bool:
        """True when `slices` (the cache's view) predates what was written (StaleSlices)."""
        tracked = self._by_service.get(service_key)
        if not tracked:
            return False
        seen = set()
        for endpoint_slice in slices:
            uid = uid_of(endpoint_slice)
            seen.add(uid)
            generation = tracked.get(uid)
            if generation is not None and (
                generation == DELETION_EXPECTED
                or generation > int(meta(endpoint_slice).get("generation") or 0)
            ):
                return True
        return any(g != DELETION_EXPECTED and uid not in seen for uid, g in tracked.items())
