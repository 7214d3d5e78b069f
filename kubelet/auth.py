"""Who may use the kubelet's API, decided as Kubernetes' kubelet decides it
(pkg/kubelet/server/auth.go, InstallAuthFilter).

Authentication, in order: a client certificate verified against `--client-ca-file`
(CN the user, O the groups); a bearer token, asked of the apiserver in a TokenReview
(a token the apiserver refuses is 401, never anonymous); with neither, the caller is
`system:anonymous` when `--anonymous-auth=true`, else 401 (kubeadm's kubelets run with
it false, and so do minik's by default).

Authorization (`--authorization-mode=Webhook`, the default): a SubjectAccessReview for
the resource `nodes`, name the node, subresource by path — `/stats/*` → `stats`,
`/metrics` and `/metrics/*` → `metrics`, `/logs/*` → `log`, `/spec/*` → `spec`,
everything else (exec, attach, portForward, containerLogs, pods, healthz, ...) →
`proxy` — and the verb from the HTTP method (GET/HEAD get, POST create, PUT update,
PATCH patch, DELETE delete). One deliberate difference: an *upgrade* to exec,
attach, portForward or run (a WebSocket handshake is a GET) is asked as `create`,
so `nodes/proxy` `get` alone cannot run commands in containers, which Kubernetes'
mapping allows. Refusals are plain text, as the kubelet's: `Unauthorized`, and
`Forbidden (user=…, verb=…, resource=nodes, subresource=…)`.
"""

from __future__ import annotations

import logging
import posixpath
from dataclasses import dataclass
from typing import Any

from starlette.responses import PlainTextResponse
from starlette.websockets import WebSocket

from api.credentials import bearer_token
from componentbase.delegatedauth import (
    ANONYMOUS_CALLER,
    Caller,
    DelegatedAuth,
    caller_from_peer_cert,
)
from componentbase.rawupgrade import PEER_CERT

log = logging.getLogger(__name__)

ALWAYS_ALLOW = "AlwaysAllow"
WEBHOOK = "Webhook"
MODES = (ALWAYS_ALLOW, WEBHOOK)

VERBS = {
    "GET": "get",
    "HEAD": "get",
    "POST": "create",
    "PUT": "update",
    "PATCH": "patch",
    "DELETE": "delete",
}
SUBRESOURCES = (("/stats", "stats"), ("/metrics", "metrics"), ("/logs", "log"), ("/spec", "spec"))
STREAMING = ("/exec/", "/attach/", "/portForward/", "/run/")

Scope = dict[str, Any]


def is_subpath(path: str, prefix: str) -> bool:
    """Kubernetes' isSubpath: `prefix` itself or below it."""
    return path == prefix or path.startswith(prefix + "/")


def request_attributes(method: str, path: str, node: str, upgrade: bool) -> dict[str, Any]:
    """The SubjectAccessReview attributes of a request to the kubelet."""
    verb = VERBS.get(method.upper(), "")
    if upgrade and path.startswith(STREAMING):
        verb = "create"
    subresource = next((sub for prefix, sub in SUBRESOURCES if is_subpath(path, prefix)), "proxy")
    return {
        "resourceAttributes": {
            "verb": verb,
            "version": "v1",
            "resource": "nodes",
            "subresource": subresource,
            "name": node,
        }
    }


@dataclass(frozen=True)
class Refusal:
    code: int
    message: str


class KubeletAuth:
    """The kubelet's authentication and authorization, from its flags."""

    def __init__(
        self,
        delegated: DelegatedAuth,
        node: str,
        *,
        anonymous: bool = False,
        client_ca: bool = False,
        mode: str = WEBHOOK,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown authorization mode {mode!r} (want one of {MODES})")
        self.delegated = delegated
        self.node = node
        self.anonymous = anonymous
        self.client_ca = client_ca
        self.mode = mode

    async def authenticate(self, authorization: str | None, peer_cert: Any) -> Caller | None:
        """The caller, or None (401)."""
        if self.client_ca and (caller := caller_from_peer_cert(peer_cert)) is not None:
            return caller
        if bearer_token(authorization) is not None:
            return await self.delegated.authenticate(authorization)
        return ANONYMOUS_CALLER if self.anonymous else None

    async def check(self, scope: Scope) -> Refusal | None:
        """None when the request may go on; else its refusal."""
        path = scope.get("path") or "/"
        if posixpath.normpath(path) != path.rstrip("/") and path != "/":
            return Refusal(400, "Bad Request: the path is not in canonical form")
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        caller = await self.authenticate(headers.get("authorization"), scope.get(PEER_CERT))
        if caller is None:
            return Refusal(401, "Unauthorized")
        if self.mode == ALWAYS_ALLOW:
            return None
        upgrade = scope["type"] == "websocket"
        method = scope.get("method") or "GET"
        attributes = request_attributes(method, path, self.node, upgrade)
        verdict = await self.delegated.authorize(caller, attributes)
        if verdict.allowed:
            return None
        attrs = attributes["resourceAttributes"]
        log.info(
            "Forbidden user=%s verb=%s subresource=%s path=%s",
            caller.name,
            attrs["verb"],
            attrs["subresource"],
            path,
        )
        return Refusal(
            403,
            f"Forbidden (user={caller.name}, verb={attrs['verb']}, resource=nodes, "
            f"subresource={attrs['subresource']})",
        )


class AuthMiddleware:
    """Every request and upgrade checked before it reaches a route."""

    def __init__(self, app: Any, auth: KubeletAuth) -> None:
        self.app = app
        self.auth = auth

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        refusal = await self.auth.check(scope)
        if refusal is None:
            await self.app(scope, receive, send)
            return
        response = PlainTextResponse(refusal.message, status_code=refusal.code)
        if scope["type"] == "http":
            await response(scope, receive, send)
        else:
            await WebSocket(scope, receive, send).send_denial_response(response)
