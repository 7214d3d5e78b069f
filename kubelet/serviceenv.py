"""Kubernetes' service environment variables (`enableServiceLinks`), pure.

Every container learns the services of its namespace (and always the `kubernetes`
service of `default`) as `<NAME>_SERVICE_HOST` / `_SERVICE_PORT[_<PORT>]` plus the
Docker-link style `<NAME>_PORT…` variables, exactly as the kubelet's `envvars`
package writes them. Services without a cluster IP (headless) give none.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

MASTER_NAMESPACE = "default"
MASTER_SERVICES = ("kubernetes",)


def _env_name(text: str) -> str:
    return text.upper().replace("-", "_")


def _has_cluster_ip(service: dict[str, Any]) -> bool:
    ip = (service.get("spec") or {}).get("clusterIP")
    return bool(ip) and ip != "None"


def visible_services(pod: dict[str, Any], services: Iterable[dict[str, Any]]) -> list[dict]:
    """The services a pod's containers hear about, by name (the pod's own namespace
    wins over the master services of `default`)."""
    namespace = (pod.get("metadata") or {}).get("namespace")
    links = (pod.get("spec") or {}).get("enableServiceLinks", True) is not False
    with_ip = [s for s in services if _has_cluster_ip(s)]
    chosen: dict[str, dict[str, Any]] = {}
    for service in with_ip:
        md = service.get("metadata") or {}
        if md.get("namespace") == MASTER_NAMESPACE and md.get("name") in MASTER_SERVICES:
            chosen[md["name"]] = service
    if links:
        for service in with_ip:
            md = service.get("metadata") or {}
            if md.get("namespace") == namespace:
                chosen[md.get("name", "")] = service
    return [chosen[name] for name in sorted(chosen)]


def service_env(pod: dict[str, Any], services: Iterable[dict[str, Any]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for service in visible_services(pod, services):
        spec = service.get("spec") or {}
        name = _env_name((service.get("metadata") or {}).get("name", ""))
        ip = spec["clusterIP"]
        ports = spec.get("ports") or []
        env[f"{name}_SERVICE_HOST"] = ip
        if ports:
            env[f"{name}_SERVICE_PORT"] = str(ports[0].get("port"))
        for port in ports:
            if port.get("name"):
                env[f"{name}_SERVICE_PORT_{_env_name(port['name'])}"] = str(port.get("port"))
        if not ports:
            continue
        first = ports[0]
        env[f"{name}_PORT"] = f"{(first.get('protocol') or 'TCP').lower()}://{ip}:{first['port']}"
        for port in ports:
            protocol = (port.get("protocol") or "TCP").upper()
            prefix = f"{name}_PORT_{port['port']}_{protocol}"
            env[prefix] = f"{protocol.lower()}://{ip}:{port['port']}"
            env[f"{prefix}_PROTO"] = protocol.lower()
            env[f"{prefix}_PORT"] = str(port["port"])
            env[f"{prefix}_ADDR"] = ip
    return env
