"""The apiserver's HTTP surface: Kubernetes' paths, verbs and content types over the
registry, plus discovery, OpenAPI, health and authentication."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from typing import Any

import aetcd.exceptions
from fastapi import FastAPI, Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from api import conversion as conversions
from api import errors, remotecommand
from api.apiextensions import CustomResource
from api.rbac import Request as AuthzRequest
from api.resources import (
    COMPONENTSTATUSES,
    CUSTOMRESOURCEDEFINITIONS,
    EVENTS,
    REVIEWS,
    SELFSUBJECTREVIEWS,
    Resource,
)
from apiserver import (
    codec,
    componentstatus,
    discovery,
    eviction,
    health,
    offload,
    subresources,
    tables,
    watch,
    wsproxy,
)
from apiserver.admission import Admission
from apiserver.admission.certificates import CertificateApproval, CertificateSigning
from apiserver.admission.podsecurity import config as podsecurity_config
from apiserver.aggregator import Aggregator, Caller
from apiserver.allocator import Allocator
from apiserver.auth import User, is_public, load_token_file, read_secret_file
from apiserver.authn import (
    MASTERS,
    PEER_CERT,
    Authenticator,
    Unauthorized,
    anonymous,
    impersonated,
    impersonation_request,
    with_authenticated,
)
from apiserver.authz import (
    AlwaysAllow,
    AlwaysDeny,
    Authorizer,
    Decision,
    PrivilegedGroups,
    Union,
    forbidden,
    reviews,
)
from apiserver.authz.attributes import request_attributes
from apiserver.bootstraptoken import BootstrapTokens
from apiserver.compactor import Compactor
from apiserver.config import Config
from apiserver.conversion import ConvertingRegistry
from apiserver.customresources import CustomResources
from apiserver.encryption import Encryption
from apiserver.encryption import load as load_encryption_config
from apiserver.etcdclient import EtcdTLSFiles
from apiserver.inflight import MaxInFlight
from apiserver.kubeletclient import KubeletClient, KubeletClientConfig
from apiserver.kubernetesservice import KubernetesService
from apiserver.metrics import RequestMetrics
from apiserver.namespaces import NamespaceLifecycle
from apiserver.openapi.routes import router as openapi_router
from apiserver.options import (
    FIELD_VALIDATION,
    DeleteOptions,
    ListOptions,
    WriteOptions,
    query_flag,
)
from apiserver.priorityclasses import ensure_system_priority_classes
from apiserver.registry import Registry
from apiserver.requestinfo import RequestInfo, resolve
from apiserver.serviceaccount import jwt
from apiserver.serviceaccount.tokens import ServiceAccountTokens, TokenSettings
from apiserver.serviceaccount.tokens import review as token_review
from apiserver.services import ensure_default_ingress_class
from apiserver.storage import Storage, StorageError, prefix_key
from apiserver.watchcache import WatchCache

log = logging.getLogger(__name__)
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
NO_SPACE = "database space exceeded"  # etcd's words when its space quota is full
REVIEW_GROUPS = frozenset(r.group for r in REVIEWS)


def storage_encryption(config: Config) -> Encryption | None:
    """The value transformers of --encryption-provider-config (checked by __main__)."""
    path = config.encryption_provider_config
    return Encryption(load_encryption_config(path)) if path else None


def storage_ttls(config: Config) -> dict[str, int]:
    """The key prefixes whose objects expire: Events, --event-ttl after their last write
    (whole seconds, an etcd lease's unit; 0 keeps them), as Kubernetes' event registry."""
    if config.event_ttl <= 0:
        return {}
    return {prefix_key(EVENTS.storage_resource): max(1, round(config.event_ttl))}


class ApiServer:
    """Everything one apiserver process holds: connections and caches only, no state."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.storage = Storage(
            config.etcd_servers,
            tls=EtcdTLSFiles(config.etcd_cafile, config.etcd_certfile, config.etcd_keyfile),
            encryption=storage_encryption(config),
            ttls=storage_ttls(config),
        )
        self.allocator = Allocator(
            self.storage, config.service_cluster_ip_range, config.service_node_port_range
        )
        self.admission = Admission(
            self.storage,
            self.allocator,
            config.default_not_ready_toleration_seconds,
            config.default_unreachable_toleration_seconds,
            tuple(config.admission_disabled),
            mount_tokens=bool(config.service_account_signing_key_file),
            pod_security_config=podsecurity_config.load(config.admission_control_config_file),
        )
        self.registry = Registry(self.storage, self.admission)
        self.namespaces = NamespaceLifecycle(self.registry)
        self.admission.namespaces = self.namespaces
        self.cache = WatchCache(self.storage)
        self.crds = CustomResources(self.storage, self.registry)
        self.namespaces.extra_resources = self.crds.resources
        self.compactor = Compactor(self.storage, config.etcd_compaction_interval)
        self.kubernetes_service = KubernetesService(
            self.registry, self.cache, self.allocator, config
        )
        self.users = load_token_file(config.token_auth_file) if config.token_auth_file else None
        secret = read_secret_file(config.requestheader_secret_file)
        self.aggregator = Aggregator(self.storage, secret)
        self.kubelets = KubeletClient(
            KubeletClientConfig(
                config.kubelet_client_certificate,
                config.kubelet_client_key,
                config.kubelet_certificate_authority,
                config.kubelet_allow_local_addresses,
            )
        )
        self._setup_auth(config)

    def _setup_auth(self, config: Config) -> None:
        """Authenticators and authorizers from the flags (apiserver/authn, authz)."""
        modes = config.authorization_mode
        # As kube-apiserver: anonymous requests are not allowed with AlwaysAllow alone.
        anonymous_ok = config.anonymous_auth and modes != ["AlwaysAllow"]
        self.sa_tokens = service_account_tokens(self.storage, config)
        self.bootstrap_tokens = (
            BootstrapTokens(self.storage) if config.enable_bootstrap_token_auth else None
        )
        self.authenticator = Authenticator(
            self.users,
            bool(config.client_ca_file),
            anonymous_ok,
            self.sa_tokens,
            self.bootstrap_tokens,
        )
        if not self.authenticator.configured:
            log.warning(
                "NO AUTHENTICATION: neither --token-auth-file nor --client-ca-file is set; "
                "every caller is trusted as system:admin in system:masters"
            )
        self.policy = None
        self.policy_feed = None
        self.node_graph_feed = None
        self.aggregation = None
        authorizers: list[Authorizer] = []
        for mode in modes:
            if mode == "AlwaysAllow":
                authorizers.append(AlwaysAllow())
            elif mode == "AlwaysDeny":
                authorizers.append(AlwaysDeny())
            elif mode == "Node":
                from apiserver.authz.bootstrap import node_rules
                from apiserver.authz.node import NodeAuthorizer, NodeGraph, node_graph_feed

                graph = NodeGraph()
                self.node_graph_feed = node_graph_feed(self.storage, self.cache, graph)
                authorizers.append(NodeAuthorizer(graph, node_rules()))
            elif mode == "RBAC":
                from apiserver.authz.aggregation import Aggregation
                from apiserver.authz.escalation import RBACEscalation
                from apiserver.authz.rbac import PolicyIndex, RBACAuthorizer, policy_feed

                self.policy = PolicyIndex()
                self.policy_feed = policy_feed(self.storage, self.cache, self.policy)
                self.aggregation = Aggregation(self.registry, self.policy)
                authorizers.append(RBACAuthorizer(self.policy))
        self.authorizer = Union([PrivilegedGroups(MASTERS), *authorizers])
        self.allow_all = modes == ["AlwaysAllow"]
        if self.policy is not None:
            self.admission.plugins.append(
                RBACEscalation(self.storage, self.authorizer, self.policy)
            )
        self.admission.add_before_quota(
            CertificateApproval(self.storage, self.authorizer),
            CertificateSigning(self.storage, self.authorizer),
        )

    async def start(self) -> None:
        await self.storage.connect()
        await self.namespaces.bootstrap()
        await self.kubernetes_service.start()
        await ensure_system_priority_classes(self.registry)
        self.crds.start()
        await self.crds.ready()
        self.compactor.start()
        await ensure_default_ingress_class(self.registry)
        if self.policy_feed is not None and self.aggregation is not None:
            from apiserver.authz.bootstrap import ensure_bootstrap_policy

            await ensure_bootstrap_policy(self.registry)
            await self.policy_feed.start()
            self.aggregation.start()
        if self.node_graph_feed is not None:
            await self.node_graph_feed.start()

    async def stop(self) -> None:
        if self.aggregation is not None:
            await self.aggregation.stop()
        if self.policy_feed is not None:
            await self.policy_feed.stop()
        if self.node_graph_feed is not None:
            await self.node_graph_feed.stop()
        await self.kubernetes_service.stop()
        await self.compactor.stop()
        await self.crds.stop()
        await self.namespaces.stop()
        await self.admission.stop()
        await self.sa_tokens.stop()
        if self.bootstrap_tokens is not None:
            await self.bootstrap_tokens.stop()
        await self.cache.stop()
        await self.storage.close()


def service_account_tokens(storage: Storage, config: Config) -> ServiceAccountTokens:
    """The ServiceAccount token issuer and authenticator from the --service-account-*
    flags: the signing key signs, the key files (default: the signing key's public
    half) verify; the first issuer signs, all are accepted; --api-audiences default to
    the issuer, as kube-apiserver's."""
    signing = (
        jwt.load_private_key(config.service_account_signing_key_file)
        if config.service_account_signing_key_file
        else None
    )
    public: list[jwt.PublicKey] = []
    for path in config.service_account_key_files:
        public += jwt.load_public_keys(path)
    if signing is not None and not public:
        public.append(signing.public_key())
    if signing is None:
        log.warning(
            "no --service-account-signing-key-file: TokenRequest is off and pods get no "
            "ServiceAccount token volume"
        )
    settings = TokenSettings(
        issuer=config.service_account_issuers[0],
        issuers=list(config.service_account_issuers),
        api_audiences=config.api_audiences or list(config.service_account_issuers[:1]),
        public_keys=public,
        signing_key=signing,
        max_expiration=int(config.service_account_max_token_expiration) or None,
    )
    return ServiceAccountTokens(storage, settings)


GC_THRESHOLD0 = 7000  # CPython's default is 700 allocations between young collections


def quiet_collector() -> None:
    """Python's cyclic collector in a server that holds a large heap: what start-up
    built (schemas, OpenAPI documents, policy, caches) is frozen out of every later
    full collection (gc.freeze, as the gc documentation advises after start-up), and
    young collections run a tenth as often. Request garbage is freed by reference
    counting; only cycles wait for the collector, a little longer."""
    gc.collect()
    gc.freeze()
    _, second, third = gc.get_threshold()
    gc.set_threshold(GC_THRESHOLD0, second, third)


def create_app(config: Config) -> ASGIApp:
    server = ApiServer(config)

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await server.start()
        quiet_collector()
        yield
        await server.stop()

    app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)
    app.state.server = server

    @app.get("/metrics")
    async def metrics() -> Response:
        """Any authenticated caller (Kubernetes' RBAC grants it by
        nonResourceURLs: ["/metrics"]; minik has no RBAC yet)."""
        from componentbase.metrics import CONTENT_TYPE, exposition

        return Response(exposition(), media_type=CONTENT_TYPE)

    @app.get("/version")
    async def version() -> Response:
        return codec.json_response(discovery.version_info())

    async def etcd_check() -> None:
        async with asyncio.timeout(2):  # kube-apiserver's etcd check times out at 2 s
            await server.storage.revision()

    async def etcd_readiness_check() -> None:
        await etcd_check()
        async with asyncio.timeout(2):
            if alarms := await server.storage.alarms():
                raise StorageError(f"etcd alarm {', '.join(alarms)}: writes are refused")

    checks = health.base_checks(etcd_check, etcd_readiness_check)

    def health_route(endpoint: health.Endpoint) -> Callable[..., Awaitable[Response]]:
        async def answer(request: Request) -> Response:
            check = request.path_params.get("check")
            return await health.respond(endpoint, checks, request.query_params, check)

        return answer

    for endpoint in health.endpoints().values():
        app.add_route(f"/{endpoint.name}", health_route(endpoint), methods=["GET"])
        app.add_route(f"/{endpoint.name}/{{check}}", health_route(endpoint), methods=["GET"])

    @app.get("/api")
    async def core_versions(request: Request) -> Response:
        if discovery.wants_aggregated(request.headers.get("accept", "")):
            return codec.json_response(
                discovery.aggregated_discovery(core=True, extra=server.crds.resources()),
                content_type=discovery.AGGREGATED_CONTENT_TYPE,
            )
        return codec.json_response(discovery.api_versions())

    @app.get("/apis")
    async def groups(request: Request) -> Response:
        if discovery.wants_aggregated(request.headers.get("accept", "")):
            doc = discovery.aggregated_discovery(core=False, extra=server.crds.resources())
            doc["items"] += await server.aggregator.aggregated_groups()
            return codec.json_response(doc, content_type=discovery.AGGREGATED_CONTENT_TYPE)
        doc = discovery.api_group_list(server.crds.resources())
        for name, versions in (await server.aggregator.groups()).items():
            doc["groups"].append(discovery.api_group_entry(name, versions))
        return codec.json_response(doc)

    @app.get("/api/v1")
    async def core_resources() -> Response:
        return codec.json_response(discovery.api_resource_list("", "v1"))

    @app.get("/apis/{group}")
    async def group_info(group: str) -> Response:
        found = discovery.api_group(group, server.crds.resources())
        if found is None and (versions := (await server.aggregator.groups()).get(group)):
            found = {"kind": "APIGroup", "apiVersion": "v1"}
            found.update(discovery.api_group_entry(group, versions))
        if found is None:
            return codec.error_response(
                errors.ApiError(404, "the server could not find the requested resource")
            )
        return codec.json_response(found)

    @app.get("/apis/{group}/{version}")
    async def group_resources(request: Request, group: str, version: str) -> Response:
        if (proxied := await aggregated(request, group, version)) is not None:
            return proxied
        found = discovery.api_resource_list(group, version, server.crds.resources())
        if not found.get("resources"):
            return codec.error_response(
                errors.ApiError(404, "the server could not find the requested resource")
            )
        return codec.json_response(found)

    app.include_router(openapi_router)

    async def aggregated(request: Request, group: str, version: str) -> Response | None:
        return await aggregated_answer(server, request, group, version)

    async def exec_websocket(ws: WebSocket) -> None:
        await wsproxy.exec_websocket(server.registry, server.kubelets, ws)

    app.router.routes.append(
        WebSocketRoute("/api/v1/namespaces/{namespace}/pods/{name}/exec", exec_websocket)
    )

    async def attach_upgrade(ws: WebSocket) -> None:
        await wsproxy.stream_upgrade(server.registry, server.kubelets, ws, "attach")

    async def portforward_upgrade(ws: WebSocket) -> None:
        await wsproxy.stream_upgrade(server.registry, server.kubelets, ws, "portforward")

    pods = "/api/v1/namespaces/{namespace}/pods/{name}"
    app.router.routes.append(WebSocketRoute(f"{pods}/attach", attach_upgrade))
    app.router.routes.append(WebSocketRoute(f"{pods}/portforward", portforward_upgrade))
    remotecommand.quiet_denied_handshakes()
    # The resource API (the hot path) goes straight to `handle`; the rest of the
    # surface, WebSockets and the lifespan through FastAPI. Metrics, authentication and
    # the in-flight limit wrap both.
    resources = ResourceRoutes(server, app)
    limited = MaxInFlight(
        resources,
        max_read_only=config.max_requests_inflight,
        max_mutating=config.max_mutating_requests_inflight,
    )
    return RequestMetrics(Authentication(limited, server))  # outermost: refusals count


async def aggregated_answer(
    server: ApiServer, request: Request, group: str, version: str
) -> Response | None:
    """The answer of the server an APIService names, or None for our own groups."""
    if server.aggregator.is_builtin(group, version):
        return None
    try:
        apiservice = await server.aggregator.find(group, version)
        if apiservice is None:
            return None
        user = request.scope.get("minik.user") or anonymous()
        return await server.aggregator.proxy(request, apiservice, Caller(user.name, user.groups))
    except errors.ApiError as err:
        return codec.error_response(err)


def resource_path(path: str) -> tuple[str, str, str] | None:
    """(group, version, rest) of a resource API path — `/api/v1/<rest>` or
    `/apis/<group>/<version>/<rest>` — else None (discovery, OpenAPI, health...)."""
    if path.startswith("/api/v1/"):
        return "", "v1", path[8:]
    if path.startswith("/apis/"):
        parts = path[6:].split("/", 2)
        if len(parts) == 3 and parts[0] and parts[1]:
            return parts[0], parts[1], parts[2]
    return None


ALLOWED = ", ".join([*METHODS, "HEAD"])


class ResourceRoutes:
    """Pure ASGI: HTTP requests for the resource API are answered by `handle` here, past
    FastAPI's routing and its middleware (each layer a coroutine and often a wrapped
    `send` per request: about a fifth of a GET's CPU); everything else goes to `app`.
    Answers as the Starlette routes it replaces did: a method they did not list is a
    405 naming the allowed ones, an unexpected exception before the answer started a
    plain 500 (and is logged by the server)."""

    def __init__(self, server: ApiServer, app: ASGIApp) -> None:
        self.server = server
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = resource_path(scope["path"]) if scope["type"] == "http" else None
        if found is None:
            await self.app(scope, receive, send)
            return
        try:  # nothing is sent before the answer is made
            response = await self.answer(scope, receive, send, *found)
        except Exception:
            await PlainTextResponse("Internal Server Error", 500)(scope, receive, send)
            raise
        await response(scope, receive, send)

    async def answer(
        self, scope: Scope, receive: Receive, send: Send, group: str, version: str, rest: str
    ) -> Response:
        if scope["method"] not in METHODS and scope["method"] != "HEAD":
            return JSONResponse({"detail": "Method Not Allowed"}, 405, {"Allow": ALLOWED})
        request = Request(scope, receive, send)
        if group:
            proxied = await aggregated_answer(self.server, request, group, version)
            if proxied is not None:
                return proxied
        return await handle(self.server, request, group, version, rest)


class Authentication:
    """Who the caller is and whether they may do this (pure ASGI: no per-request task
    overhead): authenticate (apiserver/authn), apply impersonation headers when the
    caller may `impersonate`, then ask the authorizers (apiserver/authz). As in
    Kubernetes, a token that is presented and wrong is a 401 everywhere. With anonymous
    requests off, the public paths (/healthz, /version, ...) still answer without
    credentials, as minik always did; with no authenticator configured at all, every
    caller is an admin (the apiserver warns at start)."""

    def __init__(self, app: ASGIApp, server: ApiServer) -> None:
        self.app = app
        self.server = server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        server = self.server
        authn = server.authenticator
        if not authn.configured:
            scope["minik.user"] = ADMIN
            await self.app(scope, receive, send)
            return
        authorization = None
        impersonating = False
        for name, value in scope["headers"]:
            if name == b"authorization":
                authorization = value.decode("latin-1")
            elif name.startswith(b"impersonate-"):
                impersonating = True
        try:
            user = await authn.authenticate(authorization, scope.get(PEER_CERT))
        except Unauthorized:
            await deny(scope, receive, send, codec.error_response(errors.unauthorized()))
            return
        if user is None:
            if is_public(scope["path"]):
                await self.app(scope, receive, send)
                return
            await deny(scope, receive, send, codec.error_response(errors.unauthorized()))
            return
        try:
            if impersonating:
                user = self.impersonate(user, scope["headers"])
            # system:masters is allowed by the union's first authorizer
            # (PrivilegedGroups): no need to work out what it asks for
            if not server.allow_all and MASTERS not in user.groups:
                self.authorize(user, scope)
        except errors.ApiError as err:
            await deny(scope, receive, send, codec.error_response(err))
            return
        scope["minik.user"] = user
        await self.app(scope, receive, send)

    def authorize(self, user: User, scope: Scope) -> None:
        query = scope.get("query_string", b"").decode("latin-1")
        req = request_attributes(scope.get("method", "GET"), scope["path"], query)
        decision, reason = self.server.authorizer.authorize(user, req)
        if decision is not Decision.ALLOW:
            raise forbidden(user.name, req, reason)

    def impersonate(self, user: User, headers: list[tuple[bytes, bytes]]) -> User:
        """The user the Impersonate-* headers ask for, when `user` may impersonate
        each part (verb impersonate on users, groups, uids, serviceaccounts)."""
        name, groups, uid = impersonation_request(headers)
        if not name:
            raise errors.bad_request(
                "requested impersonation without impersonating a user (Impersonate-User)"
            )
        checks = []
        if name.startswith("system:serviceaccount:") and name.count(":") == 3:
            _, _, namespace, sa = name.split(":")
            checks.append(
                AuthzRequest(
                    verb="impersonate", resource="serviceaccounts", namespace=namespace, name=sa
                )
            )
        else:
            checks.append(AuthzRequest(verb="impersonate", resource="users", name=name))
        checks += [AuthzRequest(verb="impersonate", resource="groups", name=g) for g in groups]
        if uid:
            checks.append(
                AuthzRequest(
                    verb="impersonate", api_group="authentication.k8s.io", resource="uids", name=uid
                )
            )
        for req in checks:
            decision, reason = self.server.authorizer.authorize(user, req)
            if decision is not Decision.ALLOW:
                raise forbidden(user.name, req, reason)
        return impersonated(name, groups, uid)


ADMIN = with_authenticated("system:admin", "", (MASTERS,))


async def deny(scope: Scope, receive: Receive, send: Send, response: Response) -> None:
    """An error answer; a WebSocket upgrade gets it as its HTTP response (when the
    server can send one, else the handshake is just refused)."""
    websocket = scope["type"] == "websocket"
    if websocket and "websocket.http.response" not in scope.get("extensions", {}):
        await send({"type": "websocket.close", "code": 1008})
        return
    await response(scope, receive, send)


async def handle(
    server: ApiServer, request: Request, group: str, version: str, rest: str
) -> Response:
    warnings: list[str] = []
    try:
        if (
            group == "authentication.k8s.io"
            and version in ("v1beta1", "v1alpha1")
            and rest == "selfsubjectreviews"
            and request.method == "POST"
        ):
            res = replace(SELFSUBJECTREVIEWS, version=version)
            return await answer_review(server, request, res, None)
        info = resolve(group, version, rest.split("/"), server.crds.find)
        return await dispatch(server, request, info, warnings)
    except errors.ApiError as err:
        return codec.error_response(err, warnings)
    except (StorageError, aetcd.exceptions.ClientError) as err:
        if NO_SPACE in str(err):  # as kube-apiserver passes it on: a 500 naming the cause
            return codec.error_response(errors.internal(f"etcdserver: mvcc: {NO_SPACE}"))
        return codec.error_response(errors.ApiError(503, f"storage unavailable: {err}"))
    except RecursionError:  # a body deeper than some code path can walk: the caller's
        log.warning("%s %s: nesting too deep", request.method, request.url.path)
        return codec.error_response(errors.bad_request("nesting too deep"), warnings)
    except Exception as err:
        log.exception("%s %s failed", request.method, request.url.path)
        return codec.error_response(errors.internal(f"{type(err).__name__}: {err}"), warnings)


async def read_body(
    server: ApiServer, request: Request, *, patch: bool = False, opts: WriteOptions | None = None
) -> Any:
    """The decoded body (None when empty). With `opts` (a create or update), a JSON body
    with no null in it is marked as the request's own (WriteOptions.own_body)."""
    limit = server.config.max_request_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise errors.too_large(limit)
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise errors.too_large(limit)
    if not body.strip():
        if patch:
            raise errors.bad_request("the patch body is empty")
        return None
    content_type = request.headers.get("content-type")
    heavy = offload.heavy_body(len(body), codec.is_yaml(content_type))
    doc = await offload.maybe(heavy, codec.decode_body, body, content_type, patch)
    if opts is not None and codec.is_json(content_type) and b"null" not in body:
        opts.own_body = True
    return doc


def large_body(request: Request) -> bool:
    declared = request.headers.get("content-length", "")
    return declared.isdigit() and int(declared) > offload.BODY_BYTES


def write_options(params: dict[str, str], request: Request) -> WriteOptions:
    validation = params.get("fieldValidation") or "Warn"
    if validation not in FIELD_VALIDATION:
        raise errors.bad_request(
            f'fieldValidation: Unsupported value: "{validation}": supported '
            'values: "Ignore", "Warn", "Strict"'
        )
    return WriteOptions(
        field_manager=params.get("fieldManager"),
        field_validation=validation,
        dry_run=params.get("dryRun") == "All",
        force=query_flag(params, "force"),
        user=request.scope.get("minik.user"),
    )


async def dispatch(
    server: ApiServer, request: Request, info: RequestInfo, warnings: list[str]
) -> Response:
    method = request.method
    params = dict(request.query_params) if request.scope["query_string"] else {}
    res = info.resource
    accept = request.headers.get("accept", "")
    verb = _verb(method, info, params)
    if verb not in res.verbs and not info.subresource:
        raise errors.method_not_allowed(f"{verb} is not supported on {res.group_resource}")

    if info.subresource:
        return await dispatch_subresource(server, request, info, params, warnings)
    if res.group in REVIEW_GROUPS and res in REVIEWS:  # (a Resource's == is not cheap)
        return await answer_review(server, request, res, info.namespace)
    if res is COMPONENTSTATUSES:
        warnings.append(componentstatus.DEPRECATION)
        return await answer_component_statuses(server, info, verb, params, accept, warnings)

    # A served version stored in another shape goes through its conversion; tables
    # and watches read the stored form, which is what the printers know.
    conversion = conversions.for_resource(res)
    registry: Registry | ConvertingRegistry = server.registry
    stored_res: Resource = res
    served: Callable[[dict], dict] = _same
    if isinstance(res, CustomResource):
        served = lambda o: {**o, "apiVersion": res.api_version}  # noqa: E731
    list_opts: Callable[[Resource, dict[str, str]], ListOptions] = ListOptions.parse
    if conversion is not None:
        converting = ConvertingRegistry(server.registry, conversion)
        registry, stored_res, served = converting, conversion.storage, conversion.to_served
        list_opts = lambda _res, p: converting.list_options(p)  # noqa: E731

    def as_table(objects: list[dict], list_meta: dict | None) -> dict:
        if conversion is not None:
            objects = [conversion.to_storage(o) for o in objects]
        return tables.to_table(
            stored_res, objects, list_meta, tables.include_object(accept, params)
        )

    if verb == "watch":
        table = tables.wants_table(accept)
        include = tables.include_object(accept, params) if table else "None"

        def encode(event_type: str, obj: dict) -> bytes:
            if table and event_type in ("ADDED", "MODIFIED", "DELETED"):
                obj = tables.to_table(stored_res, [obj], None, include)
            elif event_type in ("ADDED", "MODIFIED", "DELETED"):
                obj = served(obj)
            elif event_type == "BOOKMARK":
                obj = {**obj, "apiVersion": res.api_version}
            return codec.dumps({"type": event_type, "object": obj}) + b"\n"

        wopts = list_opts(res, params)
        wopts.check_watch()
        body = watch.stream(
            server.storage,
            server.cache,
            RequestInfo(stored_res, info.namespace, info.name, None),
            wopts,
            watch.WatchRequest.parse(params),
            encode,
            server.config.bookmark_interval_seconds,
            # a Table's rows carry ages: per watcher; plain objects: shared
            None if table else f"json:{res.api_version}/{res.kind}",
        )
        return StreamingResponse(
            body, media_type="application/json", headers={"Transfer-Encoding": "chunked"}
        )
    if verb == "list":
        lopts = list_opts(res, params)
        lopts.check_list()
        if lopts.any_version and not isinstance(registry, ConvertingRegistry):
            prefix = prefix_key(res.storage_resource, info.namespace)
            snapshot = await server.cache.snapshot(res.storage_resource, prefix)
            listed = await registry.list(info, lopts, snapshot)
            del snapshot  # not held while the answer is encoded and sent
        else:
            listed = await registry.list(info, lopts)
        heavy = len(listed["items"]) >= offload.LIST_ITEMS
        if tables.wants_table(accept):

            def table_response() -> Response:
                return codec.json_response(as_table(listed["items"], listed["metadata"]))

            return await offload.maybe(heavy, table_response)
        return await offload.maybe(heavy, codec.json_response, listed)
    if verb == "get":
        if conversion is None and not tables.wants_table(accept):
            return Response(await server.registry.get_encoded(info), media_type=codec.JSON)
        obj = await registry.get(info)
        if tables.wants_table(accept):
            return codec.json_response(as_table([obj], None))
        return codec.json_response(obj)
    if verb == "create":
        if server.crds.terminating(res):
            raise errors.method_not_allowed(
                "create not allowed while custom resource definition is terminating"
            )
        opts = write_options(params, request)
        obj = await registry.create(info, await read_body(server, request, opts=opts), opts)
        _learn(server, res, obj, opts)
        if opts.encoded is not None and registry is server.registry:  # made by the store
            headers = codec.warning_headers(opts.warnings + warnings)
            return Response(opts.encoded, 201, headers, codec.JSON)
        return codec.json_response(obj, 201, opts.warnings + warnings)
    if verb == "update":
        opts = write_options(params, request)
        obj = await registry.update(info, await read_body(server, request, opts=opts), opts)
        _learn(server, res, obj, opts)
        return codec.json_response(obj, 200, opts.warnings + warnings)
    if verb == "patch":
        opts = write_options(params, request)
        patch_type, doc = await read_body(server, request, patch=True)
        opts.offload = large_body(request) or offload.expensive_patch(patch_type, doc)
        if patch_type == "apply" and not opts.field_manager:
            raise errors.bad_request("PATCH, application/apply-patch+yaml requires fieldManager")
        obj, created = await registry.patch(info, patch_type, doc, opts)
        _learn(server, res, obj, opts)
        code = 201 if created else 200
        return await offload.maybe(
            opts.offload, codec.json_response, obj, code, opts.warnings + warnings
        )
    if verb == "delete":
        dopts = DeleteOptions.parse(params, await read_body(server, request))
        dopts.user = request.scope.get("minik.user")
        obj = await registry.delete(info, dopts)
        return codec.json_response(obj)
    if verb == "deletecollection":
        dopts = DeleteOptions.parse(params, await read_body(server, request))
        lopts = list_opts(res, params)
        lopts.check_list()  # kube-apiserver validates a deletecollection's list options too
        listed = await registry.delete_collection(info, lopts, dopts)
        return codec.json_response(listed)
    raise errors.method_not_allowed(f"{method} is not supported")


async def answer_review(
    server: ApiServer, request: Request, res: Resource, namespace: str | None
) -> Response:
    """A SelfSubjectReview or an access review: answered, never stored (201 as Kubernetes)."""
    body = await read_body(server, request)
    user: User = request.scope.get("minik.user") or anonymous()
    if res.kind == "TokenReview":
        return codec.json_response(await token_review(server.sa_tokens, server.users, body), 201)
    if res.group == "authentication.k8s.io":
        return codec.json_response(reviews.self_subject_review(res, body, user), 201)
    if res.kind == "SelfSubjectRulesReview":
        return codec.json_response(reviews.rules_review(res, body, user, server.authorizer), 201)
    answer = reviews.access_review(res, body, user, server.authorizer, namespace)
    return codec.json_response(answer, 201)


async def answer_component_statuses(
    server: ApiServer,
    info: RequestInfo,
    verb: str,
    params: dict[str, str],
    accept: str,
    warnings: list[str],
) -> Response:
    """ComponentStatuses: probed now, never stored (apiserver/componentstatus.py)."""
    res, config = info.resource, server.config
    known = componentstatus.components(
        config.component_status_scheduler_url,
        config.component_status_controller_manager_url,
        server.storage.revision,
    )
    if verb == "get":
        body = await componentstatus.get(known, info.name or "")
        items, list_meta = [body], None
    else:
        lopts = ListOptions.parse(res, params)
        body = await componentstatus.list_all(known)
        body["items"] = items = [o for o in body["items"] if lopts.matches(o)]
        list_meta = body["metadata"]
    if tables.wants_table(accept):
        body = tables.to_table(res, items, list_meta, tables.include_object(accept, params))
    return codec.json_response(body, 200, warnings)


def _same(obj: dict) -> dict:
    return obj


def _learn(server: ApiServer, res: Resource, obj: dict, opts: WriteOptions) -> None:
    """A CRD this process just wrote is served at once (the watch confirms it later),
    so a client that creates a CRD and then its objects is not refused in between."""
    crd = res.kind == CUSTOMRESOURCEDEFINITIONS.kind and res == CUSTOMRESOURCEDEFINITIONS
    if crd and not opts.dry_run:
        server.crds.learn(obj)


def _verb(method: str, info: RequestInfo, params: dict[str, str]) -> str:
    collection = info.is_collection
    if method == "GET":
        if collection:
            return "watch" if query_flag(params, "watch") else "list"
        return "get"
    if method == "POST":
        if not collection and not info.subresource:
            raise errors.method_not_allowed(
                f"POST is not supported on a single {info.resource.singular}"
            )
        return "create"
    if collection and method != "DELETE":
        raise errors.method_not_allowed(f"{method} is not supported on a collection")
    return {
        "PUT": "update",
        "PATCH": "patch",
        "DELETE": "deletecollection" if collection else "delete",
    }[method]


def table_or_object(request: Request, params: dict[str, str], res: Resource, obj: dict) -> Response:
    """A subresource GET answers a Table when asked, with its own kind's columns
    (`kubectl get deploy x --subresource=scale` prints DESIRED and AVAILABLE)."""
    accept = request.headers.get("accept", "")
    if tables.wants_table(accept):
        return codec.json_response(
            tables.to_table(res, [obj], None, tables.include_object(accept, params))
        )
    return codec.json_response(obj)


async def dispatch_subresource(
    server: ApiServer,
    request: Request,
    info: RequestInfo,
    params: dict[str, str],
    warnings: list[str],
) -> Response:
    registry = server.registry
    sub, method = info.subresource, request.method
    if sub in ("status", "ephemeralcontainers", "approval") and method in ("GET", "PUT", "PATCH"):
        if method == "GET":
            obj = await registry.get(RequestInfo(info.resource, info.namespace, info.name, None))
            return table_or_object(request, params, info.resource, obj)
        opts = write_options(params, request)
        if method == "PUT":
            obj = await registry.update(info, await read_body(server, request), opts)
        else:
            patch_type, doc = await read_body(server, request, patch=True)
            opts.offload = large_body(request) or offload.expensive_patch(patch_type, doc)
            obj, _ = await registry.patch(info, patch_type, doc, opts)
        return codec.json_response(obj, 200, opts.warnings + warnings)
    if sub == "scale" and method in ("GET", "PUT", "PATCH"):
        if method == "GET":
            scale = await subresources.get_scale(registry, info)
            return table_or_object(request, params, tables.SCALE, scale)
        opts = write_options(params, request)
        if method == "PUT":
            body = await read_body(server, request)
            patch_type = None
        else:
            patch_type, body = await read_body(server, request, patch=True)
        return codec.json_response(
            await subresources.write_scale(registry, info, body, patch_type, opts),
            200,
            opts.warnings + warnings,
        )
    if sub == "binding" and method == "POST":
        return codec.json_response(
            await subresources.bind(registry, info, await read_body(server, request)), 201
        )
    if sub == "eviction" and method == "POST":
        body, code = await eviction.evict(
            registry,
            info,
            await read_body(server, request),
            params,
            request.scope.get("minik.user"),
        )
        return codec.json_response(body, code)
    if sub == "token" and method == "POST" and info.resource.kind == "ServiceAccount":
        answer = await server.sa_tokens.request(
            info.namespace or "", info.name or "", await read_body(server, request)
        )
        return codec.json_response(answer, 201)
    if sub == "finalize" and method == "PUT":
        return codec.json_response(
            await subresources.finalize(registry, info, await read_body(server, request))
        )
    if sub in ("log", "exec", "attach", "portforward"):
        from apiserver import podproxy

        return await podproxy.proxy(registry, server.kubelets, request, info)
    raise errors.method_not_allowed(f"{method} is not supported on {info.resource.plural}/{sub}")
