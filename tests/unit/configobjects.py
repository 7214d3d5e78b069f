"""ConfigMaps and Secrets as the api, apiserver and kubelet tests build them."""

from __future__ import annotations

import base64
from typing import Any

from api.defaults import apply_defaults


def b64(text: str) -> str:
    """text as a Secret's data holds it."""
    return base64.b64encode(text.encode()).decode()


def cm(**fields: Any) -> dict[str, Any]:
    """ConfigMap ns/cfg with the given top-level fields (data, binaryData, immutable)."""
    return {"metadata": {"name": "cfg", "namespace": "ns"}, **fields}


def secret(**fields: Any) -> dict[str, Any]:
    """Secret ns/s with the given top-level fields, defaulted as the apiserver stores it."""
    obj = {"metadata": {"name": "s", "namespace": "ns"}, **fields}
    apply_defaults("Secret", obj)
    return obj
