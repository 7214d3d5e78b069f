"""One informer per resource, shared by every controller in the process (client-go's
SharedInformerFactory): a pod is listed and watched once, however many controllers
care about pods. `Index` adds a secondary lookup (pods by namespace, by node...)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from typing import Any

from api.resources import Resource
from client.informer import Informer, key_of
from client.rest import ALL_NAMESPACES, AsyncClient

log = logging.getLogger(__name__)

Obj = dict[str, Any]


class Index:
    """Objects of one informer grouped by `index_of(obj)` (None: not indexed)."""

    def __init__(self, informer: Informer, index_of: Callable[[Obj], str | None]) -> None:
        self._index_of = index_of
        self._groups: dict[str, dict[str, Obj]] = {}
        informer.add_handler(self._add, self._update, self._delete)

    def list(self, value: str) -> list[Obj]:
        return list((self._groups.get(value) or {}).values())

    def _add(self, obj: Obj) -> None:
        value = self._index_of(obj)
        if value is not None:
            self._groups.setdefault(value, {})[key_of(obj)] = obj

    def _update(self, old: Obj, new: Obj) -> None:
        self._delete(old)
        self._add(new)

    def _delete(self, obj: Obj) -> None:
        value = self._index_of(obj)
        group = self._groups.get(value) if value is not None else None
        if group is not None:
            group.pop(key_of(obj), None)
            if not group:
                del self._groups[value]  # type: ignore[arg-type]


def namespace_of(obj: Obj) -> str | None:
    return (obj.get("metadata") or {}).get("namespace")


class InformerFactory:
    """Creates each informer (and index) once; `start()` runs them all."""

    def __init__(self, api: AsyncClient) -> None:
        self.api = api
        self._informers: dict[tuple[str, str, str], Informer] = {}
        self._indexes: dict[tuple[tuple[str, str, str], str], Index] = {}
        self._started = False

    def informer(self, res: Resource, namespace: str = ALL_NAMESPACES) -> Informer:
        key = (res.group, res.plural, namespace)
        informer = self._informers.get(key)
        if informer is None:
            informer = Informer(self.api, res, namespace)
            self._informers[key] = informer
            if self._started:
                informer.start()
        return informer

    def index(
        self,
        res: Resource,
        name: str,
        index_of: Callable[[Obj], str | None],
        namespace: str = ALL_NAMESPACES,
    ) -> Index:
        """A named index over the resource's informer, shared like the informer."""
        key = ((res.group, res.plural, namespace), name)
        index = self._indexes.get(key)
        if index is None:
            index = Index(self.informer(res, namespace), index_of)
            self._indexes[key] = index
        return index

    def by_namespace(self, res: Resource) -> Index:
        return self.index(res, "namespace", namespace_of)

    def start(self) -> None:
        self._started = True
        for informer in self._informers.values():
            informer.start()

    async def wait_for_sync(self, informers: Iterable[Informer] | None = None) -> None:
        """Until every (given) informer has its first list; raises an informer's error."""
        targets = list(informers) if informers is not None else list(self._informers.values())
        while True:
            pending = [i for i in targets if not i.has_synced]
            if not pending:
                return
            await asyncio.gather(*(i.wait_for_sync(timeout=5.0) for i in pending))
            still = [i.res.plural for i in pending if not i.has_synced]
            if still:
                log.info("waiting for caches to sync: %s", ", ".join(still))

    async def stop(self) -> None:
        for informer in self._informers.values():
            await informer.stop()
