"""The bootstrap token authenticator (--enable-bootstrap-token-auth), as Kubernetes'
plugin/pkg/auth/authenticator/token/bootstrap: `<id>.<secret>` matches the Secret
`kube-system/bootstrap-token-<id>` of type bootstrap.kubernetes.io/token that is not
being deleted, not expired, marked `usage-bootstrap-authentication=true`, with the
same id and (compared in constant time) secret. The user is `system:bootstrap:<id>`
in `system:bootstrappers` and the token's `auth-extra-groups`. Any mismatch is "not
this authenticator's token" (then 401), logged as Kubernetes logs it."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from api import bootstraptoken as bt
from apiserver.admission.objectcache import NamespacedObjects
from apiserver.auth import User
from apiserver.authn import with_authenticated
from apiserver.storage import Storage

log = logging.getLogger(__name__)


class BootstrapTokens:
    def __init__(self, storage: Storage, clock: Callable[[], float] = time.time) -> None:
        self.secrets = NamespacedObjects(storage, "secrets")
        self.clock = clock

    async def authenticate(self, token: str) -> User | None:
        parsed = bt.parse_token(token)
        if parsed is None:
            return None
        token_id, token_secret = parsed
        name = bt.SECRET_PREFIX + token_id
        secret = await self.secrets.get(bt.NAMESPACE, name)
        if secret is None:
            log.info("No secret of name %s to match bootstrap bearer token", name)
            return None

        problem = bt.authentication_problem(secret, token_id, token_secret, self.clock())
        if problem is not None:
            log.info("Bootstrap secret %s/%s %s", bt.NAMESPACE, name, problem)
            return None
        return with_authenticated(bt.USER_PREFIX + token_id, "", bt.groups(secret))

    async def stop(self) -> None:
        await self.secrets.stop()
