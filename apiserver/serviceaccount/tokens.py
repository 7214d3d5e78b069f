"""The apiserver's side of ServiceAccount tokens: issuing them (the TokenRequest
subresource `serviceaccounts/{name}/token`, as pkg/registry/core/serviceaccount/storage/
token.go), and authenticating them (pkg/serviceaccount's validator): a valid signature
from our issuer, one of our audiences, not expired, and the ServiceAccount and the object
the token is bound to still there with the uids the token names. The same check answers
TokenReview."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from api import errors
from api.resources import TOKEN_REQUEST_API_VERSION, TOKEN_REQUEST_KIND
from api.timefmt import parse_time, rfc3339
from api.validation import field
from apiserver.admission.objectcache import NamespacedObjects
from apiserver.auth import User
from apiserver.authn import with_authenticated
from apiserver.authz.reviews import user_info
from apiserver.serviceaccount import jwt
from apiserver.storage import Storage, object_key

log = logging.getLogger(__name__)

Obj = dict[str, Any]

DEFAULT_EXPIRATION_SECONDS = 3600
MIN_EXPIRATION_SECONDS = 600  # ten minutes, as TokenRequest validation
MAX_EXPIRATION_SECONDS = 1 << 32
# a pod or secret being deleted keeps its tokens valid this long (validator.go)
DELETION_GRACE_SECONDS = 60
# user.Info extra keys (k8s.io/apiserver/pkg/authentication/serviceaccount)
POD_NAME_KEY = "authentication.kubernetes.io/pod-name"
POD_UID_KEY = "authentication.kubernetes.io/pod-uid"
NODE_NAME_KEY = "authentication.kubernetes.io/node-name"
NODE_UID_KEY = "authentication.kubernetes.io/node-uid"
CREDENTIAL_ID_KEY = "authentication.kubernetes.io/credential-id"
_BINDABLE = {"Pod": "pods", "Secret": "secrets"}


@dataclass
class TokenSettings:
    issuer: str  # the one tokens are signed with
    issuers: list[str]  # all that are accepted
    api_audiences: list[str]
    public_keys: list[jwt.PublicKey]
    signing_key: jwt.PrivateKey | None
    max_expiration: int | None = None


def _meta(obj: Obj | None) -> Obj:
    meta = (obj or {}).get("metadata")
    return meta if isinstance(meta, dict) else {}


def _deleted_long_ago(obj: Obj, now: float) -> bool:
    stamp = parse_time(_meta(obj).get("deletionTimestamp") or "")
    return stamp is not None and stamp < now - DELETION_GRACE_SECONDS


class ServiceAccountTokens:
    def __init__(
        self, storage: Storage, settings: TokenSettings, clock: Callable[[], float] = time.time
    ) -> None:
        self.storage = storage
        self.settings = settings
        self.clock = clock
        self.caches = {
            plural: NamespacedObjects(storage, plural)
            for plural in ("serviceaccounts", "pods", "secrets")
        }

    async def _get(self, plural: str, namespace: str, name: str) -> Obj | None:
        return await self.caches[plural].get(namespace, name)

    # ---- authentication --------------------------------------------------------------
    async def validate(
        self, token: str, audiences: list[str] | None = None
    ) -> tuple[User, list[str]]:
        """The user a token of ours stands for and the audiences it was accepted for
        (those of `audiences`, default the apiserver's, that it names). NotOurs when it
        is not one of our tokens, InvalidToken when it is and fails."""
        s = self.settings
        now = self.clock()
        payload = jwt.verify(token, s.public_keys, s.issuers, now)
        wanted = audiences or s.api_audiences
        accepted = [a for a in wanted if a in jwt.audiences_of(payload)]
        if not accepted:
            raise jwt.InvalidToken("token audiences are invalid for the target audiences")
        private = payload.get("kubernetes.io")
        if not isinstance(private, dict):
            raise jwt.InvalidToken("not a ServiceAccount token (no kubernetes.io claim)")
        namespace = str(private.get("namespace") or "")
        sa_claim = private.get("serviceaccount") or {}
        sa_name, sa_uid = str(sa_claim.get("name") or ""), str(sa_claim.get("uid") or "")
        if payload.get("sub") != jwt.username(namespace, sa_name):
            raise jwt.InvalidToken("the subject does not name the ServiceAccount")
        sa = await self._get("serviceaccounts", namespace, sa_name)
        if sa is None or _deleted_long_ago(sa, now):
            raise jwt.InvalidToken(f"service account {namespace}/{sa_name} has been deleted")
        if _meta(sa).get("uid") != sa_uid:
            raise jwt.InvalidToken(
                f"service account UID ({_meta(sa).get('uid')}) does not match claim ({sa_uid})"
            )
        extra: list[tuple[str, tuple[str, ...]]] = []
        for kind, plural in _BINDABLE.items():
            ref = private.get(kind.lower())
            if not isinstance(ref, dict):
                continue
            name, uid = str(ref.get("name") or ""), str(ref.get("uid") or "")
            obj = await self._get(plural, namespace, name)
            if obj is None or _deleted_long_ago(obj, now):
                raise jwt.InvalidToken(f"{kind.lower()} {namespace}/{name} has been deleted")
            if _meta(obj).get("uid") != uid:
                raise jwt.InvalidToken(
                    f"{kind.lower()} UID ({_meta(obj).get('uid')}) does not match claim ({uid})"
                )
            if kind == "Pod":
                extra += [(POD_NAME_KEY, (name,)), (POD_UID_KEY, (uid,))]
        node = private.get("node")
        if isinstance(node, dict) and node.get("name"):
            extra.append((NODE_NAME_KEY, (str(node["name"]),)))
            if node.get("uid"):
                extra.append((NODE_UID_KEY, (str(node["uid"]),)))
        if payload.get("jti"):
            extra.append((CREDENTIAL_ID_KEY, (f"JTI={payload['jti']}",)))
        user = with_authenticated(
            jwt.username(namespace, sa_name), sa_uid, jwt.groups(namespace), tuple(extra)
        )
        return user, accepted

    async def authenticate(self, token: str) -> User | None:
        """The caller of a request with this bearer token; None when the token is not a
        ServiceAccount token of ours. Raises InvalidToken when it is and is not valid."""
        try:
            user, _ = await self.validate(token)
        except jwt.NotOurs:
            return None
        return user

    # ---- TokenRequest ----------------------------------------------------------------
    async def request(self, namespace: str, name: str, body: Any) -> Obj:
        """POST serviceaccounts/{name}/token: a signed token for the ServiceAccount,
        bound to a pod or secret when the request says so."""
        s = self.settings
        if s.signing_key is None:
            raise errors.ApiError(
                404,
                "the server could not find the requested resource (token signing is not "
                "configured: --service-account-signing-key-file)",
                "NotFound",
            )
        if not isinstance(body, dict):
            raise errors.bad_request("the body must be a TokenRequest object")
        spec = body.get("spec") if isinstance(body.get("spec"), dict) else {}
        assert isinstance(spec, dict)
        expiration = spec.get("expirationSeconds")
        if expiration is None:
            expiration = DEFAULT_EXPIRATION_SECONDS
        causes = []
        if not isinstance(expiration, int) or isinstance(expiration, bool):
            causes.append(field.invalid("spec.expirationSeconds", expiration, "must be an integer"))
        elif expiration < MIN_EXPIRATION_SECONDS:
            causes.append(
                field.invalid(
                    "spec.expirationSeconds",
                    expiration,
                    "may not specify a duration less than 10 minutes",
                )
            )
        elif expiration > MAX_EXPIRATION_SECONDS:
            causes.append(
                field.invalid(
                    "spec.expirationSeconds",
                    expiration,
                    "may not specify a duration larger than 2^32 seconds",
                )
            )
        if causes:
            raise errors.invalid(TOKEN_REQUEST_KIND, name, causes, "authentication.k8s.io")
        assert isinstance(expiration, int)
        if s.max_expiration:
            expiration = min(expiration, s.max_expiration)
        audiences = [str(a) for a in spec.get("audiences") or [] if a] or list(s.api_audiences)
        sa = await self.storage.get(object_key("serviceaccounts", namespace, name))
        if sa is None:
            raise errors.not_found("serviceaccounts", name)
        bound, node, ref = await self._bound_object(namespace, name, spec.get("boundObjectRef"))
        now = int(self.clock())
        claims = jwt.claims(
            issuer=s.issuer,
            audiences=audiences,
            now=now,
            expiration_seconds=expiration,
            namespace=namespace,
            sa_name=name,
            sa_uid=str(_meta(sa).get("uid") or ""),
            bound=bound,
            node=node,
        )
        token = jwt.sign(claims, s.signing_key)
        out_spec: Obj = {"audiences": audiences, "expirationSeconds": expiration}
        if ref is not None:
            out_spec["boundObjectRef"] = ref
        meta = _meta(body)
        return {
            "kind": TOKEN_REQUEST_KIND,
            "apiVersion": TOKEN_REQUEST_API_VERSION,
            "metadata": {
                **meta,
                "name": name,
                "namespace": namespace,
                "creationTimestamp": rfc3339(now),
            },
            "spec": out_spec,
            "status": {"token": token, "expirationTimestamp": rfc3339(claims["exp"])},
        }

    async def _bound_object(
        self, namespace: str, sa_name: str, ref: Any
    ) -> tuple[jwt.BoundObject | None, jwt.BoundObject | None, Obj | None]:
        if not isinstance(ref, dict) or not ref:
            return None, None, None
        kind, api_version = str(ref.get("kind") or ""), str(ref.get("apiVersion") or "")
        name, want_uid = str(ref.get("name") or ""), str(ref.get("uid") or "")
        if kind not in _BINDABLE or api_version not in ("v1", ""):
            raise errors.bad_request(
                f"cannot bind token to object of type /{api_version or 'v1'}, Kind={kind}"
            )
        if not name:
            raise errors.invalid(
                TOKEN_REQUEST_KIND,
                sa_name,
                [field.required("spec.boundObjectRef.name")],
                "authentication.k8s.io",
            )
        plural = _BINDABLE[kind]
        obj = await self.storage.get(object_key(plural, namespace, name))
        if obj is None:
            raise errors.not_found(plural, name)
        uid = str(_meta(obj).get("uid") or "")
        node = None
        if kind == "Pod":
            pod_sa = (obj.get("spec") or {}).get("serviceAccountName") or "default"
            if pod_sa != sa_name:
                raise errors.bad_request(
                    f'cannot bind token for serviceaccount "{sa_name}" to pod running with '
                    "different serviceaccount name."
                )
            node_name = (obj.get("spec") or {}).get("nodeName")
            if node_name:
                node_obj = await self.storage.get(object_key("nodes", None, node_name))
                if node_obj is not None:
                    node = jwt.BoundObject("Node", node_name, str(_meta(node_obj).get("uid") or ""))
        if want_uid and want_uid != uid:
            raise errors.conflict(
                kind,
                name,
                f"the UID in the bound object reference ({want_uid}) does not match the UID "
                "in record. The object might have been deleted and then recreated",
            )
        out_ref = {"kind": kind, "apiVersion": "v1", "name": name, "uid": uid}
        return jwt.BoundObject(kind, name, uid), node, out_ref

    async def stop(self) -> None:
        for cache in self.caches.values():
            await cache.stop()


async def review(
    tokens: ServiceAccountTokens | None, static: dict[str, User] | None, body: Any
) -> Obj:
    """TokenReview's status for `spec.token` against `spec.audiences` (default the
    apiserver's): authenticated with the user, or not with an error."""
    if not isinstance(body, dict):
        raise errors.bad_request("the body must be a TokenReview object")
    spec = body.get("spec") if isinstance(body.get("spec"), dict) else {}
    assert isinstance(spec, dict)
    token = str(spec.get("token") or "")
    wanted = [str(a) for a in spec.get("audiences") or [] if a]
    status: Obj = {"authenticated": False, "user": {}}
    if not token:
        raise errors.invalid(
            "TokenReview", "", [field.required("spec.token")], "authentication.k8s.io"
        )
    user: User | None = None
    accepted: list[str] = []
    try:
        if tokens is not None:
            user, accepted = await tokens.validate(token, wanted or None)
    except jwt.NotOurs:
        user = None
    except jwt.InvalidToken as err:
        status["error"] = str(err)
    if user is None and "error" not in status and static and token in static:
        known = static[token]
        user = with_authenticated(known.name, known.uid, known.groups)
        accepted = wanted or (tokens.settings.api_audiences if tokens else [])
    if user is not None:
        status = {"authenticated": True, "user": user_info(user), "audiences": accepted}
    elif "error" not in status:
        status["error"] = "invalid bearer token"
    return {
        "kind": "TokenReview",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {**_meta(body), "creationTimestamp": None},
        "spec": spec,
        "status": status,
    }
