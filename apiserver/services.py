"""What the apiserver creates at start when missing: minik's default IngressClass.
(The `kubernetes` Service is kept continuously: apiserver/kubernetesservice.py.)"""

from __future__ import annotations

from api import errors
from api.ingress import minik_ingress_class
from api.resources import INGRESSCLASSES
from apiserver.options import WriteOptions
from apiserver.registry import Registry
from apiserver.requestinfo import RequestInfo


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
