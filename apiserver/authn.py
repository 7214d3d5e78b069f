"""Who sent a request, as kube-apiserver's authenticator union: a bearer token from
--token-auth-file, a bootstrap token (--enable-bootstrap-token-auth,
apiserver/bootstraptoken) or a ServiceAccount token (a JWT signed by this cluster,
apiserver/serviceaccount), else an X.509 client certificate verified against
--client-ca-file (CN is the user, O the groups), else anonymous (`system:anonymous`
in `system:unauthenticated`) when --anonymous-auth allows it. Authenticated users
also get `system:authenticated`. A bearer token that is presented and wrong is a 401,
never anonymous, as in Kubernetes."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from api.credentials import bearer_token, certificate_identity
from apiserver.auth import User
from componentbase.rawupgrade import PEER_CERT

__all__ = ["PEER_CERT"]

log = logging.getLogger(__name__)

ANONYMOUS = "system:anonymous"
UNAUTHENTICATED = "system:unauthenticated"
AUTHENTICATED = "system:authenticated"
MASTERS = "system:masters"


class Unauthorized(Exception):
    """Credentials were presented and are not valid: 401."""


def with_authenticated(
    name: str,
    uid: str,
    groups: Sequence[str],
    extra: tuple[tuple[str, tuple[str, ...]], ...] = (),
) -> User:
    """A user as authenticators return it: `system:authenticated` added once."""
    groups = tuple(groups)
    if AUTHENTICATED not in groups:
        groups = (*groups, AUTHENTICATED)
    return User(name, uid, groups, extra)


def anonymous() -> User:
    return User(ANONYMOUS, "", (UNAUTHENTICATED,))


def user_from_peer_cert(cert: Mapping[str, Any] | None) -> User | None:
    """x509.CommonNameUserConversion: CN the user, each O a group. `cert` is
    ssl.SSLSocket.getpeercert()'s dict (only set when the chain verified)."""
    identity = certificate_identity(cert)
    return with_authenticated(identity[0], "", identity[1]) if identity else None


class TokenAuthenticator(Protocol):
    async def authenticate(self, token: str) -> User | None:
        """The token's user; None when the token is not this authenticator's kind;
        an exception (logged, then 401) when it is and is not valid."""
        ...


@dataclass
class Authenticator:
    tokens: dict[str, User] | None  # None: no token file
    client_ca: bool
    anonymous: bool
    service_accounts: TokenAuthenticator | None = None
    bootstrap_tokens: TokenAuthenticator | None = None  # --enable-bootstrap-token-auth

    @property
    def configured(self) -> bool:
        """Whether any authenticator is set up (else every caller is trusted)."""
        return self.tokens is not None or self.client_ca

    async def authenticate(self, authorization: str | None, peer_cert: Any) -> User | None:
        """The caller, or None when unauthenticated and anonymous requests are off.
        Raises Unauthorized for a bearer token that is not known."""
        token = bearer_token(authorization)
        if token is not None:
            user = (self.tokens or {}).get(token)
            if user is not None:
                return with_authenticated(user.name, user.uid, user.groups, user.extra)
            if self.bootstrap_tokens is not None:
                user = await self.bootstrap_tokens.authenticate(token)
                if user is not None:
                    return user
            if self.service_accounts is not None:
                try:
                    user = await self.service_accounts.authenticate(token)
                except Exception as err:
                    log.info("Unable to authenticate the request: %s", err)
                    raise Unauthorized() from err
                if user is not None:
                    return user
            raise Unauthorized()
        if self.client_ca and (user := user_from_peer_cert(peer_cert)) is not None:
            return user
        return anonymous() if self.anonymous else None


def impersonation_request(headers: Sequence[tuple[bytes, bytes]]) -> tuple[str, list[str], str]:
    """(user, groups, uid) from Impersonate-User/-Group/-Uid headers; user "" when none."""
    user, uid, groups = "", "", []
    for name, value in headers:
        if name == b"impersonate-user":
            user = value.decode("latin-1")
        elif name == b"impersonate-group":
            groups.append(value.decode("latin-1"))
        elif name == b"impersonate-uid":
            uid = value.decode("latin-1")
    return user, groups, uid


def impersonated(user: str, groups: list[str], uid: str) -> User:
    """The user a request acts as, as Kubernetes' impersonation filter builds it:
    `system:authenticated` added unless the user is anonymous (who gets
    `system:unauthenticated` when no group is asked for); a ServiceAccount with no
    groups given gets its account groups."""
    if not groups and user.startswith("system:serviceaccount:"):
        namespace = user.split(":")[2] if user.count(":") >= 3 else ""
        groups = ["system:serviceaccounts", f"system:serviceaccounts:{namespace}"]
    if user == ANONYMOUS:
        return User(user, uid, tuple(groups) if groups else (UNAUTHENTICATED,))
    return with_authenticated(user, uid, groups)
