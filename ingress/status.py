"""`status.loadBalancer.ingress` of the Ingresses this controller serves: the node's
addresses, as ingress-nginx publishes its node's (or Service's) address. Each
controller adds or removes only its own addresses, so controllers on several nodes
share an Ingress without fighting."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Obj = dict[str, Any]


def current(ingress: Obj) -> list[Obj]:
    status = ingress.get("status") or {}
    return list((status.get("loadBalancer") or {}).get("ingress") or [])


def desired(ingress: Obj, ips: Sequence[str], serving: bool) -> list[Obj]:
    """Others' entries kept; ours present exactly when we serve the Ingress."""
    ours = set(ips)
    entries = [e for e in current(ingress) if e.get("ip") not in ours]
    if serving:
        entries += [{"ip": ip} for ip in ips]
    return sorted(entries, key=_order)


def needs_update(ingress: Obj, ips: Sequence[str], serving: bool) -> bool:
    return desired(ingress, ips, serving) != sorted(current(ingress), key=_order)


def _order(entry: Obj) -> tuple[str, str]:
    return (entry.get("ip") or "", entry.get("hostname") or "")
