"""What the ingress serves, as pure logic: the Ingresses of one class, with their
Services and Endpoints, become a `RouteTable` that answers "which backend gets this
host and path?".

Matching follows the Kubernetes Ingress spec, in the order ingress-nginx and Traefik
agree on:

- hosts: an exact host beats a wildcard (`*.example.com` covers exactly one more DNS
  label: `a.example.com`, not `example.com` nor `a.b.example.com`), which beats the
  rules without a host; when the more specific level has no path that matches, the
  next level is tried (Traefik's fall-through);
- paths: the longest match wins, `Exact` before `Prefix` at equal length;
  `Prefix` matches element-wise (`/foo` matches `/foo`, `/foo/` and `/foo/bar`, not
  `/foobar`; a trailing `/` in the rule is ignored); `ImplementationSpecific` is a
  `Prefix` here; equal rules: the oldest Ingress wins;
- nothing matched: the oldest Ingress's `defaultBackend`, else 404.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from api.ingress import PATH_EXACT, class_of

Obj = dict[str, Any]
Address = tuple[str, int]


@dataclass(frozen=True)
class Backend:
    """A Service port and its ready endpoints (pod IP, target port)."""

    namespace: str
    service: str
    port: str  # the number or name the Ingress gave, for logs and errors
    endpoints: tuple[Address, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.service}:{self.port}"


@dataclass(frozen=True)
class Route:
    path: str
    path_type: str
    backend: Backend
    order: tuple[str, str] = ("", "")  # (creationTimestamp, namespace/name) of its Ingress

    def sort_key(self) -> tuple[int, int, tuple[str, str]]:
        length = len(self.path) if self.path_type == PATH_EXACT else len(self.path.rstrip("/"))
        return (-length, 0 if self.path_type == PATH_EXACT else 1, self.order)

    def matches(self, path: str) -> bool:
        return path_matches(self.path, self.path_type, path)


def path_matches(rule_path: str, path_type: str, request_path: str) -> bool:
    """Kubernetes' path semantics (see the module docstring)."""
    if path_type == PATH_EXACT:
        return request_path == rule_path
    prefix = (rule_path or "/").rstrip("/")
    if not prefix:
        return True
    if not request_path.startswith(prefix):
        return False
    rest = request_path[len(prefix) :]
    return not rest or rest.startswith("/")


def normalize_host(host: str) -> str:
    """A Host header as a rule host: lower case, no port, no trailing dot."""
    host = host.strip().lower()
    if host.startswith("["):  # [::1]:8080
        return host[: host.find("]") + 1]
    name, _, _port = host.partition(":")
    return name.rstrip(".")


def wildcard_parent(host: str) -> str | None:
    """The domain a one-label wildcard must name to cover `host` (`a.b.c` -> `b.c`)."""
    first, dot, rest = host.partition(".")
    return rest if first and dot and rest else None


@dataclass
class RouteTable:
    exact: dict[str, list[Route]] = field(default_factory=dict)
    wildcard: dict[str, list[Route]] = field(default_factory=dict)  # "*.b.c" under "b.c"
    any_host: list[Route] = field(default_factory=list)
    default: Backend | None = None

    def match(self, host: str, path: str) -> Backend | None:
        host = normalize_host(host)
        levels: list[list[Route] | None] = [self.exact.get(host)]
        parent = wildcard_parent(host)
        if parent is not None:
            levels.append(self.wildcard.get(parent))
        levels.append(self.any_host)
        for routes in levels:
            for route in routes or ():
                if route.matches(path):
                    return route.backend
        return self.default

    def backends(self) -> list[Backend]:
        """Every backend the table can send to (the pool keeps only their endpoints)."""
        found = [r.backend for routes in self.exact.values() for r in routes]
        found += [r.backend for routes in self.wildcard.values() for r in routes]
        found += [r.backend for r in self.any_host]
        return found + ([self.default] if self.default else [])


def serves(ingress: Obj, class_name: str, class_is_default: bool) -> bool:
    """Whether an Ingress is ours: it names our class, or names none and ours is the
    default class (admission normally fills the name in already)."""
    named = class_of(ingress)
    return named == class_name or (named is None and class_is_default)


def _key(obj: Obj) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace', '')}/{meta.get('name', '')}"


def resolve_backend(
    namespace: str,
    backend: Obj,
    services: Mapping[str, Obj],
    endpoints: Mapping[str, Obj],
) -> Backend | None:
    """The ready endpoints of an Ingress backend's Service port (none when the Service
    or port is missing: requests then get 503). Resource backends are not served."""
    ref = backend.get("service")
    if not isinstance(ref, dict):
        return None
    name = str(ref.get("name", ""))
    port_ref = ref.get("port") or {}
    wanted_name, wanted_number = port_ref.get("name"), port_ref.get("number")
    shown = str(wanted_name or wanted_number or "")
    service = services.get(f"{namespace}/{name}")
    if service is None:
        return Backend(namespace, name, shown)
    service_port = None
    for port in (service.get("spec") or {}).get("ports") or []:
        if (wanted_name and port.get("name") == wanted_name) or (
            wanted_number and port.get("port") == wanted_number
        ):
            service_port = port
            break
    if service_port is None or (service_port.get("protocol") or "TCP") != "TCP":
        return Backend(namespace, name, shown)
    port_name = service_port.get("name") or ""
    addresses: list[Address] = []
    ep = endpoints.get(f"{namespace}/{name}") or {}
    for subset in ep.get("subsets") or []:
        for port in subset.get("ports") or []:
            if (port.get("name") or "") != port_name or (port.get("protocol") or "TCP") != "TCP":
                continue
            for address in subset.get("addresses") or []:
                if address.get("ip"):
                    addresses.append((address["ip"], int(port["port"])))
    return Backend(namespace, name, shown, tuple(sorted(set(addresses))))


def build_table(
    ingresses: Iterable[Obj],
    services: Mapping[str, Obj],
    endpoints: Mapping[str, Obj],
) -> RouteTable:
    """The RouteTable of these Ingresses (already filtered to our class)."""
    table = RouteTable()
    ordered = sorted(
        ingresses,
        key=lambda i: ((i.get("metadata") or {}).get("creationTimestamp") or "", _key(i)),
    )
    for ing in ordered:
        meta, spec = ing.get("metadata") or {}, ing.get("spec") or {}
        if meta.get("deletionTimestamp"):
            continue
        namespace = meta.get("namespace", "")
        order = (meta.get("creationTimestamp") or "", _key(ing))
        default = spec.get("defaultBackend")
        if table.default is None and isinstance(default, dict):
            table.default = resolve_backend(namespace, default, services, endpoints)
        for rule in spec.get("rules") or []:
            host = str(rule.get("host") or "").lower()
            if host.startswith("*."):
                routes = table.wildcard.setdefault(host[2:], [])
            elif host:
                routes = table.exact.setdefault(host, [])
            else:
                routes = table.any_host
            for entry in (rule.get("http") or {}).get("paths") or []:
                resolved = resolve_backend(
                    namespace, entry.get("backend") or {}, services, endpoints
                )
                if resolved is None:
                    continue
                path_type = entry.get("pathType") or "ImplementationSpecific"
                routes.append(Route(entry.get("path") or "/", path_type, resolved, order))
    for routes in [*table.exact.values(), *table.wildcard.values(), table.any_host]:
        routes.sort(key=Route.sort_key)
    return table
