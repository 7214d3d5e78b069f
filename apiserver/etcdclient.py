"""The apiserver's etcd client: one gRPC channel over every `--etcd-servers` member, and
TLS as kube-apiserver's with --etcd-cafile, --etcd-certfile and --etcd-keyfile (etcd's
certificate checked against the CA, ours presented for etcd's --client-cert-auth).

aetcd dials one `host:port` over a plaintext channel. Kubernetes' etcd client
(clientv3) balances over all the members it is given, so losing the member it talks
to costs one failed request, not the apiserver. `ChannelClient` gets that from gRPC
itself: a target listing every member's address (`ipv4:a:p,b:p`) with gRPC's
pick_first policy reconnects to the next member that accepts when its connection
breaks; watches on the broken stream end with an error and are re-opened by the
watch cache on the new connection (from their last revision, so nothing is lost)."""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aetcd
import aetcd.exceptions
import grpc
from aetcd import rpc, watcher


@dataclass(frozen=True)
class EtcdTLSFiles:
    """The apiserver's --etcd-cafile, --etcd-certfile, --etcd-keyfile (each optional:
    no CA is the system's roots, no certificate is no client authentication)."""

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None

    def credentials(self) -> grpc.ChannelCredentials:
        def read(path: str | None) -> bytes | None:
            return Path(path).read_bytes() if path else None

        return grpc.ssl_channel_credentials(
            root_certificates=read(self.ca_file),
            private_key=read(self.key_file),
            certificate_chain=read(self.cert_file),
        )


class RevisionOutOfRange(Exception):
    """etcd no longer has the revision asked for (compacted away) or has not reached it."""

    def __init__(self, compacted: bool) -> None:
        super().__init__("required revision has been compacted" if compacted else "future revision")
        self.compacted = compacted


def grpc_target(members: list[tuple[str, int]]) -> str:
    """The gRPC target for etcd's members: `host:port` for one (gRPC resolves the
    name), else every member's address in one `ipv4:`/`ipv6:` list, names resolved
    now. gRPC's lists hold one family: members of the other family than the first
    are left out (a dual-stack etcd answers on both)."""
    if len(members) == 1:
        host, port = members[0]
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    addresses = [(_address(host, port), port) for host, port in members]
    family = addresses[0][0].version
    same = [(ip, port) for ip, port in addresses if ip.version == family]
    if family == 4:
        return "ipv4:" + ",".join(f"{ip}:{port}" for ip, port in same)
    return "ipv6:" + ",".join(f"[{ip}]:{port}" for ip, port in same)


def _address(host: str, port: int) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        return ipaddress.ip_address(info[0][4][0])


class ChannelClient(aetcd.Client):
    """aetcd.Client on a channel to `target` (grpc_target), over TLS with `credentials`
    (no etcd user/password: the client certificate is the identity, as in Kubernetes),
    else plaintext. `server_name` is the name etcd's certificate is checked against
    when the target lists addresses (the first member's host)."""

    def __init__(
        self,
        *,
        target: str,
        credentials: grpc.ChannelCredentials | None = None,
        server_name: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._target = target
        self._credentials = credentials
        self._server_name = server_name

    async def connect(self) -> None:
        # aetcd's connect() with our channel; no await, so no other task can see it
        # half-made
        if self._connected.is_set():
            return
        options = list(self._options.items())
        if self._credentials is not None:
            if self._server_name:
                options.append(("grpc.ssl_target_name_override", self._server_name))
            channel = grpc.aio.secure_channel(self._target, self._credentials, options=options)
        else:
            channel = grpc.aio.insecure_channel(self._target, options=options)
        self.channel = channel
        self.kvstub = rpc.KVStub(channel)
        self.clusterstub = rpc.ClusterStub(channel)
        self.leasestub = rpc.LeaseStub(channel)
        self.maintenancestub = rpc.MaintenanceStub(channel)
        self._watcher = watcher.Watcher(
            rpc.WatchStub(channel), timeout=self._timeout, metadata=self.metadata
        )
        self._connected.set()

    async def create_all(self, puts: list[tuple[bytes, bytes, int]]) -> int | None:
        """Put every (key, value, lease) in one transaction if none of the keys exists:
        the revision written, or None when some key exists. A create's one etcd call,
        made without aetcd's generic transaction (its compare and op objects, its
        response repacking and two wrapper coroutines). gRPC errors become aetcd's, as
        aetcd raises them."""
        request = rpc.TxnRequest()  # filled in place: cheaper than keyword messages
        for key, _, _ in puts:
            compare = request.compare.add()
            compare.key = key
            compare.result = rpc.Compare.EQUAL
            compare.target = rpc.Compare.CREATE
            compare.create_revision = 0
        for key, value, lease in puts:
            put = request.success.add().request_put
            put.key, put.value, put.lease = key, value, lease
        try:
            response = await self.kvstub.Txn(request, timeout=self._timeout, metadata=self.metadata)
        except rpc.AioRpcError as err:
            aetcd.exceptions._handle_exception(err)
            raise  # _handle_exception always raises
        if not response.succeeded:
            return None
        return int(response.responses[0].response_put.header.revision)

    async def range_at(
        self, key: bytes, range_end: bytes, *, limit: int = 0, revision: int = 0
    ) -> rpc.RangeResponse:
        """Keys `key` ≤ k < `range_end` in key order as of `revision` (0: the newest),
        at most `limit` (0: all), with `more` and the range's whole `count`: a page of
        a LIST (aetcd's get_range takes neither limit nor revision). gRPC errors
        become aetcd's, as aetcd raises them."""
        request = rpc.RangeRequest()
        request.key, request.range_end = key, range_end
        request.limit, request.revision = limit, revision
        try:
            return await self.kvstub.Range(request, timeout=self._timeout, metadata=self.metadata)
        except rpc.AioRpcError as err:
            if err.code() == grpc.StatusCode.OUT_OF_RANGE:
                raise RevisionOutOfRange("compacted" in (err.details() or "")) from err
            aetcd.exceptions._handle_exception(err)
            raise  # _handle_exception always raises
