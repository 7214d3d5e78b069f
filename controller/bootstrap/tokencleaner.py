"""The tokencleaner (Kubernetes' pkg/controller/bootstrap/tokencleaner.go): a
bootstrap token Secret in kube-system whose `expiration` has passed is deleted (with
its uid as precondition, so a token made again under the same name stays); one not
yet expired is looked at again when it expires."""

from __future__ import annotations

import logging
import time
from typing import Any

from api import bootstraptoken as bt
from api.errors import Conflict, NotFound
from api.resources import SECRETS
from controller.util.base import Context, Controller

log = logging.getLogger(__name__)

Obj = dict[str, Any]


class TokenCleaner(Controller):
    name = "tokencleaner"
    default_workers = 1

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.secrets = ctx.informers.informer(SECRETS, bt.NAMESPACE)
        self.secrets.add_handler(self._secret, lambda _old, new: self._secret(new))
        self.watched = [self.secrets]

    def _secret(self, secret: Obj) -> None:
        if bt.is_bootstrap_secret(secret):
            self.enqueue(secret)

    async def reconcile(self, key: str) -> None:
        secret = self.secrets.get(key)
        if secret is None or not bt.is_bootstrap_secret(secret):
            return
        meta = secret.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            return
        now = time.time()
        if not bt.expired(secret, now):
            when = bt.expires_at(secret)
            if when is not None:
                self.enqueue_after(key, when - now + 0.01)
            return
        log.info("tokencleaner: deleting expired secret %s", key)
        try:
            await self.api.delete(
                SECRETS,
                meta.get("name", ""),
                meta.get("namespace"),
                preconditions={"uid": meta.get("uid")},
            )
        except (NotFound, Conflict):
            return
