"""The one HTTP layer every minik component and the CLI use.

`Client` (blocking) and `AsyncClient` (asyncio) speak the Kubernetes REST API by
`api.resources.Resource`. Every operation is written once, as a generator that
yields the `Request`s it needs and receives their decoded answers (a sans-I/O
"operation"); the two classes differ only in how they send a request. Non-2xx
answers become `api.errors.ApiError` subclasses carrying the server's Status.
"""

from __future__ import annotations

import json
import logging
import os
import ssl
import tempfile
import urllib.request
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from api.errors import ApiError
from api.privatefile import write_private
from api.resources import Resource
from client.errors import ConnectionFailed
from client.kubeconfig import KubeConfig, KubeconfigError
from client.kubeconfig import load as load_kubeconfig
from client.netbackend import asyncio_transport
from client.tokenfile import TokenFileAuth

log = logging.getLogger(__name__)

ALL_NAMESPACES = ""  # pass as `namespace` to list/watch across every namespace

PATCH_CONTENT_TYPES = {
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "json": "application/json-patch+json",
    "apply": "application/apply-patch+yaml",
}
JSON = "application/json"
TABLE_ACCEPT = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
USER_AGENT = "minik/0.1.0"
# httpx's default pool keeps 20 idle connections, and httpcore (1.0.9) compares that
# limit with all the pool's connections, busy ones included (encode/httpcore#1000):
# a client holding 20 watches (a controller manager's informers) closed every
# connection as soon as its request ended, and each request paid a new TCP and TLS
# handshake, on both sides. The idle limit is therefore the pool's own size (what
# client-go's transport keeps per host is bounded by use, too), and an idle
# connection lives a minute (the apiserver closes one after 90 s).
MAX_CONNECTIONS = 100
KEEPALIVE_SECONDS = 60.0

T = TypeVar("T")


@dataclass
class Request:
    """One HTTP request an operation needs; `raw` asks for the httpx.Response itself."""

    method: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None
    raw: bool = False

    def encoded(self) -> tuple[dict[str, str], bytes | None, dict[str, str]]:
        """Query params without Nones, body bytes, and headers."""
        params = {k: _param(v) for k, v in self.params.items() if v is not None}
        headers = dict(self.headers)
        content = self.content
        if self.body is not None:
            content = json.dumps(self.body, separators=(",", ":")).encode()
            headers.setdefault("Content-Type", JSON)
        return params, content, headers


Operation = Generator[Request, Any, T]


def parse_watch_line(line: str | bytes) -> tuple[str, dict[str, Any]]:
    """Decode one newline-delimited watch event into (type, object)."""
    try:
        event = json.loads(line)
    except ValueError as err:
        raise ApiError(500, f"malformed watch event: {err}: {line[:200]!r}") from None
    if (
        not isinstance(event, dict)
        or not isinstance(event.get("type"), str)
        or not isinstance(event.get("object"), dict)
    ):
        raise ApiError(500, f"malformed watch event: {str(line)[:200]}")
    return event["type"], event["object"]


def error_from_response(status: int, content: bytes) -> ApiError:
    """Rebuild the server's Status (or a plain-text error) as a typed ApiError."""
    body: Any
    try:
        body = json.loads(content) if content else ""
    except ValueError:
        body = content.decode(errors="replace").strip()
    return ApiError.from_status(status, body)


class _Base:
    """Configuration and request building shared by Client and AsyncClient."""

    def __init__(
        self,
        config: KubeConfig | None = None,
        *,
        server: str | None = None,
        token: str | None = None,
        namespace: str | None = None,
        timeout: float = 30.0,
        transport: Any = None,
        user_agent: str = USER_AGENT,
        on_warning: Callable[[str], None] | None = None,
        max_connections: int | None = None,
    ) -> None:
        if config is None and server is None:
            config = load_kubeconfig()
        self.server = (server or (config.server if config else "")).rstrip("/")
        self.token = token if token is not None else (config.token if config else None)
        self.namespace = namespace or (config.namespace if config else None) or "default"
        self.on_warning = on_warning or (lambda text: log.warning("server warning: %s", text))
        headers = {"Accept": JSON, "User-Agent": user_agent}
        token_file = config.token_file if config and token is None else None
        if self.token and not token_file:
            headers["Authorization"] = f"Bearer {self.token}"
        self._http_options: dict[str, Any] = {
            "base_url": self.server,
            "headers": headers,
            "timeout": timeout,
            "verify": _verify(config),
        }
        if self.token and token_file:  # a pod's token: rotated by the kubelet
            self._http_options["auth"] = TokenFileAuth(token_file, self.token)
        if transport is not None:
            self._http_options["transport"] = transport
        pool = max_connections or MAX_CONNECTIONS  # more for many concurrent watches
        self._http_options["limits"] = httpx.Limits(
            max_connections=pool,
            max_keepalive_connections=pool,
            keepalive_expiry=KEEPALIVE_SECONDS,
        )

    # ---- namespaces -------------------------------------------------------------
    def _ns(
        self, res: Resource, namespace: str | None, obj: dict[str, Any] | None = None
    ) -> str | None:
        """The namespace a single-object request goes to (None for cluster-scoped)."""
        if not res.namespaced:
            return None
        obj_ns = ((obj or {}).get("metadata") or {}).get("namespace")
        return namespace or obj_ns or self.namespace

    def _collection_ns(self, res: Resource, namespace: str | None) -> str | None:
        """For list/watch: None → the default namespace; ALL_NAMESPACES → every one."""
        if not res.namespaced:
            return None
        return self.namespace if namespace is None else (namespace or None)

    # ---- operations (shared by both clients) -----------------------------------
    def _op_get(
        self,
        res: Resource,
        name: str,
        namespace: str | None,
        subresource: str | None,
        as_table: bool,
    ) -> Operation[dict[str, Any]]:
        headers = {"Accept": TABLE_ACCEPT} if as_table else {}
        path = _sub(res.path(name, self._ns(res, namespace)), subresource)
        return (yield Request("GET", path, headers=headers))

    def _op_list(
        self,
        res: Resource,
        namespace: str | None,
        label_selector: str | None,
        field_selector: str | None,
        resource_version: str | None,
        limit: int | None,
        as_table: bool,
    ) -> Operation[dict[str, Any]]:
        params: dict[str, Any] = {
            "labelSelector": label_selector or None,
            "fieldSelector": field_selector or None,
            "resourceVersion": resource_version,
            "limit": limit,
        }
        headers = {"Accept": TABLE_ACCEPT} if as_table else {}
        path = res.path(None, self._collection_ns(res, namespace))
        result: dict[str, Any] | None = None
        while True:
            page = yield Request("GET", path, params=dict(params), headers=headers)
            key = "rows" if page.get("kind") == "Table" else "items"
            if result is None:
                result = page
                result[key] = list(page.get(key) or [])
            else:
                result[key].extend(page.get(key) or [])
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                break
            params.update({"continue": token, "resourceVersion": None})
        result.setdefault("metadata", {}).pop("continue", None)
        result["metadata"].pop("remainingItemCount", None)
        return result

    def _op_create(
        self,
        res: Resource,
        obj: dict[str, Any],
        namespace: str | None,
        name: str | None,
        subresource: str | None,
        params: dict[str, Any] | None,
    ) -> Operation[dict[str, Any]]:
        path = _sub(res.path(name, self._ns(res, namespace, obj)), subresource)
        return (yield Request("POST", path, params=dict(params or {}), body=obj))

    def _op_update(
        self,
        res: Resource,
        obj: dict[str, Any],
        subresource: str | None,
        params: dict[str, Any] | None,
    ) -> Operation[dict[str, Any]]:
        name = (obj.get("metadata") or {}).get("name")
        if not name:
            raise ValueError("update needs metadata.name")
        path = _sub(res.path(name, self._ns(res, None, obj)), subresource)
        return (yield Request("PUT", path, params=dict(params or {}), body=obj))

    def _op_patch(
        self,
        res: Resource,
        name: str,
        patch: Any,
        patch_type: str,
        namespace: str | None,
        subresource: str | None,
        field_manager: str | None,
        force: bool | None,
        params: dict[str, Any] | None,
    ) -> Operation[dict[str, Any]]:
        if patch_type not in PATCH_CONTENT_TYPES:
            raise ValueError(
                f"unknown patch type {patch_type!r}; want one of {', '.join(PATCH_CONTENT_TYPES)}"
            )
        if patch_type == "apply" and not field_manager:
            raise ValueError("an apply patch needs a field_manager")
        query = {"fieldManager": field_manager, "force": force, **(params or {})}
        path = _sub(res.path(name, self._ns(res, namespace)), subresource)
        headers = {"Content-Type": PATCH_CONTENT_TYPES[patch_type]}
        return (yield Request("PATCH", path, params=query, body=patch, headers=headers))

    def _op_delete(
        self,
        res: Resource,
        name: str,
        namespace: str | None,
        propagation_policy: str | None,
        grace_period_seconds: int | None,
        preconditions: dict[str, Any] | None,
    ) -> Operation[dict[str, Any]]:
        body = _delete_options(propagation_policy, grace_period_seconds, preconditions)
        return (yield Request("DELETE", res.path(name, self._ns(res, namespace)), body=body))

    def _op_delete_collection(
        self,
        res: Resource,
        namespace: str | None,
        label_selector: str | None,
        field_selector: str | None,
        propagation_policy: str | None,
        grace_period_seconds: int | None,
    ) -> Operation[dict[str, Any]]:
        params = {"labelSelector": label_selector or None, "fieldSelector": field_selector or None}
        body = _delete_options(propagation_policy, grace_period_seconds, None)
        path = res.path(None, self._collection_ns(res, namespace))
        return (yield Request("DELETE", path, params=params, body=body))

    def _op_raw(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None,
        body: Any,
        content: bytes | None,
        headers: dict[str, str] | None,
    ) -> Operation[httpx.Response]:
        return (
            yield Request(
                method,
                path,
                params=dict(params or {}),
                body=body,
                content=content,
                headers=dict(headers or {}),
                raw=True,
            )
        )

    def _op_get_path(self, path: str, params: dict[str, Any] | None) -> Operation[Any]:
        return (yield Request("GET", path, params=dict(params or {})))

    def _watch_request(
        self,
        res: Resource,
        namespace: str | None,
        name: str | None,
        resource_version: str | None,
        label_selector: str | None,
        field_selector: str | None,
        timeout_seconds: int | None,
        allow_bookmarks: bool,
        as_table: bool,
    ) -> Request:
        fields = [f for f in (field_selector, f"metadata.name={name}" if name else None) if f]
        params = {
            "watch": "true",
            "resourceVersion": resource_version,
            "labelSelector": label_selector or None,
            "fieldSelector": ",".join(fields) or None,
            "timeoutSeconds": timeout_seconds,
            "allowWatchBookmarks": "true" if allow_bookmarks else None,
        }
        headers = {"Accept": TABLE_ACCEPT} if as_table else {}
        path = res.path(None, self._collection_ns(res, namespace))
        return Request("GET", path, params=params, headers=headers)

    # ---- answers ----------------------------------------------------------------
    def _answer(self, req: Request, resp: httpx.Response) -> Any:
        """Decode a response (already read), raising ApiError for non-2xx."""
        self._warnings(resp)
        if resp.status_code >= 300:
            raise error_from_response(resp.status_code, resp.content)
        if req.raw:
            return resp
        if not resp.content:
            return {}
        try:
            return resp.json()
        except ValueError:
            return resp.text

    def _warnings(self, resp: httpx.Response) -> None:
        for value in resp.headers.get_list("warning"):
            self.on_warning(_warning_text(value))

    def _connection_failed(self, err: httpx.TransportError) -> ConnectionFailed:
        return ConnectionFailed(self.server, err)


class Client(_Base):
    """Blocking client (httpx.Client): for the CLI, scripts and tests."""

    def __init__(self, config: KubeConfig | None = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self._http = httpx.Client(**self._http_options)

    @classmethod
    def from_kubeconfig(
        cls, path: str | None = None, context: str | None = None, **kwargs: Any
    ) -> Client:
        return cls(load_kubeconfig(path, context), **kwargs)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run(self, op: Operation[T]) -> T:
        try:
            req = next(op)
            while True:
                req = op.send(self._send(req))
        except StopIteration as done:
            return done.value

    def _send(self, req: Request) -> Any:
        params, content, headers = req.encoded()
        try:
            resp = self._http.request(
                req.method, req.path, params=params, content=content, headers=headers
            )
        except httpx.TransportError as err:
            raise self._connection_failed(err) from err
        return self._answer(req, resp)

    def get(
        self,
        res: Resource,
        name: str,
        namespace: str | None = None,
        *,
        subresource: str | None = None,
        as_table: bool = False,
    ) -> dict[str, Any]:
        return self._run(self._op_get(res, name, namespace, subresource, as_table))

    def list(
        self,
        res: Resource,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        resource_version: str | None = None,
        limit: int | None = None,
        as_table: bool = False,
    ) -> dict[str, Any]:
        return self._run(
            self._op_list(
                res, namespace, label_selector, field_selector, resource_version, limit, as_table
            )
        )

    def create(
        self,
        res: Resource,
        obj: dict[str, Any],
        namespace: str | None = None,
        *,
        name: str | None = None,
        subresource: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return self._run(self._op_create(res, obj, namespace, name, subresource, params))

    def update(
        self,
        res: Resource,
        obj: dict[str, Any],
        *,
        subresource: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return self._run(self._op_update(res, obj, subresource, params))

    def update_status(self, res: Resource, obj: dict[str, Any]) -> dict[str, Any]:
        return self._run(self._op_update(res, obj, "status", None))

    def patch(
        self,
        res: Resource,
        name: str,
        patch: Any,
        patch_type: str = "merge",
        namespace: str | None = None,
        *,
        subresource: str | None = None,
        field_manager: str | None = None,
        force: bool | None = None,
        params: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return self._run(
            self._op_patch(
                res, name, patch, patch_type, namespace, subresource, field_manager, force, params
            )
        )

    def delete(
        self,
        res: Resource,
        name: str,
        namespace: str | None = None,
        *,
        propagation_policy: str | None = None,
        grace_period_seconds: int | None = None,
        preconditions: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return self._run(
            self._op_delete(
                res, name, namespace, propagation_policy, grace_period_seconds, preconditions
            )
        )

    def delete_collection(
        self,
        res: Resource,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        propagation_policy: str | None = None,
        grace_period_seconds: int | None = None,
    ) -> dict[str, Any]:
        return self._run(
            self._op_delete_collection(
                res,
                namespace,
                label_selector,
                field_selector,
                propagation_policy,
                grace_period_seconds,
            )
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        return self._run(self._op_raw(method, path, params, body, content, headers))

    def get_path(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self._run(self._op_get_path(path, params))

    def watch(
        self,
        res: Resource,
        namespace: str | None = None,
        *,
        name: str | None = None,
        resource_version: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        timeout_seconds: int | None = None,
        allow_bookmarks: bool = False,
        as_table: bool = False,
    ) -> Generator[tuple[str, dict[str, Any]], None, None]:
        """Events as (type, object) until the server ends the stream; close() to stop."""
        req = self._watch_request(
            res,
            namespace,
            name,
            resource_version,
            label_selector,
            field_selector,
            timeout_seconds,
            allow_bookmarks,
            as_table,
        )
        return self._stream(req)

    def _stream(self, req: Request) -> Generator[tuple[str, dict[str, Any]], None, None]:
        params, _, headers = req.encoded()
        try:
            with self._http.stream(
                req.method, req.path, params=params, headers=headers, timeout=_watch_timeout(req)
            ) as resp:
                if resp.status_code >= 300:
                    resp.read()
                self._answer(Request(req.method, req.path, raw=True), resp)
                for line in resp.iter_lines():
                    if line.strip():
                        yield parse_watch_line(line)
        except httpx.TransportError as err:
            raise self._connection_failed(err) from err

    def stream_text(self, path: str, params: dict[str, Any] | None = None) -> Iterator[str]:
        """A text/plain answer (pod logs) line by line, newlines kept, as it arrives — so
        `follow=true` streams until the server ends it; close() the iterator to stop."""
        return self._stream_text(Request("GET", path, params=dict(params or {})))

    def _stream_text(self, req: Request) -> Iterator[str]:
        params, _, headers = req.encoded()
        headers["Accept"] = "text/plain, */*"
        try:
            with self._http.stream(
                req.method, req.path, params=params, headers=headers, timeout=_STREAM_TIMEOUT
            ) as resp:
                if resp.status_code >= 300:
                    resp.read()
                self._answer(Request(req.method, req.path, raw=True), resp)
                pending = ""
                for chunk in resp.iter_text():
                    *complete, pending = (pending + chunk).split("\n")
                    for line in complete:
                        yield line + "\n"
                if pending:
                    yield pending
        except httpx.TransportError as err:
            raise self._connection_failed(err) from err


class AsyncClient(_Base):
    """asyncio client (httpx.AsyncClient): for the apiserver's peers (controllers, kubelet)."""

    def __init__(self, config: KubeConfig | None = None, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self._http = self._new_http()

    def _new_http(self) -> httpx.AsyncClient:
        """httpx over asyncio's own transports (client/netbackend.py), unless a
        transport was given or the environment names a proxy (httpx's own then)."""
        options = self._http_options
        if "transport" not in options and not _environment_proxies():
            transport = asyncio_transport(options["verify"], options["limits"])
            options = {**options, "transport": transport}
        return httpx.AsyncClient(**options)

    @classmethod
    def from_kubeconfig(
        cls, path: str | None = None, context: str | None = None, **kwargs: Any
    ) -> AsyncClient:
        return cls(load_kubeconfig(path, context), **kwargs)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def reload_client_certificate(self, cert_file: str, key_file: str) -> None:
        """Use a rotated client certificate: loaded into the TLS context, then every
        connection closed (watches too; their informers watch again), as the kubelet's
        transport does when its certificate rotates, so the apiserver sees only the new
        one from now on."""
        ctx = self._http_options["verify"]
        if not isinstance(ctx, ssl.SSLContext):
            raise KubeconfigError("this client has no TLS context to load a certificate into")
        ctx.load_cert_chain(cert_file, key_file)
        old, self._http = self._http, self._new_http()
        await old.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def _run(self, op: Operation[T]) -> T:
        try:
            req = next(op)
            while True:
                req = op.send(await self._send(req))
        except StopIteration as done:
            return done.value

    async def _send(self, req: Request) -> Any:
        params, content, headers = req.encoded()
        try:
            resp = await self._http.request(
                req.method, req.path, params=params, content=content, headers=headers
            )
        except httpx.TransportError as err:
            raise self._connection_failed(err) from err
        return self._answer(req, resp)

    async def get(
        self,
        res: Resource,
        name: str,
        namespace: str | None = None,
        *,
        subresource: str | None = None,
        as_table: bool = False,
    ) -> dict[str, Any]:
        return await self._run(self._op_get(res, name, namespace, subresource, as_table))

    async def list(
        self,
        res: Resource,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        resource_version: str | None = None,
        limit: int | None = None,
        as_table: bool = False,
    ) -> dict[str, Any]:
        return await self._run(
            self._op_list(
                res, namespace, label_selector, field_selector, resource_version, limit, as_table
            )
        )

    async def create(
        self,
        res: Resource,
        obj: dict[str, Any],
        namespace: str | None = None,
        *,
        name: str | None = None,
        subresource: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return await self._run(self._op_create(res, obj, namespace, name, subresource, params))

    async def update(
        self,
        res: Resource,
        obj: dict[str, Any],
        *,
        subresource: str | None = None,
        params: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return await self._run(self._op_update(res, obj, subresource, params))

    async def update_status(self, res: Resource, obj: dict[str, Any]) -> dict[str, Any]:
        return await self._run(self._op_update(res, obj, "status", None))

    async def patch(
        self,
        res: Resource,
        name: str,
        patch: Any,
        patch_type: str = "merge",
        namespace: str | None = None,
        *,
        subresource: str | None = None,
        field_manager: str | None = None,
        force: bool | None = None,
        params: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return await self._run(
            self._op_patch(
                res, name, patch, patch_type, namespace, subresource, field_manager, force, params
            )
        )

    async def delete(
        self,
        res: Resource,
        name: str,
        namespace: str | None = None,
        *,
        propagation_policy: str | None = None,
        grace_period_seconds: int | None = None,
        preconditions: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        return await self._run(
            self._op_delete(
                res, name, namespace, propagation_policy, grace_period_seconds, preconditions
            )
        )

    async def delete_collection(
        self,
        res: Resource,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        propagation_policy: str | None = None,
        grace_period_seconds: int | None = None,
    ) -> dict[str, Any]:
        return await self._run(
            self._op_delete_collection(
                res,
                namespace,
                label_selector,
                field_selector,
                propagation_policy,
                grace_period_seconds,
            )
        )

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        body: Any = None,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        return await self._run(self._op_raw(method, path, params, body, content, headers))

    async def get_path(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return await self._run(self._op_get_path(path, params))

    def watch(
        self,
        res: Resource,
        namespace: str | None = None,
        *,
        name: str | None = None,
        resource_version: str | None = None,
        label_selector: str | None = None,
        field_selector: str | None = None,
        timeout_seconds: int | None = None,
        allow_bookmarks: bool = False,
        as_table: bool = False,
    ) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """Events as (type, object) until the server ends the stream; aclose() to stop."""
        req = self._watch_request(
            res,
            namespace,
            name,
            resource_version,
            label_selector,
            field_selector,
            timeout_seconds,
            allow_bookmarks,
            as_table,
        )
        return self._stream(req)

    def stream_text(self, path: str, params: dict[str, Any] | None = None) -> AsyncIterator[str]:
        """A text/plain answer (pod logs) line by line, newlines kept, as it arrives;
        aclose() the iterator to stop following."""
        return self._stream_text(Request("GET", path, params=dict(params or {})))

    async def _stream_text(self, req: Request) -> AsyncIterator[str]:
        params, _, headers = req.encoded()
        headers["Accept"] = "text/plain, */*"
        try:
            async with self._http.stream(
                req.method, req.path, params=params, headers=headers, timeout=_STREAM_TIMEOUT
            ) as resp:
                if resp.status_code >= 300:
                    await resp.aread()
                self._answer(Request(req.method, req.path, raw=True), resp)
                pending = ""
                async for chunk in resp.aiter_text():
                    *complete, pending = (pending + chunk).split("\n")
                    for line in complete:
                        yield line + "\n"
                if pending:
                    yield pending
        except httpx.TransportError as err:
            raise self._connection_failed(err) from err

    async def _stream(self, req: Request) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        params, _, headers = req.encoded()
        try:
            async with self._http.stream(
                req.method, req.path, params=params, headers=headers, timeout=_watch_timeout(req)
            ) as resp:
                if resp.status_code >= 300:
                    await resp.aread()
                self._answer(Request(req.method, req.path, raw=True), resp)
                async for line in resp.aiter_lines():
                    if line.strip():
                        yield parse_watch_line(line)
        except httpx.TransportError as err:
            raise self._connection_failed(err) from err


# A watch may be silent for long stretches: no read timeout, but bounded connects.
_STREAM_TIMEOUT = httpx.Timeout(connect=10.0, read=None, write=10.0, pool=10.0)
# A watch that asked for bookmarks hears from the apiserver at least every 15 s (a
# bookmark when nothing else happened: --bookmark-interval-seconds), so one silent
# three times that long has lost its connection (a cut link, a host gone without a
# FIN): dropped then, and resumed from its resourceVersion (client/watch.ResumableWatch),
# instead of waiting minutes for TCP to give up. client-go's HTTP/2 health check gives
# up at the same point: 30 s of silence, then a ping unanswered for 15 s.
WATCH_SILENCE_SECONDS = 45.0
_BOOKMARKED_WATCH_TIMEOUT = httpx.Timeout(
    connect=10.0, read=WATCH_SILENCE_SECONDS, write=10.0, pool=10.0
)


def _watch_timeout(req: Request) -> httpx.Timeout:
    bookmarked = (req.params or {}).get("allowWatchBookmarks") == "true"
    return _BOOKMARKED_WATCH_TIMEOUT if bookmarked else _STREAM_TIMEOUT


def _environment_proxies() -> bool:
    """HTTP(S)_PROXY or ALL_PROXY set (httpx's trust_env honours them)."""
    return any(key in urllib.request.getproxies() for key in ("http", "https", "all"))


def _sub(path: str, subresource: str | None) -> str:
    return f"{path}/{subresource}" if subresource else path


def _param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _delete_options(
    propagation_policy: str | None,
    grace_period_seconds: int | None,
    preconditions: dict[str, Any] | None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1"}
    if propagation_policy:
        body["propagationPolicy"] = propagation_policy
    if grace_period_seconds is not None:
        body["gracePeriodSeconds"] = grace_period_seconds
    if preconditions:
        body["preconditions"] = preconditions
    return body


def _warning_text(header: str) -> str:
    """`299 - "text"` → text (RFC 7234 warn-code, agent, quoted text)."""
    parts = header.split(" ", 2)
    if len(parts) == 3 and parts[0].isdigit():
        text = parts[2].strip()
        if text.startswith('"'):
            end = text.rfind('"')
            text = text[1 : end if end > 0 else None].replace('\\"', '"')
        return text
    return header


def _verify(config: KubeConfig | None) -> bool | ssl.SSLContext:
    """TLS settings from the kubeconfig: its CA (file or inline data), client certificate,
    or no verification at all when it says insecure-skip-tls-verify."""
    if config is None:
        return True
    if config.insecure_skip_tls_verify:
        return False
    has_ca = bool(config.certificate_authority_data or config.certificate_authority)
    has_cert = bool(config.client_certificate or config.client_certificate_data)
    if not (has_ca or has_cert):
        return True
    ctx = ssl.create_default_context(
        cafile=config.certificate_authority, cadata=config.certificate_authority_data
    )
    if has_cert:
        _load_client_certificate(ctx, config)
    return ctx


def _load_client_certificate(ctx: ssl.SSLContext, config: KubeConfig) -> None:
    """The kubeconfig's client certificate and key, from files or inline data (each
    side either way, as kubectl reads them). ssl loads keys only from files, so inline
    PEM passes through a private temporary directory that is removed at once."""
    cert, key = config.client_certificate, config.client_key
    cert_data, key_data = config.client_certificate_data, config.client_key_data
    if not (cert or cert_data) or not (key or key_data):
        raise KubeconfigError("the kubeconfig's user has a client certificate but no key")
    if not (cert_data or key_data):
        ctx.load_cert_chain(cert, key)  # type: ignore[arg-type]
        return
    with tempfile.TemporaryDirectory(prefix="minik-client-") as tmp:  # 0700
        if cert_data:
            cert = os.path.join(tmp, "client.crt")
            write_private(cert, cert_data.encode())
        if key_data:
            key = os.path.join(tmp, "client.key")
            write_private(key, key_data.encode())
        ctx.load_cert_chain(cert, key)  # type: ignore[arg-type]
