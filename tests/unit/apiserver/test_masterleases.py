"""The apiservers' lease keys: named by address, read back from what is stored."""

import asyncio

from apiserver.masterleases import LEASE_TTL, PREFIX, MasterLeases, lease_address, lease_object


class Store:
    def __init__(self) -> None:
        self.kv: dict[str, tuple[dict, int]] = {}

    async def put_with_ttl(self, key: str, obj: dict, ttl: int) -> None:
        self.kv[key] = (obj, ttl)

    async def delete_key(self, key: str) -> None:
        self.kv.pop(key, None)

    async def list(self, prefix: str) -> tuple[list[dict], int]:
        return [o for k, (o, _) in sorted(self.kv.items()) if k.startswith(prefix)], 1


def test_a_lease_names_its_address():
    assert lease_address(lease_object("192.0.2.7")) == "192.0.2.7"
    assert lease_address({"subsets": []}) is None


def test_update_list_remove():
    store = Store()
    leases = MasterLeases(store)

    async def scenario() -> list[list[str]]:
        await leases.update("192.0.2.9")
        await leases.update("192.0.2.10")
        await leases.update("192.0.2.9")
        first = await leases.addresses()
        await leases.remove("192.0.2.9")
        return [first, await leases.addresses()]

    assert asyncio.run(scenario()) == [["192.0.2.10", "192.0.2.9"], ["192.0.2.10"]]
    assert store.kv[PREFIX + "192.0.2.10"][1] == LEASE_TTL == 15
