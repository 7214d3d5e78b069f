"""What the apiserver creates at start when missing: the `kubernetes` Service in
`default`, as every Kubernetes cluster has (the first ClusterIP of the range, with
Endpoints and an EndpointSlice, what kubectl describe reads, pointing at this
apiserver), and minik's default IngressClass."""

from __future__ import annotations

from api import errors
from api.ingress import minik_ingress_class
from api.resources import ENDPOINTS, ENDPOINTSLICES, INGRESSCLASSES, SERVICES
from apiserver.config import Config
from apiserver.options import WriteOptions
from apiserver.registry import Registry
from apiserver.requestinfo import RequestInfo


async def ensure_kubernetes_service(registry: Registry, config: Config, cluster_ip: str) -> None:
    """Create the Service (at `cluster_ip`, the range's first address), its Endpoints and
    EndpointSlice unless they exist."""
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
            "clusterIP": cluster_ip,
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
            await registry.create(RequestInfo(res, "default", None, None), obj, opts)
        except errors.AlreadyExists:
            pass


async def ensure_default_ingress_class(registry: Registry) -> None:
    """minik's IngressClass `minik` (marked default), unless one of that name exists:
    a user's edits, or its deletion after start, are kept until the next start."""
    try:
        await registry.create(
            RequestInfo(INGRESSCLASSES, None, None, None),
            minik_ingress_class(),
            WriteOptions(field_manager="kube-apiserver"),
        )
    except errors.AlreadyExists:
        pass
