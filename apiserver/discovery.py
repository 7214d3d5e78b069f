"""Discovery documents (`/version`, `/api`, `/apis`, `/api/v1`, `/apis/<g>/<v>`), built from
`api.resources.RESOURCES` so that kubectl learns every kind, short name and subresource
from the same table the server routes by.

kubectl 1.30+ first asks for *aggregated* discovery (one document for all groups);
older clients, and clients that do not ask for it, get the legacy documents."""

from __future__ import annotations

import base64
import hashlib
import json
import platform
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from api import errors
from api.resources import RESOURCES, Resource

# Resources learnt at run time (CustomResourceDefinitions' versions), passed in by the
# apiserver: each function below serves the static table plus these.
Extra = Sequence[Resource]

KUBE_MAJOR = "1"
KUBE_MINOR = "32"
GIT_VERSION = f"v{KUBE_MAJOR}.{KUBE_MINOR}.0-minik"

AGGREGATED_V2 = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
AGGREGATED_V2BETA1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
# The content type kubectl checks for, character for character.
AGGREGATED_CONTENT_TYPE = AGGREGATED_V2
_AGGREGATED_BY_VERSION = {"v2": AGGREGATED_V2, "v2beta1": AGGREGATED_V2BETA1}


@dataclass(frozen=True)
class Subresource:
    """What a subresource answers with; group/version/kind None means the parent's."""

    verbs: tuple[str, ...]
    kind: str | None = None
    group: str | None = None
    version: str | None = None


# Kubernetes' own answers for these subresources (kinds, verbs) as seen in its discovery.
SUBRESOURCES: dict[str, Subresource] = {
    "status": Subresource(("get", "patch", "update")),
    "scale": Subresource(("get", "patch", "update"), "Scale", "autoscaling", "v1"),
    "binding": Subresource(("create",), "Binding", "", "v1"),
    "log": Subresource(("get",)),
    "exec": Subresource(("create", "get"), "PodExecOptions", "", "v1"),
    "attach": Subresource(("create", "get"), "PodAttachOptions", "", "v1"),
    "portforward": Subresource(("create", "get"), "PodPortForwardOptions", "", "v1"),
    "ephemeralcontainers": Subresource(("get", "patch", "update"), "Pod", "", "v1"),
    "eviction": Subresource(("create",), "Eviction", "policy", "v1"),
    "finalize": Subresource(("update",)),
    "token": Subresource(("create",), "TokenRequest", "authentication.k8s.io", "v1"),
    "approval": Subresource(("get", "patch", "update")),
}


def version_info() -> dict[str, Any]:
    """`GET /version`. gitVersion must parse as semver (kubectl 1.33 insists)."""
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine or "unknown")
    return {
        "major": KUBE_MAJOR,
        "minor": KUBE_MINOR,
        "gitVersion": GIT_VERSION,
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z",
        "goVersion": f"python{platform.python_version()}",
        "compiler": platform.python_implementation().lower(),
        "platform": f"{platform.system().lower() or 'linux'}/{arch}",
    }


def storage_version_hash(resource: Resource) -> str:
    """Kubernetes' hash: base64 of the first 8 bytes of sha256("group/version/Kind")."""
    digest = hashlib.sha256(f"{resource.api_version}/{resource.kind}".encode()).digest()
    return base64.b64encode(digest[:8]).decode()


def api_versions(server_address: str | None = None) -> dict[str, Any]:
    """`GET /api` (legacy): the core group's versions."""
    cidrs = []
    if server_address:
        cidrs = [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]
    versions = [v for g, v in group_versions() if g == ""]
    return {"kind": "APIVersions", "versions": versions, "serverAddressByClientCIDRs": cidrs}


def _all(extra: Extra) -> tuple[Resource, ...]:
    return (*RESOURCES, *extra)


def group_versions(extra: Extra = ()) -> list[tuple[str, str]]:
    """(group, version) pairs in a stable order, core first."""
    seen: list[tuple[str, str]] = []
    for r in _all(extra):
        if (r.group, r.version) not in seen:
            seen.append((r.group, r.version))
    return seen


def by_group_version(group: str, version: str, extra: Extra = ()) -> list[Resource]:
    return [r for r in _all(extra) if r.group == group and r.version == version]


def _named_groups(extra: Extra = ()) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for group, version in group_versions(extra):
        if group:
            groups.setdefault(group, []).append(version)
    return groups


def _api_group(name: str, versions: list[str]) -> dict[str, Any]:
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def api_group_entry(name: str, versions: list[str]) -> dict[str, Any]:
    """One APIGroup's name, versions and preferred version (aggregated groups too)."""
    return _api_group(name, versions)


def api_group_list(extra: Extra = ()) -> dict[str, Any]:
    """`GET /apis` (legacy): every named group (the core group lives at /api)."""
    groups = [_api_group(name, vs) for name, vs in _named_groups(extra).items()]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def api_group(group: str, extra: Extra = ()) -> dict[str, Any] | None:
    """`GET /apis/<group>`; None for a group minik does not serve (a 404)."""
    versions = _named_groups(extra).get(group)
    if not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_api_group(group, versions)}


def _subresource(name: str) -> Subresource:
    return SUBRESOURCES.get(name, Subresource(("get",)))


def api_resource_list(group: str, version: str, extra: Extra = ()) -> dict[str, Any]:
    """`GET /api/v1` or `GET /apis/<group>/<version>` (legacy): APIResourceList. An
    unserved group-version gives an empty `resources` list, which callers answer with 404."""
    served = by_group_version(group, version, extra)
    entries: list[dict[str, Any]] = []
    for r in served:
        entry: dict[str, Any] = {
            "name": r.plural,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": list(r.verbs),
        }
        if r.short_names:
            entry["shortNames"] = list(r.short_names)
        if r.categories:
            entry["categories"] = list(r.categories)
        entry["storageVersionHash"] = storage_version_hash(r)
        entries.append(entry)
        for sub in r.subresources:
            info = _subresource(sub)
            sub_entry: dict[str, Any] = {
                "name": f"{r.plural}/{sub}",
                "singularName": "",
                "namespaced": r.namespaced,
            }
            if info.group is not None and (info.group, info.version) != (group, version):
                sub_entry["group"] = info.group
                sub_entry["version"] = info.version
            sub_entry["kind"] = info.kind or r.kind
            sub_entry["verbs"] = list(info.verbs)
            entries.append(sub_entry)
    group_version = f"{group}/{version}" if group else version
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": group_version,
        "resources": entries,
    }


def _gvk(group: str, version: str, kind: str) -> dict[str, str]:
    return {"group": group, "version": version, "kind": kind}


def _resource_discovery(r: Resource) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "resource": r.plural,
        "responseKind": _gvk(r.group, r.version, r.kind),
        "scope": "Namespaced" if r.namespaced else "Cluster",
        "singularResource": r.singular,
        "verbs": list(r.verbs),
    }
    if r.short_names:
        entry["shortNames"] = list(r.short_names)
    if r.categories:
        entry["categories"] = list(r.categories)
    subs = []
    for sub in r.subresources:
        info = _subresource(sub)
        group = r.group if info.group is None else info.group
        version = r.version if info.version is None else info.version
        subs.append(
            {
                "subresource": sub,
                "responseKind": _gvk(group, version, info.kind or r.kind),
                "verbs": list(info.verbs),
            }
        )
    if subs:
        entry["subresources"] = subs
    return entry


def aggregated_discovery(
    core: bool, api_version: str = "apidiscovery.k8s.io/v2", extra: Extra = ()
) -> dict[str, Any]:
    """`GET /api` (core=True) or `GET /apis` (core=False) as an APIGroupDiscoveryList."""
    groups: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for r in _all(extra):
        if (r.group == "") != core:
            continue
        groups.setdefault(r.group, {}).setdefault(r.version, []).append(_resource_discovery(r))
    items = []
    for name, versions in groups.items():
        metadata: dict[str, Any] = {"name": name} if name else {}
        metadata["creationTimestamp"] = None
        items.append(
            {
                "metadata": metadata,
                "versions": [
                    {"version": v, "resources": res, "freshness": "Current"}
                    for v, res in versions.items()
                ],
            }
        )
    return {
        "kind": "APIGroupDiscoveryList",
        "apiVersion": api_version,
        "metadata": {},
        "items": items,
    }


def _media_ranges(accept: str) -> list[tuple[str, dict[str, str]]]:
    ranges = []
    for part in (accept or "").split(","):
        pieces = [p.strip() for p in part.split(";")]
        params = {}
        for p in pieces[1:]:
            key, _, value = p.partition("=")
            params[key.strip().lower()] = value.strip()
        ranges.append((pieces[0].lower(), params))
    return ranges


def aggregated_content_type(accept: str) -> str | None:
    """The aggregated-discovery Content-Type to answer with, or None for legacy discovery.
    The client's first acceptable range wins: v2 from kubectl 1.30+, v2beta1 from
    1.27-1.29 (same document, its own apiVersion and Content-Type)."""
    for media, params in _media_ranges(accept):
        if (
            media == "application/json"
            and params.get("g") == "apidiscovery.k8s.io"
            and params.get("as") == "APIGroupDiscoveryList"
            and params.get("v") in _AGGREGATED_BY_VERSION
        ):
            return _AGGREGATED_BY_VERSION[params["v"]]
        if media in ("application/json", "*/*", "application/*"):
            return None
    return None


def wants_aggregated(accept: str) -> bool:
    """True when the client prefers the v2 aggregated document, to be answered with
    Content-Type `AGGREGATED_CONTENT_TYPE`. (`discovery_response` also serves v2beta1.)"""
    return aggregated_content_type(accept) == AGGREGATED_V2


def discovery_response(
    core: bool, accept: str, server_address: str | None = None
) -> tuple[dict[str, Any], str]:
    """(body, content type) for `GET /api` or `GET /apis`, honouring Accept."""
    content_type = aggregated_content_type(accept)
    if content_type is not None:
        version = "v2" if content_type == AGGREGATED_V2 else "v2beta1"
        return aggregated_discovery(core, f"apidiscovery.k8s.io/{version}"), content_type
    body = api_versions(server_address) if core else api_group_list()
    return body, "application/json"


def _json(body: Any, content_type: str = "application/json", status: int = 200) -> Response:
    return Response(
        json.dumps(body, separators=(",", ":")).encode(), status, media_type=content_type
    )


def not_found() -> errors.ApiError:
    return errors.ApiError(404, "the server could not find the requested resource", "NotFound")


router = APIRouter()
"""Discovery routes (self-contained: unknown groups answer a 404 Status)."""


@router.get("/version")
def get_version() -> Response:
    return _json(version_info())


@router.get("/api")
def get_api(request: Request) -> Response:
    host = request.headers.get("host")
    body, content_type = discovery_response(True, request.headers.get("accept", ""), host)
    return _json(body, content_type)


@router.get("/apis")
def get_apis(request: Request) -> Response:
    body, content_type = discovery_response(False, request.headers.get("accept", ""))
    return _json(body, content_type)


@router.get("/api/{version}")
def get_core_resources(version: str) -> Response:
    found = api_resource_list("", version)
    if not found["resources"]:
        return _json(not_found().status(), status=404)
    return _json(found)


@router.get("/apis/{group}")
def get_group(group: str) -> Response:
    found = api_group(group)
    if found is None:
        return _json(not_found().status(), status=404)
    return _json(found)


@router.get("/apis/{group}/{version}")
def get_group_resources(group: str, version: str) -> Response:
    found = api_resource_list(group, version)
    if not found["resources"]:
        return _json(not_found().status(), status=404)
    return _json(found)
