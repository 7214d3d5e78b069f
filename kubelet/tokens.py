"""The kubelet's ServiceAccount token manager (pkg/kubelet/token): the tokens of
projected `serviceAccountToken` volume sources, requested through the TokenRequest API
bound to the pod (so they die with it), cached, and requested again once 80% of their
lifetime has passed or they are a day old, as Kubernetes' kubelet does. The pod syncer
rewrites the volume on its periodic resync, so a running container always reads a
valid token."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any

from api.errors import ApiError
from api.resources import SERVICEACCOUNTS, TOKEN_REQUEST_API_VERSION, TOKEN_REQUEST_KIND
from api.timefmt import parse_time
from client.rest import AsyncClient

log = logging.getLogger(__name__)

MAX_TTL_SECONDS = 24 * 3600
MAX_JITTER_SECONDS = 10.0
Key = tuple[str, str, str, str, str, int]  # namespace, sa, pod name, pod uid, audience, ttl


def token_key(source: dict[str, Any]) -> str:
    """The ConfigData name a serviceAccountToken source is cached under."""
    return f"{source.get('audience') or ''}|{int(source.get('expirationSeconds') or 3600)}"


def parse_token_key(name: str) -> tuple[str, int]:
    audience, _, seconds = name.rpartition("|")
    return audience, int(seconds or 3600)


def requires_refresh(issued: float, expires: float, now: float, jitter: float = 0.0) -> bool:
    """pkg/kubelet/token's requiresRefresh: older than a day, or within 20% of its
    lifetime (less a jitter) from expiring."""
    ttl = expires - issued
    if now > issued + MAX_TTL_SECONDS - jitter:
        return True
    return now > expires - ttl * 0.2 - jitter


class TokenManager:
    def __init__(self, api: AsyncClient, clock: Callable[[], float] = time.time) -> None:
        self.api = api
        self.clock = clock
        self._tokens: dict[Key, tuple[dict[str, Any], float, float]] = {}

    async def get(
        self, pod: dict[str, Any], audience: str, expiration_seconds: int
    ) -> dict[str, Any]:
        """{"token": ...} for the pod's ServiceAccount; ApiError when it cannot be had
        (a cached token still valid is kept through an API outage)."""
        md, spec = pod.get("metadata") or {}, pod.get("spec") or {}
        namespace = md.get("namespace") or ""
        sa = spec.get("serviceAccountName") or spec.get("serviceAccount") or "default"
        key: Key = (
            namespace,
            sa,
            md.get("name", ""),
            md.get("uid", ""),
            audience,
            expiration_seconds,
        )
        now = self.clock()
        self._prune(now)
        cached = self._tokens.get(key)
        jitter = random.random() * MAX_JITTER_SECONDS
        if cached is not None and not requires_refresh(cached[1], cached[2], now, jitter):
            return cached[0]
        request = {
            "apiVersion": TOKEN_REQUEST_API_VERSION,
            "kind": TOKEN_REQUEST_KIND,
            "spec": {
                "audiences": [audience] if audience else [],
                "expirationSeconds": expiration_seconds,
                "boundObjectRef": {
                    "apiVersion": "v1",
                    "kind": "Pod",
                    "name": md.get("name", ""),
                    "uid": md.get("uid", ""),
                },
            },
        }
        try:
            answer = await self.api.create(
                SERVICEACCOUNTS, request, namespace, name=sa, subresource="token"
            )
        except ApiError:
            if cached is not None and cached[2] > now:
                log.info("token for %s/%s not refreshed; the cached one is kept", namespace, sa)
                return cached[0]
            raise
        status = answer.get("status") or {}
        expires = parse_time(status.get("expirationTimestamp") or "") or now + expiration_seconds
        granted = (answer.get("spec") or {}).get("expirationSeconds") or expiration_seconds
        value = {"token": status.get("token") or ""}
        self._tokens[key] = (value, expires - granted, expires)
        return value

    def _prune(self, now: float) -> None:
        for key in [k for k, (_, _, expires) in self._tokens.items() if expires < now]:
            del self._tokens[key]
