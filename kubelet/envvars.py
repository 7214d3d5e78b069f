"""A container's environment and command line, as Kubernetes computes them.

`env` entries are resolved in order; each value may refer to earlier ones (and to
service variables) as `$(NAME)`. `command` and `args` may refer to the whole
environment. `$$` escapes a `$`; an unknown `$(NAME)` is left as written. Values
may also come from the pod itself (`valueFrom.fieldRef`), from the container's
resources (`valueFrom.resourceFieldRef`) or from ConfigMaps and Secrets
(`configMapKeyRef`, `secretKeyRef`, `envFrom`; see kubelet/configdata.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from api.quantity import QuantityError, parse_quantity
from kubelet.configdata import ConfigData, env_from, key_ref_value


class EnvError(Exception):
    """The environment cannot be built (e.g. an unsupported source): the container
    waits with reason CreateContainerConfigError."""


def expand(text: str, lookup: Callable[[str], str | None]) -> str:
    """Kubernetes' `expansion.Expand`: `$(VAR)` → value, `$$` → `$`, else verbatim."""
    out: list[str] = []
    checkpoint = 0
    cursor = 0
    while cursor < len(text):
        if text[cursor] == "$" and cursor + 1 < len(text):
            out.append(text[checkpoint:cursor])
            read, is_var, advance = _read_variable(text[cursor + 1 :])
            if is_var:
                value = lookup(read)
                out.append(value if value is not None else f"$({read})")
            else:
                out.append(read)
            cursor += advance
            checkpoint = cursor + 1
        cursor += 1
    out.append(text[checkpoint:])
    return "".join(out)


def _read_variable(rest: str) -> tuple[str, bool, int]:
    """(name or literal, is a variable, characters consumed after the `$`)."""
    first = rest[0]
    if first == "$":
        return "$", False, 1
    if first == "(":
        end = rest.find(")", 1)
        if end < 0:
            return "$(", False, 1
        return rest[1:end], True, end + 1
    return "$" + first, False, 1


def mapping_lookup(*maps: Mapping[str, str]) -> Callable[[str], str | None]:
    """Look a name up in several maps, the first that has it wins."""

    def lookup(name: str) -> str | None:
        for m in maps:
            if name in m:
                return m[name]
        return None

    return lookup


def field_value(pod: dict[str, Any], path: str, pod_ip: str, host_ip: str) -> str:
    """The downward-API value of `fieldRef.fieldPath`."""
    md = pod.get("metadata") or {}
    spec = pod.get("spec") or {}
    simple = {
        "metadata.name": md.get("name", ""),
        "metadata.namespace": md.get("namespace", ""),
        "metadata.uid": md.get("uid", ""),
        "spec.nodeName": spec.get("nodeName", ""),
        "spec.serviceAccountName": spec.get("serviceAccountName")
        or spec.get("serviceAccount")
        or "",
        "status.podIP": pod_ip,
        "status.podIPs": pod_ip,
        "status.hostIP": host_ip,
        "status.hostIPs": host_ip,
    }
    if path in simple:
        return str(simple[path])
    for prefix, source in (("metadata.labels", "labels"), ("metadata.annotations", "annotations")):
        if path.startswith(prefix + "['") and path.endswith("']"):
            return str((md.get(source) or {}).get(path[len(prefix) + 2 : -2], ""))
        if path == prefix:
            items = sorted((md.get(source) or {}).items())
            return "\n".join(f'{k}="{v}"' for k, v in items)
    raise EnvError(f"unsupported fieldRef fieldPath {path!r}")


def resource_value(
    container: dict[str, Any], ref: dict[str, Any], node_allocatable: Mapping[str, str]
) -> str:
    """`resourceFieldRef`: limits (falling back to the node's allocatable) or requests,
    divided by `divisor` and rounded up, as Kubernetes does."""
    resource = ref.get("resource") or ""
    kind, _, name = resource.partition(".")
    resources = container.get("resources") or {}
    section = resources.get("limits" if kind == "limits" else "requests") or {}
    raw = section.get(name)
    if raw is None and kind == "limits":
        raw = node_allocatable.get(name)
    if raw is None:
        raw = 0
    try:
        value = parse_quantity(raw)
        divisor = parse_quantity(ref.get("divisor") or 1)
    except QuantityError as err:
        raise EnvError(f"resourceFieldRef {resource}: {err}") from None
    if divisor == 0:
        divisor = Decimal(1)
    return str(math.ceil(value / divisor))


def build_env(
    pod: dict[str, Any],
    container: dict[str, Any],
    *,
    pod_ip: str,
    host_ip: str,
    service_env: Mapping[str, str] | None = None,
    node_allocatable: Mapping[str, str] | None = None,
    config_data: ConfigData | None = None,
    warnings: list[str] | None = None,
) -> list[tuple[str, str]]:
    """The container's environment in Kubernetes' order: service variables first,
    then `envFrom`, then `env` entries (later ones override earlier ones of the same
    name). `config_data` holds the ConfigMaps and Secrets the pod refers to (None: missing);
    a missing one raises configdata.ConfigDataError unless optional. Skipped envFrom
    keys are reported in `warnings`."""
    service_env = dict(service_env or {})
    config_data = config_data or {}
    namespace = (pod.get("metadata") or {}).get("namespace") or ""
    resolved = env_from(namespace, container, config_data, warnings if warnings is not None else [])
    order: list[str] = list(service_env) + [k for k in resolved if k not in service_env]
    for entry in container.get("env") or []:
        name = entry.get("name") or ""
        if "value" in entry or not entry.get("valueFrom"):
            value = expand(str(entry.get("value") or ""), mapping_lookup(resolved, service_env))
        else:
            source = entry["valueFrom"]
            if source.get("fieldRef"):
                value = field_value(pod, source["fieldRef"].get("fieldPath", ""), pod_ip, host_ip)
            elif source.get("resourceFieldRef"):
                value = resource_value(
                    container, source["resourceFieldRef"], node_allocatable or {}
                )
            elif source.get("configMapKeyRef") or source.get("secretKeyRef"):
                kind = "ConfigMap" if source.get("configMapKeyRef") else "Secret"
                ref = source.get("configMapKeyRef") or source.get("secretKeyRef")
                found = key_ref_value(namespace, kind, ref, config_data)
                if found is None:
                    continue  # optional and missing: left out
                value = found
            else:
                kinds = ", ".join(sorted(source))
                raise EnvError(f"env {name}: valueFrom {kinds} is not supported by minik")
        if name not in resolved and name not in service_env:
            order.append(name)
        resolved[name] = value
    merged = {**service_env, **resolved}
    return [(name, merged[name]) for name in order]


def expand_command(
    container: dict[str, Any], env: list[tuple[str, str]]
) -> tuple[list[str] | None, list[str] | None]:
    """`command` and `args` with `$(VAR)` expanded against the final environment."""
    lookup = mapping_lookup(dict(env))
    command = container.get("command")
    args = container.get("args")
    return (
        [expand(str(part), lookup) for part in command] if command is not None else None,
        [expand(str(part), lookup) for part in args] if args is not None else None,
    )
