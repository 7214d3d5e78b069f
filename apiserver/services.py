"""The `kubernetes` Service in `default`, as every Kubernetes cluster has: the first
ClusterIP of the range, with Endpoints and an EndpointSlice (what kubectl describe
reads) pointing at this apiserver."""

from __future__ import annotations

from typing import TYPE_CHECKING

from api import errors
from api.resources import ENDPOINTS, ENDPOINTSLICES, SERVICES
from apiserver.registry import WriteOptions
from apiserver.requestinfo import RequestInfo

if TYPE_CHECKING:
    from apiserver.app import ApiServer


async def ensure_kubernetes_service(server: ApiServer) -> None:
    config = server.config
    address = config.advertise_address or (
        "127.0.0.1" if config.bind_address in ("0.0.0.0", "::", "") else config.bind_address
    )
    service = {
        "metadata": {
            "name": "kubernetes",
            "namespace": "default",
            "labels": {"component": "apiserver", "provider": "kubernetes"},
        },
        "spec": {
            "clusterIP": server.allocator.kubernetes_ip,
            "type": "ClusterIP",
            "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": config.port}],
        },
    }
    endpoints = {
        "metadata": {
            "name": "kubernetes",
            "namespace": "default",
            "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"},
        },
        "subsets": [
            {
                "addresses": [{"ip": address}],
                "ports": [{"name": "https", "port": config.port, "protocol": "TCP"}],
            }
        ],
    }
    endpointslice = {
        "metadata": {
            "name": "kubernetes",
            "namespace": "default",
            "labels": {"kubernetes.io/service-name": "kubernetes"},
        },
        "addressType": "IPv6" if ":" in address else "IPv4",
        "endpoints": [{"addresses": [address], "conditions": {"ready": True}}],
        "ports": [{"name": "https", "port": config.port, "protocol": "TCP"}],
    }
    opts = WriteOptions(field_manager="kube-apiserver")
    for res, obj in ((SERVICES, service), (ENDPOINTS, endpoints), (ENDPOINTSLICES, endpointslice)):
        try:
            await server.registry.create(RequestInfo(res, "default", None, None), obj, opts)
        except errors.AlreadyExists:
            pass
