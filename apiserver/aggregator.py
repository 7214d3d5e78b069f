"""The aggregation layer: group/versions that another server answers.

An `apiregistration.k8s.io/v1` APIService names a group/version and the Service in
front of the server that serves it (`spec.service`); requests under
`/apis/<group>/<version>` are proxied there, as kube-aggregator does:

- the backend is the first ready address of the Service's Endpoints (selector-less
  Services with hand-made Endpoints, as metrics-server's registration), else the
  Service's clusterIP, at the Service port's target port (`spec.service.port`);
- the caller's credentials are dropped and the user it authenticated as is passed on
  with Kubernetes' request-header authentication: `X-Remote-User` and one
  `X-Remote-Group` per group. Where kube-aggregator proves it is the front proxy with
  a client certificate (`--proxy-client-cert-file`), minik's apiserver presents a
  shared secret: `Authorization: Bearer <the first line of --requestheader-secret-file>`;
  the backend compares it with its own copy and trusts the X-Remote headers only then.
  Backends speak plain HTTP (minik's services are loopback or pod-network addresses);
- the registered groups join `/apis` (legacy and aggregated discovery); each backend's
  `APIResourceList` is fetched for the aggregated document and cached briefly, and so
  are its OpenAPI documents, which apiserver/openapi/aggregated.py merges into the
  apiserver's own (`/openapi/v2`, `/openapi/v3`).

An APIService whose `spec.service` is null is served locally (the built-in groups)
and proxies nothing.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import ssl
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from api import errors
from api.resources import APISERVICES, ENDPOINTS, SERVICES, group_versions
from apiserver.storage import Storage, object_key, prefix_key

log = logging.getLogger(__name__)
DISCOVERY_TTL = 10.0
_TIMEOUT = httpx.Timeout(connect=5.0, read=60.0, write=10.0, pool=5.0)


@functools.cache
def _tls() -> ssl.SSLContext:
    """httpx's default TLS context (certifi's CAs), made once. Each httpx client
    otherwise makes its own, loading the CA bundle (~10 ms of CPU), even for the plain
    http:// backends the aggregator dials: with a request to the metrics server every
    few seconds, a quarter of an idle cluster's apiserver CPU (py-spy, issue 18)."""
    return httpx.create_ssl_context()


_HOP_BY_HOP = {"connection", "transfer-encoding", "content-length", "keep-alive"}
# What a caller may not pass through to the backend: its credentials and any
# identity it claims itself.
_DROPPED = {"authorization", "host", "x-remote-user", "x-remote-group", "impersonate-user"}


@dataclass(frozen=True)
class Caller:
    """The authenticated user of a request (apiserver/app.py's Authentication)."""

    name: str
    groups: tuple[str, ...]


def service_of(apiservice: dict[str, Any]) -> dict[str, Any] | None:
    svc = (apiservice.get("spec") or {}).get("service")
    return svc if isinstance(svc, dict) and svc.get("name") else None


def backend_address(
    ref: dict[str, Any], service: dict[str, Any] | None, endpoints: dict[str, Any] | None
) -> tuple[str, int] | None:
    """Where the APIService's Service is served: (host, port), or None.

    The Service port named by `spec.service.port` gives the target port; its
    Endpoints give the address (the first ready one), as the aggregator's resolver."""
    port = int(ref.get("port") or 443)
    target: int = port
    port_name = ""
    for p in ((service or {}).get("spec") or {}).get("ports") or []:
        if p.get("port") == port:
            port_name = p.get("name") or ""
            tp = p.get("targetPort")
            target = tp if isinstance(tp, int) else port
    for subset in (endpoints or {}).get("subsets") or []:
        ports = subset.get("ports") or []
        chosen = next((p for p in ports if (p.get("name") or "") == port_name), None)
        chosen = chosen or (ports[0] if len(ports) == 1 else None)
        for addr in subset.get("addresses") or []:
            if addr.get("ip"):
                return addr["ip"], int((chosen or {}).get("port") or target)
    cluster_ip = ((service or {}).get("spec") or {}).get("clusterIP")
    if cluster_ip and cluster_ip != "None":
        return cluster_ip, port
    return None


def resource_list_to_discovery(group: str, version: str, body: dict[str, Any]) -> dict[str, Any]:
    """A backend's APIResourceList → one version of an aggregated APIGroupDiscovery."""
    resources: list[dict[str, Any]] = []
    subresources: dict[str, list[dict[str, Any]]] = {}
    for r in body.get("resources") or []:
        name = r.get("name") or ""
        gvk = {
            "group": r.get("group", group),
            "version": r.get("version", version),
            "kind": r.get("kind", ""),
        }
        if "/" in name:
            parent, _, sub = name.partition("/")
            subresources.setdefault(parent, []).append(
                {"subresource": sub, "responseKind": gvk, "verbs": r.get("verbs") or []}
            )
            continue
        entry: dict[str, Any] = {
            "resource": name,
            "responseKind": gvk,
            "scope": "Namespaced" if r.get("namespaced") else "Cluster",
            "singularResource": r.get("singularName") or "",
            "verbs": r.get("verbs") or [],
        }
        if r.get("shortNames"):
            entry["shortNames"] = r["shortNames"]
        resources.append(entry)
    for entry in resources:
        if entry["resource"] in subresources:
            entry["subresources"] = subresources[entry["resource"]]
    return {"version": version, "resources": resources, "freshness": "Current"}


class Aggregator:
    def __init__(self, storage: Storage, secret: str | None) -> None:
        self.storage = storage
        self.secret = secret
        self._fetched: dict[tuple[str, str], tuple[float, bytes | None]] = {}
        self._builtin = set(group_versions())

    def is_builtin(self, group: str, version: str) -> bool:
        return (group, version) in self._builtin

    async def find(self, group: str, version: str) -> dict[str, Any] | None:
        """The APIService of a non-built-in group/version that a Service serves."""
        if self.is_builtin(group, version):
            return None
        obj = await self.storage.get(object_key(APISERVICES.plural, None, f"{version}.{group}"))
        return obj if obj is not None and service_of(obj) is not None else None

    async def remote(self) -> list[dict[str, Any]]:
        """Every APIService served elsewhere, by group then descending versionPriority."""
        items, _ = await self.storage.list(prefix_key(APISERVICES.plural))
        remote = [o for o in items if service_of(o) is not None]
        remote = [o for o in remote if not self.is_builtin(*group_version(o))]

        def order(o: dict[str, Any]) -> tuple[int, str, int]:
            spec = o.get("spec") or {}
            return (
                -int(spec.get("groupPriorityMinimum") or 0),
                spec.get("group", ""),
                -int(spec.get("versionPriority") or 0),
            )

        return sorted(remote, key=order)

    async def groups(self) -> dict[str, list[str]]:
        """group → its versions, preferred first."""
        out: dict[str, list[str]] = {}
        for o in await self.remote():
            group, version = group_version(o)
            if version not in out.setdefault(group, []):
                out[group].append(version)
        return out

    async def _backend(self, apiservice: dict[str, Any]) -> tuple[str, int]:
        ref = service_of(apiservice) or {}
        ns, name = ref.get("namespace", ""), ref.get("name", "")
        service = await self.storage.get(object_key(SERVICES.plural, ns, name))
        endpoints = await self.storage.get(object_key(ENDPOINTS.plural, ns, name))
        found = backend_address(ref, service, endpoints)
        if found is None:
            raise errors.ApiError(
                503, f'service "{ns}/{name}" has no endpoints', "ServiceUnavailable"
            )
        return found

    async def aggregated_groups(self) -> list[dict[str, Any]]:
        """The registered groups as aggregated discovery's APIGroupDiscovery items."""
        by_group: dict[str, list[dict[str, Any]]] = {}
        services = await self.remote()
        fetched = await asyncio.gather(*(self._resource_list(o) for o in services))
        for o, body in zip(services, fetched, strict=True):
            group, version = group_version(o)
            versions = by_group.setdefault(group, [])
            if body is None:
                versions.append({"version": version, "resources": [], "freshness": "Stale"})
            else:
                versions.append(resource_list_to_discovery(group, version, body))
        return [
            {"metadata": {"name": group, "creationTimestamp": None}, "versions": versions}
            for group, versions in by_group.items()
        ]

    async def _resource_list(self, apiservice: dict[str, Any]) -> dict[str, Any] | None:
        group, version = group_version(apiservice)
        data = await self.fetch(apiservice, f"/apis/{group}/{version}")
        try:
            body = json.loads(data) if data is not None else None
        except ValueError:
            return None
        return body if isinstance(body, dict) else None

    async def fetch(self, apiservice: dict[str, Any], path: str) -> bytes | None:
        """The body of a GET of `path` on the APIService's backend as the apiserver
        itself (its discovery document, its OpenAPI), or None when it cannot be had;
        kept DISCOVERY_TTL seconds (a failure, one second) so that busy clients do not
        turn into one backend request each."""
        key = (apiservice.get("metadata", {}).get("name", ""), path)
        cached = self._fetched.get(key)
        now = time.monotonic()
        if cached is not None and cached[0] > now:
            return cached[1]
        body: bytes | None = None
        try:
            host, port = await self._backend(apiservice)
            headers = self._identity(Caller("system:apiserver", ("system:masters",)))
            headers.append(("Accept", "application/json"))
            async with httpx.AsyncClient(timeout=5.0, verify=_tls()) as client:
                answer = await client.get(f"http://{_host(host)}:{port}{path}", headers=headers)
            if answer.status_code == 200:
                body = answer.content
            else:
                log.info("%s of %s answered %d", path, key[0], answer.status_code)
        except (errors.ApiError, httpx.HTTPError) as err:
            log.info("%s of %s failed: %s", path, key[0], err)
        self._fetched[key] = (now + (DISCOVERY_TTL if body is not None else 1.0), body)
        return body

    def _identity(self, caller: Caller) -> list[tuple[str, str]]:
        headers = [("X-Remote-User", caller.name)]
        headers += [("X-Remote-Group", g) for g in caller.groups]
        if self.secret:
            headers.append(("Authorization", f"Bearer {self.secret}"))
        return headers

    async def proxy(self, request: Request, apiservice: dict[str, Any], caller: Caller) -> Response:
        host, port = await self._backend(apiservice)
        url = f"http://{_host(host)}:{port}{request.url.path}"
        headers = [(k, v) for k, v in request.headers.items() if k.lower() not in _DROPPED]
        headers += self._identity(caller)
        body = await request.body()
        client = httpx.AsyncClient(timeout=_TIMEOUT, verify=_tls())
        try:
            upstream = await client.send(
                client.build_request(
                    request.method,
                    url,
                    params=tuple(request.query_params.multi_items()),
                    headers=headers,
                    content=body or None,
                ),
                stream=True,
            )
        except httpx.HTTPError as err:
            await client.aclose()
            name = apiservice.get("metadata", {}).get("name", "")
            raise errors.ApiError(
                503,
                f'error trying to reach service: {err or type(err).__name__} (APIService "{name}")',
                "ServiceUnavailable",
            ) from err
        kept = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_BY_HOP}

        async def stream() -> AsyncIterator[bytes]:
            try:
                async for chunk in upstream.aiter_raw():
                    yield chunk
            finally:
                await upstream.aclose()
                await client.aclose()

        return StreamingResponse(stream(), status_code=upstream.status_code, headers=kept)


def group_version(apiservice: dict[str, Any]) -> tuple[str, str]:
    spec = apiservice.get("spec") or {}
    return spec.get("group") or "", spec.get("version") or ""


def _host(address: str) -> str:
    return f"[{address}]" if ":" in address else address
