"""The apiserver's hot path, pure parts: the stored form and a GET's answer made from
its bytes, single-key etcd reads grouped into one transaction (against a fake
client), the admission caches' own-write and revision rules, the resource paths the
front router takes, and system:masters allowed first."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import pytest

from api import schema
from api.rbac import Request
from apiserver.admission.objectcache import NamespacedObjects
from apiserver.app import resource_path
from apiserver.auth import User
from apiserver.authz import AlwaysDeny, Decision, PrivilegedGroups, Union
from apiserver.etcdbatch import GetBatcher
from apiserver.storage import decode, encode, served_bytes


def test_encode_puts_apiversion_kind_metadata_first_and_drops_the_revision():
    obj = {"spec": {"x": 1}, "metadata": {"name": "a", "resourceVersion": "5"}, "kind": "Pod"}
    obj["apiVersion"] = "v1"
    assert encode(obj) == (
        b'{"apiVersion":"v1","kind":"Pod","metadata":{"name":"a"},"spec":{"x":1}}'
    )
    assert obj["metadata"]["resourceVersion"] == "5"  # the caller's object is untouched
    assert encode({"spec": 1}) == b'{"spec":1}'  # nothing added that was not there


@pytest.mark.parametrize(
    "obj",
    [
        {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "a", "labels": {"x": "y"}}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": {}},
        {"metadata": {"name": "é"}, "kind": "ConfigMap", "apiVersion": "v1", "data": {"k": "ü"}},
    ],
)
def test_served_bytes_is_the_decoded_object_with_its_revision(obj):
    value = encode(obj)
    served = served_bytes(value, 42)
    assert served is not None
    assert json.loads(served) == decode(value, 42)


def test_served_bytes_declines_what_encode_did_not_write():
    assert served_bytes(b'{"metadata":{"name":"a"},"kind":"Pod"}', 3) is None
    assert served_bytes(b'{"apiVersion":"v\\"1","kind":"Pod","metadata":{}}', 3) is None
    assert served_bytes(b"k8s:enc:aescbc:v1:key:....", 3) is None


@dataclass
class KV:
    key: bytes
    value: bytes
    mod_revision: int


class FakeTransactions:
    def get(self, key: bytes) -> tuple[str, bytes]:
        return ("get", key)


class FakeClient:
    """aetcd's get and read-only transaction over a dict, counting calls."""

    def __init__(self, data: dict[bytes, bytes], fail_batches: bool = False) -> None:
        self.data = data
        self.transactions = FakeTransactions()
        self.calls: list[tuple[str, int]] = []
        self.fail_batches = fail_batches

    def _kv(self, key: bytes) -> KV | None:
        return KV(key, self.data[key], 7) if key in self.data else None

    async def get(self, key: bytes) -> KV | None:
        self.calls.append(("get", 1))
        await asyncio.sleep(0)
        if key == b"broken":
            raise ConnectionError("etcd went away")
        return self._kv(key)

    async def transaction(self, compare: list, success: list, failure: list) -> tuple:
        self.calls.append(("txn", len(success)))
        assert compare == [] and failure == []
        await asyncio.sleep(0)
        if self.fail_batches:
            raise ValueError("message larger than max")
        out = []
        for _, key in success:
            kv = self._kv(key)
            out.append([(kv.value, kv)] if kv else [])
        return True, out


def test_reads_asked_together_go_in_one_transaction():
    client = FakeClient({b"a": b"1", b"b": b"2"})
    batcher = GetBatcher(lambda: client)  # type: ignore[arg-type, return-value]

    async def main() -> list[Any]:
        return await asyncio.gather(*(batcher.get(k) for k in (b"a", b"b", b"missing")))

    found = asyncio.run(main())
    assert [kv.value if kv else None for kv in found] == [b"1", b"2", None]
    assert client.calls == [("txn", 3)]


def test_a_lone_read_is_a_plain_get():
    client = FakeClient({b"a": b"1"})
    batcher = GetBatcher(lambda: client)  # type: ignore[arg-type, return-value]

    async def main() -> list[Any]:
        first = await batcher.get(b"a")
        second = await batcher.get(b"a")
        return [first, second]

    assert [kv.value for kv in asyncio.run(main())] == [b"1", b"1"]
    assert client.calls == [("get", 1), ("get", 1)]


def test_a_failed_batch_is_read_key_by_key_each_with_its_own_answer():
    client = FakeClient({b"a": b"1"}, fail_batches=True)
    batcher = GetBatcher(lambda: client)  # type: ignore[arg-type, return-value]

    async def main() -> list[Any]:
        keys = (b"a", b"broken", b"none")
        return await asyncio.gather(*(batcher.get(k) for k in keys), return_exceptions=True)

    a, broken, none = asyncio.run(main())
    assert a.value == b"1" and none is None
    assert isinstance(broken, ConnectionError)
    assert client.calls == [("txn", 3), ("get", 1), ("get", 1), ("get", 1)]


def test_batches_hold_at_most_max_keys(monkeypatch):
    monkeypatch.setattr("apiserver.etcdbatch.MAX_KEYS", 2)
    client = FakeClient({b"a": b"1"})
    batcher = GetBatcher(lambda: client)  # type: ignore[arg-type, return-value]

    async def main() -> None:
        await asyncio.gather(*(batcher.get(b"a") for _ in range(5)))

    asyncio.run(main())
    assert sorted(client.calls) == [("get", 1), ("txn", 2), ("txn", 2)]


def ns(name: str, rv: int, terminating: bool = False) -> dict:
    md: dict[str, Any] = {"name": name, "resourceVersion": str(rv)}
    if terminating:
        md["deletionTimestamp"] = "2026-12-06T00:00:00Z"
    return {"metadata": md}


def test_the_cache_keeps_this_process_writes_over_older_states():
    cache = NamespacedObjects(None, "namespaces")  # type: ignore[arg-type]
    cache._ready = True
    cache._by_namespace = {"": {"web": ns("web", 10)}}
    cache.observe(ns("web", 20, terminating=True))  # this apiserver marked it
    assert cache._by_namespace[""]["web"]["metadata"]["resourceVersion"] == "20"
    cache.observe(ns("web", 15))  # older: ignored
    assert "deletionTimestamp" in cache._by_namespace[""]["web"]["metadata"]


def test_resource_paths_are_the_routes_they_replace():
    assert resource_path("/api/v1/namespaces/a/pods/b") == ("", "v1", "namespaces/a/pods/b")
    assert resource_path("/api/v1/") == ("", "v1", "")
    assert resource_path("/apis/apps/v1/deployments") == ("apps", "v1", "deployments")
    assert resource_path("/apis/apps/v1/") == ("apps", "v1", "")
    for other in ("/api/v1", "/api", "/apis", "/apis/apps", "/apis/apps/v1", "/healthz", "//"):
        assert resource_path(other) is None, other
    assert resource_path("/apis//v1/x") is None


def test_system_masters_is_allowed_before_the_modes():
    r = Request("delete", resource="nodes", name="n")
    admin = User("admin", "", ("system:masters",))
    union = Union([PrivilegedGroups("system:masters"), AlwaysDeny()])
    assert union.authorize(admin, r) == (Decision.ALLOW, "")
    assert not union.allowed(User("jane", "", ("dev",)), r)
    assert PrivilegedGroups("system:masters").rules_for(admin, "ns").resource_rules == []


@pytest.mark.parametrize(
    "body",
    [
        {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "i"}]}},
        {"metadata": {"name": "p", "labels": None}, "spec": {"containers": [None]}},
        {"metadata": {"name": "p"}, "spec": {"containers": [{"command": ["/dev/null"]}]}},
    ],
)
def test_drop_nulls_copies_the_same_either_way(body):
    dropped = schema.drop_nulls("v1", "Pod", body)
    walked = schema._without_nulls({"$ref": "V1Pod"}, body, ("", ""))
    assert dropped == walked
    assert dropped is not body and dropped["metadata"] is not body["metadata"]


def test_uids_are_distinct_version_4_uuids():
    import uuid

    from apiserver.meta import new_uid

    uids = [new_uid() for _ in range(1000)]  # several batches of random bytes
    assert len(set(uids)) == len(uids)
    for text in uids:
        parsed = uuid.UUID(text)
        assert (parsed.version, parsed.variant, str(parsed)) == (4, uuid.RFC_4122, text)


def test_a_remembered_valid_name_stays_valid_and_an_invalid_one_stays_invalid():
    from api.labels import dns1123_subdomain_errors, label_key_errors

    for _ in range(2):
        assert dns1123_subdomain_errors("web-1") == []
        assert dns1123_subdomain_errors("Web_1") != []
        assert label_key_errors("example.com/app") == []
        assert label_key_errors("a/b/c") != []
    dns1123_subdomain_errors("web-1").append("changed by a caller")
    assert dns1123_subdomain_errors("web-1") == []


@pytest.mark.parametrize(
    ("schema_type", "value", "fits"),
    [
        ("string", "x", True),
        ("boolean", True, True),
        ("integer", 80, True),
        ("integer", 2**31, False),  # wider than int32: the walk checks the field's format
        ("integer", True, False),
        ("integer", "80", False),
        ("number", 1.5, False),
        ("string", None, False),
        (None, "x", False),  # a $ref or free-form node
    ],
)
def test_a_leaf_passes_plainly_only_when_no_check_could_flag_it(schema_type, value, fits):
    node = {"type": schema_type} if schema_type else {"$ref": "V1Container"}
    assert schema._plain_fit(node, value) is fits


def test_leaves_passed_plainly_still_report_what_is_wrong():
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "p", "labels": {"a": "b"}},
        "spec": {
            "containers": [{"name": "c", "image": "i", "ports": [{"containerPort": "80"}]}],
            "terminationGracePeriodSeconds": 2**40,
            "hostNetwork": "yes",
            "nodeSelector": {"k": 1},
        },
    }
    unknown, causes = schema.check("v1", "Pod", pod)
    assert unknown == []
    assert {c["field"] for c in causes} == {
        "spec.containers[0].ports[0].containerPort",
        "spec.hostNetwork",
        "spec.nodeSelector[k]",
    }
