"""The bootstrapsigner (Kubernetes' pkg/controller/bootstrap/bootstrapsigner.go): the
`cluster-info` ConfigMap in kube-public holds, beside its `kubeconfig`, one
`jws-kubeconfig-<token-id>` detached JWS (api/bootstrapjws) per bootstrap token that may
sign (`usage-bootstrap-signing: "true"`, not expired, its name matching its id). A
machine joining with a token checks that signature before it trusts the CA in
cluster-info. Signatures of tokens that are gone or expired are removed; unlike
Kubernetes (which waits for a resync) a token is looked at again when it expires."""

from __future__ import annotations

import logging
import time
from typing import Any

from api import bootstraptoken as bt
from api.bootstrapjws import KUBECONFIG_KEY, SIGNATURE_KEY_PREFIX, detached_signature
from api.errors import Conflict, NotFound
from api.resources import CONFIGMAPS, SECRETS
from controller.util.base import Context, Controller

log = logging.getLogger(__name__)

Obj = dict[str, Any]

PUBLIC_NAMESPACE = "kube-public"
CLUSTER_INFO = "cluster-info"
KEY = f"{PUBLIC_NAMESPACE}/{CLUSTER_INFO}"


def signing_token(secret: Obj, now: float) -> tuple[str, str] | None:
    """validateSecretForSigning: (id, secret) of a token that may sign, else None."""
    if not bt.is_bootstrap_secret(secret):
        return None
    name = (secret.get("metadata") or {}).get("name", "")
    if not name.startswith(bt.SECRET_PREFIX):
        return None
    token_id = bt.data(secret, bt.TOKEN_ID_KEY)
    token_secret = bt.data(secret, bt.TOKEN_SECRET_KEY)
    if not token_id or token_id != name[len(bt.SECRET_PREFIX) :] or not token_secret:
        return None
    if bt.expired(secret, now) or bt.data(secret, bt.USAGE_SIGNING) != "true":
        return None
    return token_id, token_secret


def signed_data(data: dict[str, str], tokens: dict[str, str]) -> dict[str, str]:
    """`data` with exactly one signature per token (id -> secret) over its kubeconfig."""
    content = data[KUBECONFIG_KEY]
    signed = {k: v for k, v in data.items() if not k.startswith(SIGNATURE_KEY_PREFIX)}
    for token_id, token_secret in sorted(tokens.items()):
        signed[SIGNATURE_KEY_PREFIX + token_id] = detached_signature(
            content, token_id, token_secret
        )
    return signed


class BootstrapSigner(Controller):
    name = "bootstrapsigner"
    default_workers = 1  # one key: the whole queue collapses to cluster-info

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.secrets = ctx.informers.informer(SECRETS, bt.NAMESPACE)
        self.configmaps = ctx.informers.informer(CONFIGMAPS, PUBLIC_NAMESPACE)
        self.secrets.add_handler(self._secret, lambda _o, new: self._secret(new), self._secret)
        self.configmaps.add_handler(self._cm, lambda _o, new: self._cm(new))
        self.watched = [self.secrets, self.configmaps]

    def _secret(self, secret: Obj) -> None:
        if bt.is_bootstrap_secret(secret):
            self.enqueue_key(KEY)

    def _cm(self, cm: Obj) -> None:
        if (cm.get("metadata") or {}).get("name") == CLUSTER_INFO:
            self.enqueue_key(KEY)

    async def reconcile(self, key: str) -> None:
        cm = self.configmaps.get(KEY)
        if cm is None:
            return
        data = dict(cm.get("data") or {})
        if KUBECONFIG_KEY not in data:
            log.debug("bootstrapsigner: no %s key in %s", KUBECONFIG_KEY, KEY)
            return
        now = time.time()
        tokens: dict[str, str] = {}
        for secret in self.secrets.list():
            token = signing_token(secret, now)
            if token is None or token[0] in tokens:
                continue
            tokens[token[0]] = token[1]
            when = bt.expires_at(secret)
            if when is not None:
                self.enqueue_after(KEY, when - now + 0.01)
        wanted = signed_data(data, tokens)
        if wanted == data:
            return
        log.info("bootstrapsigner: %s signed for %d token(s)", KEY, len(tokens))
        try:
            await self.api.update(CONFIGMAPS, {**cm, "data": wanted})
        except (Conflict, NotFound):
            return  # the informer brings the newer one (or its absence)
