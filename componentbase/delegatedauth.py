"""Delegated authentication and authorization for a component's own endpoints.

Kubernetes' components that serve something of their own (kube-scheduler's and
kube-controller-manager's /metrics, the kubelet's API, metrics-server) keep no users:
they send the caller's bearer token to the apiserver in a **TokenReview** and the
request (who, which verb, which path) in a **SubjectAccessReview**, and cache both
answers for ten seconds (k8s.io/apiserver's DelegatingAuthenticationOptions and
DelegatingAuthorizationOptions). A request without a token is `system:anonymous` in
`system:unauthenticated`, which RBAC lets reach nothing here. Paths in
`--authorization-always-allow-paths` (/healthz, /readyz, /livez) skip both."""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from api.credentials import bearer_token, certificate_identity
from api.errors import ApiError
from client.errors import ConnectionFailed
from client.rest import AsyncClient

log = logging.getLogger(__name__)

ALWAYS_ALLOW_PATHS = ("/healthz", "/readyz", "/livez")
CACHE_SECONDS = 10.0  # --authentication-token-webhook-cache-ttl / authorization's
MAX_CACHED = 1024
TOKEN_REVIEWS = "/apis/authentication.k8s.io/v1/tokenreviews"
ACCESS_REVIEWS = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
ANONYMOUS = "system:anonymous"
AUTHENTICATED = "system:authenticated"

Obj = dict[str, Any]


@dataclass(frozen=True)
class Caller:
    """Who the apiserver says a token belongs to."""

    name: str
    groups: tuple[str, ...] = ()
    uid: str = ""
    extra: dict[str, list[str]] = field(default_factory=dict, hash=False, compare=False)


ANONYMOUS_CALLER = Caller(ANONYMOUS, ("system:unauthenticated",))


@dataclass(frozen=True)
class Verdict:
    """An HTTP status for the request (200, 401 or 403) and why."""

    code: int
    reason: str = ""

    @property
    def allowed(self) -> bool:
        return self.code == 200


class _Cache:
    """Answers by key until they expire; the oldest go first when full."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, Any]] = {}

    def get(self, key: str) -> Any:
        entry = self._entries.get(key)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def put(self, key: str, value: Any) -> None:
        if len(self._entries) >= MAX_CACHED:
            now = time.monotonic()
            self._entries = {k: v for k, v in self._entries.items() if v[0] >= now}
            while len(self._entries) >= MAX_CACHED:
                del self._entries[next(iter(self._entries))]
        self._entries[key] = (time.monotonic() + self.ttl, value)


def caller_from_peer_cert(cert: Any) -> Caller | None:
    """A verified client certificate's identity, as x509.CommonNameUserConversion:
    CN the user, each O a group, plus `system:authenticated`. `cert` is ssl's
    getpeercert() dict, only set when the chain verified against --client-ca-file."""
    identity = certificate_identity(cert)
    if identity is None:
        return None
    name, groups = identity
    if AUTHENTICATED not in groups:
        groups.append(AUTHENTICATED)
    return Caller(name, tuple(groups))


def access_review(caller: Caller, attributes: Obj) -> Obj:
    """The SubjectAccessReview asking whether `caller` may do `attributes` (either
    `{"nonResourceAttributes": ...}` or `{"resourceAttributes": ...}`)."""
    spec: Obj = {"user": caller.name, "groups": list(caller.groups), **attributes}
    if caller.uid:
        spec["uid"] = caller.uid
    if caller.extra:
        spec["extra"] = caller.extra
    return {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": spec}


class DelegatedAuth:
    """Asks the apiserver who a caller is and what it may do, as Kubernetes'
    delegating authenticator and authorizer do."""

    def __init__(
        self,
        api: AsyncClient,
        *,
        always_allow_paths: Iterable[str] = ALWAYS_ALLOW_PATHS,
        cache_seconds: float = CACHE_SECONDS,
    ) -> None:
        self.api = api
        self.always_allow_paths = frozenset(always_allow_paths)
        self._callers = _Cache(cache_seconds)
        self._decisions = _Cache(cache_seconds)

    async def authenticate(self, authorization: str | None) -> Caller | None:
        """The caller behind an Authorization header: anonymous without a bearer
        token; None when the apiserver does not accept the token (401)."""
        token = bearer_token(authorization)
        if token is None:
            return ANONYMOUS_CALLER
        key = hashlib.sha256(token.encode()).hexdigest()
        cached = self._callers.get(key)
        if cached is not None:
            return cached or None
        review = {
            "apiVersion": "authentication.k8s.io/v1",
            "kind": "TokenReview",
            "spec": {"token": token},
        }
        try:
            answer = (await self.api.request("POST", TOKEN_REVIEWS, body=review)).json()
        except (ApiError, ConnectionFailed) as err:
            log.warning("TokenReview failed: %s", err)
            return None  # not cached: the next request asks again
        status = answer.get("status") or {}
        user = status.get("user") or {}
        caller = (
            Caller(
                str(user.get("username") or ""),
                tuple(user.get("groups") or ()),
                str(user.get("uid") or ""),
                dict(user.get("extra") or {}),
            )
            if status.get("authenticated")
            else None
        )
        self._callers.put(key, caller or False)
        return caller

    async def authorize(self, caller: Caller, attributes: Obj) -> Verdict:
        """Ask a SubjectAccessReview; 200 when allowed, 403 with the reason if not."""
        review = access_review(caller, attributes)
        key = repr(sorted(review["spec"].items()))
        cached = self._decisions.get(key)
        if cached is not None:
            return cached
        try:
            answer = (await self.api.request("POST", ACCESS_REVIEWS, body=review)).json()
        except (ApiError, ConnectionFailed) as err:
            log.warning("SubjectAccessReview failed: %s", err)
            return Verdict(403, f"the authorizer could not be asked: {err}")
        status = answer.get("status") or {}
        verdict = (
            Verdict(200)
            if status.get("allowed")
            else Verdict(403, str(status.get("reason") or status.get("evaluationError") or ""))
        )
        self._decisions.put(key, verdict)
        return verdict

    async def check_path(self, authorization: str | None, method: str, path: str) -> Verdict:
        """A non-resource request (GET /metrics): 200, 401 or 403, as Kubernetes'
        filters answer it. The verb is the lower-cased method."""
        if path in self.always_allow_paths:
            return Verdict(200)
        caller = await self.authenticate(authorization)
        if caller is None:
            return Verdict(401, "Unauthorized")
        verdict = await self.authorize(
            caller, {"nonResourceAttributes": {"path": path, "verb": method.lower()}}
        )
        if verdict.allowed:
            return verdict
        message = f'forbidden: User "{caller.name}" cannot {method.lower()} path "{path}"'
        return Verdict(403, f"{message}: {verdict.reason}" if verdict.reason else message)
