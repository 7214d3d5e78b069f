"""All of minik's state, in etcd: one key per object, JSON values, and the object's
resourceVersion is the key's etcd mod_revision. Every conditional write is an etcd
transaction (compare, then put), never a read-modify-write without a compare."""

from __future__ import annotations

import asyncio
import builtins
import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

import aetcd
import aetcd.exceptions
import aetcd.utils

from api import errors
from apiserver.encryption import ENCRYPTED, Encryption, TransformError, transform_error
from apiserver.etcdbatch import GetBatcher
from apiserver.etcdclient import ChannelClient, EtcdTLSFiles, RevisionOutOfRange, grpc_target
from apiserver.leases import LeaseManager
from apiserver.metrics import etcd_request

log = logging.getLogger(__name__)

PREFIX = "/registry/"


class StorageError(Exception):
    """etcd could not be reached or answered with an error."""


class KeyExists(Exception):
    pass


class KeyMissing(Exception):
    pass


class RevisionMismatch(Exception):
    """The object changed since the revision the write was based on."""

    def __init__(self, current: dict | None) -> None:
        super().__init__("revision mismatch")
        self.current = current


class UnreadableEvent(Exception):
    """A watched change whose value no configured provider opens (encryption at rest):
    the watchers end with `error`, a 500, as Kubernetes' watch ends with an ERROR event."""

    def __init__(self, error: errors.ApiError, revision: int) -> None:
        super().__init__(error.message)
        self.error = error
        self.revision = revision


class Compacted(Exception):
    def __init__(self, compacted_revision: int) -> None:
        super().__init__(f"revision compacted below {compacted_revision}")
        self.compacted_revision = compacted_revision


class RevisionTooNew(Exception):
    """A read asked for a revision etcd has not reached."""


@dataclass
class Page:
    """One page of a LIST read from etcd at one revision."""

    items: list[dict]
    revision: int
    next_key: str | None  # where the next page starts, relative to the prefix; None: last
    remaining: int | None  # keys after this page, when nothing was filtered out


# The most keys one read of a filtered page asks etcd for (Kubernetes' maxLimit).
MAX_PAGE_CHUNK = 10_000


@dataclass
class WatchEvent:
    """One change to one key: `obj` is the new object (PUT) or the last state (DELETE),
    with metadata.resourceVersion set to the revision of the change."""

    type: str  # "ADDED" | "MODIFIED" | "DELETED"
    obj: dict
    prev: dict | None
    revision: int


def object_key(plural: str, namespace: str | None, name: str) -> str:
    return f"{PREFIX}{plural}/{namespace}/{name}" if namespace else f"{PREFIX}{plural}/{name}"


def prefix_key(plural: str, namespace: str | None = None) -> str:
    return f"{PREFIX}{plural}/{namespace}/" if namespace else f"{PREFIX}{plural}/"


def decode(value: bytes, revision: int) -> dict:
    obj = json.loads(value)
    obj.setdefault("metadata", {})["resourceVersion"] = str(revision)
    return obj


def encode(obj: dict) -> bytes:
    """The stored form: no resourceVersion (it is the key's mod_revision), and
    apiVersion, kind and metadata first, so `served_bytes` finds metadata."""
    ordered = {k: obj[k] for k in _HEAD_KEYS if k in obj}
    for k, v in obj.items():
        if k not in ordered:
            ordered[k] = v
    meta = obj.get("metadata") or {}
    if "resourceVersion" in meta:
        ordered["metadata"] = {k: v for k, v in meta.items() if k != "resourceVersion"}
    return json.dumps(ordered, separators=(",", ":")).encode()


_HEAD_KEYS = ("apiVersion", "kind", "metadata")


# A stored value as encode writes it, up to the inside of its metadata.
_STORED_HEAD = re.compile(rb'\{"apiVersion":"[^"\\]*","kind":"[^"\\]*","metadata":\{')


def served_bytes(value: bytes, revision: int) -> bytes | None:
    """The stored JSON `value` with metadata.resourceVersion set, without decoding and
    encoding it again (a GET's answer), or None when it does not start as encode
    writes (the caller decodes it)."""
    head = _STORED_HEAD.match(value)
    if head is None:
        return None
    at = head.end()
    rv = b'"resourceVersion":"%d"' % revision
    return value[:at] + rv + (b"" if value[at : at + 1] == b"}" else b",") + value[at:]


def _endpoint(url: str) -> tuple[str, int, bool]:
    """host, port, and whether it is reached over TLS (an https URL)."""
    parsed = urlparse(url if "://" in url else f"http://{url}")
    return parsed.hostname or "127.0.0.1", parsed.port or 2379, parsed.scheme == "https"


# gRPC's reconnect back-off grows to 120 s by default: after a 30 s etcd outage the
# first write waited 17.6 s. Capped at 1 s, the store is writable about a second after
# etcd returns.
GRPC_OPTIONS = {
    # etcd's Go client (and so kube-apiserver) takes answers of any size; gRPC's own
    # default of 4 MiB would fail an unpaginated LIST of a few thousand pods
    "grpc.max_receive_message_length": 2**31 - 1,
    "grpc.initial_reconnect_backoff_ms": 200,
    "grpc.min_reconnect_backoff_ms": 200,
    "grpc.max_reconnect_backoff_ms": 1000,
}


COMPACT_REV_KEY = "compact_rev_key"  # kube-apiserver's, shared by all apiservers


class Storage:
    """A thin, typed layer over aetcd with Kubernetes' storage semantics. With an
    `encryption` (--encryption-provider-config) the values of the resources it names
    are encrypted on their way to etcd and decrypted on their way back, watches too
    (apiserver/encryption); the others are written and read as they are. `ttls` maps a
    key prefix to the seconds its objects live after their last write (Events:
    --event-ttl): etcd deletes them when their lease ends, and watchers see DELETED."""

    def __init__(
        self,
        endpoints: list[str],
        tls: EtcdTLSFiles | None = None,
        encryption: Encryption | None = None,
        ttls: Mapping[str, int] | None = None,
    ) -> None:
        self._endpoints = [_endpoint(u) for u in endpoints]
        self._tls = tls or EtcdTLSFiles()
        self._client: ChannelClient | None = None
        self._lock = asyncio.Lock()
        self._encryption = encryption
        self._ttls = {prefix: ttl for prefix, ttl in (ttls or {}).items() if ttl > 0}
        self._leases = LeaseManager(self._grant)
        self._gets = GetBatcher(lambda: self.client)  # single-key reads, grouped

    def _encode(self, key: str, obj: dict) -> bytes:
        data = encode(obj)
        enc = self._encryption
        if enc is not None:
            chain = enc.for_key(key)
            if chain is not None:
                return enc.to_storage(key, chain, data)
        return data

    async def _lease(self, key: str) -> int:
        """The lease `key` is written under: 0 (none) unless its prefix has a TTL."""
        for prefix, ttl in self._ttls.items():
            if key.startswith(prefix):
                return await self._leases.lease(ttl)
        return 0

    async def _grant(self, seconds: int) -> int:
        with etcd_request("grant", ""):
            return int((await self.client.lease(seconds)).id)

    def _decode(self, key: bytes, value: bytes, revision: int) -> dict:
        """The stored object; a 500 ApiError when its value cannot be read (a prefix no
        configured provider has, a key no longer listed, a tampered value)."""
        enc = self._encryption
        if enc is not None:
            chain = enc.for_key(key.decode())
            if chain is not None:
                return decode(enc.from_storage(key.decode(), chain, value), revision)
        if value.startswith(ENCRYPTED):  # as Kubernetes' identity transformer refuses it
            plain = TransformError("identity transformer tried to read encrypted data")
            raise transform_error(key.decode(), plain)
        return decode(value, revision)

    def _new_client(self) -> ChannelClient:
        """One client over every member (etcdclient.ChannelClient): gRPC moves to
        another member when the one it talks to goes. https endpoints over TLS with
        --etcd-cafile/--etcd-certfile/--etcd-keyfile."""
        members = [(host, port) for host, port, _ in self._endpoints]
        secure = any(s for _, _, s in self._endpoints)
        return ChannelClient(
            target=grpc_target(members),
            credentials=self._tls.credentials() if secure else None,
            server_name=members[0][0] if len(members) > 1 else None,
            timeout=10,
            options=GRPC_OPTIONS,
        )

    async def connect(self) -> None:
        where = ", ".join(f"{h}:{p}" for h, p, _ in self._endpoints)
        try:
            client = self._new_client()
        except OSError as err:  # a member's name does not resolve
            raise StorageError(f"cannot reach etcd at {where}: {err}") from err
        try:
            await client.connect()
            await client.status()
        except Exception as err:
            await client.close()
            raise StorageError(f"cannot reach etcd at {where}: {err}") from err
        self._client = client

    async def close(self) -> None:
        await self._gets.stop()
        if self._client is not None:
            await self._client.close()
            self._client = None

    @property
    def client(self) -> ChannelClient:
        if self._client is None:
            raise StorageError("storage is not connected")
        return self._client

    async def revision(self) -> int:
        """The store's current revision (a cheap count-only range read)."""
        with etcd_request("get", ""):
            resp = await self.client.get_prefix(b"/registry/__revision__", keys_only=True)
        return resp.header.revision

    async def get(self, key: str) -> dict | None:
        with etcd_request("get", key):
            kv = await self._gets.get(key.encode())
        return self._decode(kv.key, kv.value, kv.mod_revision) if kv is not None else None

    async def get_served(self, key: str) -> bytes | dict | None:
        """`key`'s object for a GET's answer: its stored JSON with the resourceVersion
        put in (served_bytes) when it is stored plain, else decoded (None: missing)."""
        with etcd_request("get", key):
            kv = await self._gets.get(key.encode())
        if kv is None:
            return None
        enc = self._encryption
        if enc is None or enc.for_key(key) is None:
            served = served_bytes(kv.value, kv.mod_revision)
            if served is not None:
                return served
        return self._decode(kv.key, kv.value, kv.mod_revision)

    async def stale(self, key: str) -> bool:
        """Whether `key`'s stored value was written by another transformer than the one
        its resource now writes with (Kubernetes' "stale" read): an update that changes
        nothing still rewrites it, which is how `kubectl replace` re-encrypts after a key
        rotation. Always False, without a read, for resources not encrypted."""
        enc = self._encryption
        chain = enc.for_key(key) if enc is not None else None
        if chain is None:
            return False
        with etcd_request("get", key):
            kv = await self.client.get(key.encode())
        return kv is not None and chain.is_stale(kv.value)

    async def exists(self, key: str) -> bool:
        with etcd_request("get", key):
            return await self._gets.get(key.encode()) is not None

    async def list(self, prefix: str) -> tuple[list[dict], int]:
        with etcd_request("list", prefix):
            resp = await self.client.get_prefix(prefix.encode(), sort_order="ascend")
        items = [self._decode(kv.key, kv.value, kv.mod_revision) for kv in resp.kvs]
        return items, resp.header.revision

    async def list_page(
        self,
        prefix: str,
        *,
        start: str = "",
        revision: int = 0,
        limit: int = 0,
        keep: Callable[[dict], bool] | None = None,
    ) -> Page:
        """The objects under `prefix` from key `prefix`+`start` on, as of `revision` (0:
        the newest), at most `limit` (0: all) of those `keep` accepts, as Kubernetes'
        etcd store reads a page: etcd is asked for `limit` keys and, while a filter
        leaves the page short, for twice as many from where the last read ended, every
        read at the first one's revision. Raises Compacted or RevisionTooNew when etcd
        has no such revision."""
        key = (prefix + start).encode()
        end = aetcd.utils.prefix_range_end(prefix.encode())
        items: builtins.list[dict] = []
        chunk = limit
        last: bytes | None = None
        while True:
            try:
                with etcd_request("list", prefix):
                    resp = await self.client.range_at(key, end, limit=chunk, revision=revision)
            except RevisionOutOfRange as err:
                raise Compacted(0) if err.compacted else RevisionTooNew() from err
            revision = revision or resp.header.revision
            more = resp.more
            for kv in resp.kvs:
                if limit and len(items) >= limit:
                    more = True
                    break
                last = kv.key
                obj = self._decode(kv.key, kv.value, kv.mod_revision)
                if keep is None or keep(obj):
                    items.append(obj)
            if not (more and limit) or len(items) >= limit or last is None:
                break
            chunk = min(chunk * 2, MAX_PAGE_CHUNK)
            key = last + b"\x00"
        if not more or last is None:
            return Page(items, revision, None, None)
        remaining = int(resp.count) - limit if keep is None else None
        return Page(items, revision, last.decode()[len(prefix) :] + "\x00", remaining)

    async def list_keys(self, prefix: str) -> builtins.list[str]:
        with etcd_request("listKeys", prefix):
            resp = await self.client.get_prefix(prefix.encode(), keys_only=True)
        return [kv.key.decode() for kv in resp.kvs]

    async def alarms(self) -> builtins.list[str]:
        """etcd's active alarms by name (NOSPACE: the space quota is full and etcd
        refuses every write until it is compacted, defragmented and disarmed)."""
        names = {1: "NOSPACE", 2: "CORRUPT"}
        return [names.get(a.alarm_type, str(a.alarm_type)) async for a in self.client.list_alarms()]

    async def compact_turn(self, seen_version: int, revision: int) -> tuple[int, int]:
        """One turn of kube-apiserver's compactor. Whoever moves the shared
        `compact_rev_key` from `seen_version` (a compare-and-swap on its version, so
        several apiservers compact once per interval between them) compacts etcd's
        history up to `revision`, the revision seen one interval ago. Returns the key's
        version now and the store's current revision, for the next turn."""
        tx = self.client.transactions
        key = COMPACT_REV_KEY.encode()
        ok, responses = await self.client.transaction(
            compare=[tx.version(key) == seen_version],
            success=[tx.put(key, str(revision).encode())],
            failure=[tx.get(key)],
        )
        current = await self.revision()
        if not ok:
            _value, kv = responses[0][0]
            return kv.version, current
        if revision > 0:  # nothing to compact on the first turn
            await self.client.compact(revision)
        return seen_version + 1, current

    async def create(
        self,
        key: str,
        obj: dict,
        extra_creates: dict[str, bytes] | None = None,
        served: builtins.list[bytes] | None = None,
    ) -> dict:
        """Put `obj` only if `key` is absent; `extra_creates` are written in the same
        transaction and must be absent too (used for IP and port allocations). With
        `served`, the created object's JSON (served_bytes) is appended to it when the
        value was stored plain."""
        value = self._encode(key, obj)
        lease = await self._lease(key) if self._ttls else 0
        puts = [(key.encode(), value, lease)]
        puts += [(k.encode(), v, 0) for k, v in (extra_creates or {}).items()]
        with etcd_request("create", key):
            revision = await self.client.create_all(puts)
        if revision is None:
            raise KeyExists(key)
        if served is not None and not value.startswith(ENCRYPTED):
            answer = served_bytes(value, revision)
            if answer is not None:
                served.append(answer)
        return _with_revision(obj, revision)

    async def update(
        self,
        key: str,
        obj: dict,
        expected_revision: int,
        extra_creates: dict[str, bytes] | None = None,
        extra_deletes: builtins.list[str] | None = None,
    ) -> dict:
        """Replace `key` if its mod_revision is still `expected_revision`."""
        tx = self.client.transactions
        compare = [tx.mod(key.encode()) == expected_revision]
        compare += [tx.create(k.encode()) == 0 for k in (extra_creates or {})]
        # an update renews the TTL, as Kubernetes' (an Event's count goes up: it lives on)
        ops = [tx.put(key.encode(), self._encode(key, obj), lease=await self._lease(key))]
        ops += [tx.put(k.encode(), v) for k, v in (extra_creates or {}).items()]
        ops += [tx.delete(k.encode()) for k in (extra_deletes or [])]
        with etcd_request("update", key):
            ok, responses = await self.client.transaction(
                compare=compare, success=ops, failure=[tx.get(key.encode())]
            )
        if not ok:
            current = None
            if responses and responses[0]:
                value, kv = responses[0][0]
                current = self._decode(kv.key, value, kv.mod_revision)
            if current is None:
                raise KeyMissing(key)
            raise RevisionMismatch(current)
        return _with_revision(obj, responses[0].response_put.header.revision)

    async def delete(
        self,
        key: str,
        expected_revision: int | None = None,
        extra_deletes: builtins.list[str] | None = None,
    ) -> dict:
        """Delete `key` (only at `expected_revision` when given); returns the object as
        last stored, with resourceVersion set to the deletion's revision."""
        tx = self.client.transactions
        compare = [tx.create(key.encode()) > 0]
        if expected_revision is not None:
            compare.append(tx.mod(key.encode()) == expected_revision)
        ops = [tx.get(key.encode()), tx.delete(key.encode())]
        ops += [tx.delete(k.encode()) for k in (extra_deletes or [])]
        with etcd_request("delete", key):
            ok, responses = await self.client.transaction(
                compare=compare, success=ops, failure=[tx.get(key.encode())]
            )
        if not ok:
            if not responses or not responses[0]:
                raise KeyMissing(key)
            value, kv = responses[0][0]
            raise RevisionMismatch(self._decode(kv.key, value, kv.mod_revision))
        value, kv = responses[0][0]
        return self._decode(kv.key, value, responses[1].response_delete_range.header.revision)

    async def put_with_ttl(self, key: str, obj: dict, ttl: int) -> None:
        """Write `obj` under a lease of its own, so etcd deletes it `ttl` seconds after
        this write unless written again (kube-apiserver's /masterleases)."""
        lease = await self._grant(ttl)
        with etcd_request("update", key):
            await self.client.put(key.encode(), self._encode(key, obj), lease=lease)

    async def delete_key(self, key: str) -> None:
        """Delete `key` whatever it holds (an apiserver's own lease, at shutdown)."""
        with etcd_request("delete", key):
            await self.client.delete(key.encode())

    async def release_orphan(self, key: str) -> bool | None:
        """Delete the allocation `key` (its value is the key of the object holding it)
        if that object no longer exists: compared in one transaction, so a holder
        written meanwhile keeps it. True: released; False: held; None: no such key."""
        with etcd_request("get", key):
            kv = await self.client.get(key.encode())
        if kv is None:
            return None
        tx = self.client.transactions
        with etcd_request("delete", key):
            ok, _ = await self.client.transaction(
                compare=[tx.mod(key.encode()) == kv.mod_revision, tx.create(kv.value) == 0],
                success=[tx.delete(key.encode())],
                failure=[],
            )
        return bool(ok)

    async def guaranteed_update(
        self,
        key: str,
        mutate: Callable[[dict], Awaitable[dict | None] | dict | None],
        attempts: int = 20,
    ) -> dict:
        """Read, apply `mutate`, compare-and-put; retried on a concurrent change.
        `mutate` returning None means no change is needed."""
        for _ in range(attempts):
            current = await self.get(key)
            if current is None:
                raise KeyMissing(key)
            revision = int(current["metadata"]["resourceVersion"])
            outcome = mutate(json.loads(json.dumps(current)))
            result = await outcome if isinstance(outcome, Awaitable) else outcome
            if result is None:
                return current
            try:
                return await self.update(key, result, revision)
            except RevisionMismatch:
                continue
        raise StorageError(f"too many concurrent updates of {key}")

    async def compact(self, revision: int) -> None:
        with etcd_request("compact", ""):
            await self.client.compact(revision, physical=True)

    async def watch(self, prefix: str, start_revision: int) -> AsyncIterator[WatchEvent]:
        """Every change under `prefix` from `start_revision` (inclusive), in order.
        Raises Compacted when that revision is no longer in etcd's history."""
        try:
            stream = await self.client.watch_prefix(
                prefix.encode(), start_revision=start_revision, prev_kv=True
            )
        except aetcd.exceptions.RevisionCompactedError as err:
            raise Compacted(err.compacted_revision) from err
        try:
            async for ev in stream:
                try:
                    event = to_watch_event(ev, self._decode)
                except errors.ApiError as err:
                    raise UnreadableEvent(err, ev.kv.mod_revision) from err
                yield event
        except aetcd.exceptions.RevisionCompactedError as err:
            raise Compacted(err.compacted_revision) from err
        finally:
            try:
                await stream.cancel()
            except Exception:  # the stream may already be gone with the connection
                pass


def to_watch_event(ev: Any, read: Callable[[bytes, bytes, int], dict]) -> WatchEvent:
    """`read(key, value, revision)` decodes (and decrypts) a stored value."""
    revision = ev.kv.mod_revision
    # etcd sends an empty previous pair for a key that did not exist before
    has_prev = ev.prev_kv is not None and ev.prev_kv.value
    prev = read(ev.kv.key, ev.prev_kv.value, ev.prev_kv.mod_revision) if has_prev else None
    if ev.kind == "DELETE":
        if prev is None:  # compacted prev_kv: nothing to report but the key
            prev = {"metadata": {"name": ev.kv.key.decode().rsplit("/", 1)[-1]}}
        obj = _with_revision(prev, revision)
        return WatchEvent("DELETED", obj, prev, revision)
    obj = read(ev.kv.key, ev.kv.value, revision)
    return WatchEvent("ADDED" if ev.kv.version == 1 else "MODIFIED", obj, prev, revision)


def _with_revision(obj: dict, revision: int) -> dict:
    meta = dict(obj.get("metadata") or {})
    meta["resourceVersion"] = str(revision)
    return {**obj, "metadata": meta}
