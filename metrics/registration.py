"""On start the metrics server registers itself, as metrics-server's manifests do:
a selector-less Service `kube-system/metrics-server` (port 443 → our port), its
Endpoints (our address, written by us since no controller owns them), and the
APIService `v1beta1.metrics.k8s.io` naming that Service. Its `Available` condition
follows whether we have scraped anything yet."""

from __future__ import annotations

import logging
from typing import Any

from api.errors import AlreadyExists, ApiError, Conflict, NotFound
from api.resources import APISERVICES, ENDPOINTS, SERVICES
from api.timefmt import rfc3339
from client.rest import AsyncClient
from metrics.storage import GROUP, VERSION

log = logging.getLogger(__name__)
NAMESPACE = "kube-system"
NAME = "metrics-server"
APISERVICE_NAME = f"{VERSION}.{GROUP}"
SERVICE_PORT = 443
LABELS = {"k8s-app": NAME}


def service() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": dict(LABELS)},
        "spec": {
            "ports": [
                {"name": "https", "port": SERVICE_PORT, "protocol": "TCP", "targetPort": "https"}
            ]
        },
    }


def endpoints(address: str, port: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": dict(LABELS)},
        "subsets": [
            {
                "addresses": [{"ip": address}],
                "ports": [{"name": "https", "port": port, "protocol": "TCP"}],
            }
        ],
    }


def apiservice() -> dict[str, Any]:
    return {
        "apiVersion": "apiregistration.k8s.io/v1",
        "kind": "APIService",
        "metadata": {"name": APISERVICE_NAME, "labels": dict(LABELS)},
        "spec": {
            "service": {"namespace": NAMESPACE, "name": NAME, "port": SERVICE_PORT},
            "group": GROUP,
            "version": VERSION,
            "insecureSkipTLSVerify": True,
            "groupPriorityMinimum": 100,
            "versionPriority": 100,
        },
    }


def available_condition(ready: bool) -> dict[str, Any]:
    return {
        "type": "Available",
        "status": "True" if ready else "False",
        "lastTransitionTime": rfc3339(),
        "reason": "Passed" if ready else "MissingEndpoints",
        "message": "all checks passed" if ready else "no metrics scraped yet",
    }


async def _apply(api: AsyncClient, res: Any, obj: dict[str, Any]) -> dict[str, Any]:
    """Create, or bring the live object's spec (or subsets) to ours."""
    md = obj["metadata"]
    try:
        return await api.create(res, obj, md.get("namespace"))
    except AlreadyExists:
        pass
    for _ in range(5):
        live = await api.get(res, md["name"], md.get("namespace"))
        merged = {**live, **{k: v for k, v in obj.items() if k not in ("metadata", "status")}}
        if res is SERVICES:  # keep the allocated clusterIP
            merged["spec"] = {**live.get("spec", {}), **obj["spec"]}
        merged["metadata"] = {**live["metadata"], "labels": md.get("labels", {})}
        try:
            return await api.update(res, merged)
        except Conflict:
            continue
    raise ApiError(409, f"{res.plural} {md['name']} keeps changing", "Conflict")


async def register(api: AsyncClient, address: str, port: int) -> None:
    await _apply(api, SERVICES, service())
    await _apply(api, ENDPOINTS, endpoints(address, port))
    await _apply(api, APISERVICES, apiservice())
    log.info("registered %s → %s:%d", APISERVICE_NAME, address, port)


async def set_available(api: AsyncClient, ready: bool) -> None:
    """Write the APIService's Available condition when it changes."""
    for _ in range(5):
        try:
            live = await api.get(APISERVICES, APISERVICE_NAME)
        except NotFound:
            return
        conditions = (live.get("status") or {}).get("conditions") or []
        current = next((c for c in conditions if c.get("type") == "Available"), None)
        want = "True" if ready else "False"
        if current is not None and current.get("status") == want:
            return
        others = [c for c in conditions if c.get("type") != "Available"]
        live["status"] = {"conditions": [*others, available_condition(ready)]}
        try:
            await api.update_status(APISERVICES, live)
            return
        except Conflict:
            continue
