"""ClusterRole aggregation, as Kubernetes' clusterrole-aggregation controller: a
ClusterRole with an `aggregationRule` holds the rules of every ClusterRole its
selectors match (sorted by name, duplicates once). Kubernetes runs it in the
controller manager; minik runs it beside the RBAC index in the apiserver, woken by
every policy change the index sees, so `admin`/`edit`/`view` are complete as soon as
the apiserver serves (and without a controller manager, as in the tests)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from api import errors
from api.labels import from_label_selector
from api.resources import CLUSTERROLES
from apiserver.authz.rbac import PolicyIndex
from apiserver.options import WriteOptions
from apiserver.registry import Registry
from apiserver.requestinfo import RequestInfo

log = logging.getLogger(__name__)


def aggregated_rules(role: dict, roles: list[dict]) -> list[dict]:
    """The rules `role`'s aggregationRule selects from `roles`."""
    selectors = [
        from_label_selector(s)
        for s in ((role.get("aggregationRule") or {}).get("clusterRoleSelectors") or [])
        if isinstance(s, dict)
    ]
    name = (role.get("metadata") or {}).get("name")
    rules: list[dict] = []
    for other in sorted(roles, key=lambda r: str((r.get("metadata") or {}).get("name"))):
        meta = other.get("metadata") or {}
        if meta.get("name") == name:
            continue
        labels = meta.get("labels") or {}
        if any(sel.matches(labels) for sel in selectors):
            for r in other.get("rules") or []:
                if isinstance(r, dict) and r not in rules:
                    rules.append(r)
    return rules


class Aggregation:
    def __init__(self, registry: Registry, index: PolicyIndex) -> None:
        self.registry = registry
        self.index = index
        self.wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._seen = -1

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="clusterrole aggregation")

    async def _run(self) -> None:
        while True:
            try:
                if self.index.generation == self._seen:
                    await asyncio.sleep(0.2)
                    continue
                self._seen = self.index.generation
                await self.sync()
            except asyncio.CancelledError:
                raise
            except Exception as err:
                log.warning("clusterrole aggregation failed: %s", err)
                self._seen = -1
                await asyncio.sleep(1)

    async def sync(self) -> None:
        roles = list(self.index.objects[CLUSTERROLES.plural].values())
        for role in roles:
            if not role.get("aggregationRule"):
                continue
            rules = aggregated_rules(role, roles)
            if rules == (role.get("rules") or []):
                continue
            name = role["metadata"]["name"]
            info = RequestInfo(CLUSTERROLES, None, name, None)
            opts = WriteOptions(field_manager="clusterrole-aggregation-controller")
            try:
                await self.registry.update(info, {**role, "rules": rules}, opts)
            except errors.ApiError as err:
                if err.code not in (404, 409):
                    raise
                self._seen = -1  # retry on the next round with what the watch shows

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
