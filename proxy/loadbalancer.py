"""`type: LoadBalancer` the way k3s' ServiceLB does it: the node itself is the load
balancer. The proxy listens on the service port on the node's addresses and
publishes those addresses in `status.loadBalancer.ingress`, so `kubectl get svc`
shows an EXTERNAL-IP. A port this node cannot take leaves the Service pending
and earns it a `PortInUse` Event.

The proxy is the only writer of that status field. Each proxy adds or removes
only its own node's addresses, so proxies on several hosts do not fight.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from api.errors import NotFound
from api.resources import SERVICES
from client.events import WARNING, EventRecorder
from client.rest import AsyncClient

log = logging.getLogger(__name__)

Obj = dict[str, Any]


def current_ingress(service: Obj) -> list[Obj]:
    status = service.get("status") or {}
    return list((status.get("loadBalancer") or {}).get("ingress") or [])


def desired_ingress(service: Obj, node_ips: Sequence[str], serving: bool) -> list[Obj]:
    """The ingress list to publish: other nodes' entries kept, ours present exactly
    when this node serves every LoadBalancer port of the Service. A Service that is
    no longer a LoadBalancer loses its ingress altogether."""
    if (service.get("spec") or {}).get("type") != "LoadBalancer":
        return []
    ours = set(node_ips)
    entries = [e for e in current_ingress(service) if e.get("ip") not in ours]
    if serving:
        entries += [{"ip": ip, "ipMode": "VIP"} for ip in node_ips]
    return sorted(entries, key=_order)


def needs_update(service: Obj, node_ips: Sequence[str], serving: bool) -> bool:
    current = sorted(current_ingress(service), key=_order)
    return desired_ingress(service, node_ips, serving) != current


def _order(entry: Obj) -> tuple[str, str]:
    return (entry.get("ip") or "", entry.get("hostname") or "")


class StatusWriter:
    """Writes `services/<name>/status` and the Service's Events."""

    def __init__(self, api: AsyncClient, recorder: EventRecorder, node_ips: Sequence[str]) -> None:
        self.api = api
        self.recorder = recorder
        self.node_ips = list(node_ips)

    async def publish(self, service: Obj, serving: bool) -> None:
        """Bring the Service's ingress in line (raises ApiError to be retried)."""
        if not needs_update(service, self.node_ips, serving):
            return
        ingress = desired_ingress(service, self.node_ips, serving)
        meta = service["metadata"]
        patch = {"status": {"loadBalancer": {"ingress": ingress or None}}}
        try:
            await self.api.patch(
                SERVICES, meta["name"], patch, "merge", meta["namespace"], subresource="status"
            )
        except NotFound:
            return  # deleted meanwhile
        log.info(
            "service %s/%s: load balancer ingress %s",
            meta["namespace"],
            meta["name"],
            ", ".join(e["ip"] for e in ingress if e.get("ip")) or "<pending>",
        )

    async def port_in_use(self, service: Obj, what: Iterable[str], node_name: str) -> None:
        ports = ", ".join(what)
        await self.recorder.record(
            service,
            WARNING,
            "PortInUse",
            f"node {node_name} cannot serve {ports}: the port is already in use on the host",
        )
