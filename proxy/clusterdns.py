"""The `kube-system/kube-dns` Service: how pods and kubectl find the cluster DNS.

It has no selector and no Endpoints: the proxy on every host answers on its
ClusterIP itself (port 53, UDP `dns` and TCP `dns-tcp`), so the proxy only makes
sure the Service exists and leaves its address alone.
"""

from __future__ import annotations

import logging
from typing import Any

from api.errors import AlreadyExists
from api.resources import SERVICES
from client.rest import AsyncClient

log = logging.getLogger(__name__)

NAMESPACE, NAME = "kube-system", "kube-dns"
KEY = f"{NAMESPACE}/{NAME}"


def kube_dns_service(cluster_ip: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": NAME,
            "namespace": NAMESPACE,
            "labels": {"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS"},
        },
        "spec": {
            "clusterIP": cluster_ip,
            "type": "ClusterIP",
            "ports": [
                {"name": "dns", "port": 53, "protocol": "UDP", "targetPort": 53},
                {"name": "dns-tcp", "port": 53, "protocol": "TCP", "targetPort": 53},
            ],
        },
    }


async def ensure_kube_dns_service(
    api: AsyncClient, cluster_ip: str, existing: dict[str, Any] | None
) -> None:
    """Create the Service when missing; warn when it holds another address."""
    if existing is not None:
        held = (existing.get("spec") or {}).get("clusterIP")
        if held != cluster_ip:
            log.warning(
                "%s has clusterIP %s, but this proxy serves DNS on %s", KEY, held, cluster_ip
            )
        return
    try:
        await api.create(SERVICES, kube_dns_service(cluster_ip), NAMESPACE)
        log.info("created Service %s with clusterIP %s", KEY, cluster_ip)
    except AlreadyExists:
        pass
