"""The apiservers' leases, for kube-apiserver's lease endpoint reconciler
(--endpoint-reconciler-type=lease, its default): each apiserver keeps the key
`/registry/masterleases/<advertise-address>` alive with a 15 s TTL (an etcd lease),
written again at every reconcile (10 s); the addresses with a live key are the
apiservers the `kubernetes` Service's endpoints list (apiserver/kubernetesservice).
One that stops gracefully deletes its key; one that dies is dropped when its TTL
ends. Each value is an Endpoints object naming the address, as Kubernetes stores it."""

from __future__ import annotations

from typing import Protocol

PREFIX = "/registry/masterleases/"
LEASE_TTL = 15  # seconds: kube-apiserver's masterEndpointReconcileTTL


class LeaseStorage(Protocol):
    async def put_with_ttl(self, key: str, obj: dict, ttl: int) -> None: ...
    async def delete_key(self, key: str) -> None: ...
    async def list(self, prefix: str) -> tuple[list[dict], int]: ...


def lease_object(address: str) -> dict:
    return {
        "kind": "Endpoints",
        "apiVersion": "v1",
        "metadata": {"name": address},
        "subsets": [{"addresses": [{"ip": address}]}],
    }


def lease_address(obj: dict) -> str | None:
    """The address a stored lease names (its first subset's first address)."""
    try:
        return str(obj["subsets"][0]["addresses"][0]["ip"]) or None
    except (KeyError, IndexError, TypeError):
        return None


class MasterLeases:
    """`update(ip)` renews this apiserver's lease, `addresses()` lists the live ones
    (sorted), `remove(ip)` deletes one."""

    def __init__(self, storage: LeaseStorage, ttl: int = LEASE_TTL) -> None:
        self.storage, self.ttl = storage, ttl

    async def update(self, address: str) -> None:
        await self.storage.put_with_ttl(PREFIX + address, lease_object(address), self.ttl)

    async def addresses(self) -> list[str]:
        items, _ = await self.storage.list(PREFIX)
        return sorted({a for a in map(lease_address, items) if a})

    async def remove(self, address: str) -> None:
        await self.storage.delete_key(PREFIX + address)
