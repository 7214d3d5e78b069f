"""The ServiceAccounts controller (pkg/controller/serviceaccount's
ServiceAccountsController): every active namespace has a `default` ServiceAccount,
made when the namespace appears and made again when someone deletes it. A namespace
being deleted gets none (its objects are on their way out)."""

from __future__ import annotations

import logging
from typing import Any

from api.errors import AlreadyExists, NotFound
from api.resources import NAMESPACES, SERVICEACCOUNTS
from controller.util.base import Context, Controller

log = logging.getLogger(__name__)

Obj = dict[str, Any]

ACCOUNTS = ("default",)


def _terminating(ns: Obj) -> bool:
    return bool((ns.get("metadata") or {}).get("deletionTimestamp")) or (
        (ns.get("status") or {}).get("phase") == "Terminating"
    )


class ServiceAccountsController(Controller):
    name = "serviceaccount"
    default_workers = 1

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.namespaces = ctx.informers.informer(NAMESPACES)
        self.accounts = ctx.informers.informer(SERVICEACCOUNTS)
        self.namespaces.add_handler(self._namespace, lambda _old, new: self._namespace(new))
        self.accounts.add_handler(on_delete=self._account_deleted)
        self.watched = [self.namespaces, self.accounts]

    def _namespace(self, ns: Obj) -> None:
        self.enqueue_key((ns.get("metadata") or {}).get("name", ""))

    def _account_deleted(self, sa: Obj) -> None:
        meta = sa.get("metadata") or {}
        if meta.get("name") in ACCOUNTS:
            self.enqueue_key(meta.get("namespace", ""))

    async def reconcile(self, namespace: str) -> None:
        ns = self.namespaces.get(namespace)
        if ns is None or _terminating(ns):
            return
        for name in ACCOUNTS:
            if self.accounts.get(f"{namespace}/{name}") is not None:
                continue
            sa = {
                "apiVersion": "v1",
                "kind": "ServiceAccount",
                "metadata": {"name": name, "namespace": namespace},
            }
            try:
                await self.api.create(SERVICEACCOUNTS, sa, namespace)
                log.info("serviceaccount: created %s/%s", namespace, name)
            except (AlreadyExists, NotFound):
                continue
