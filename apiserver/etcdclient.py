"""An etcd client over TLS, as kube-apiserver's with --etcd-cafile, --etcd-certfile and
--etcd-keyfile: etcd's certificate checked against the CA, ours presented for etcd's
--client-cert-auth. aetcd only opens plaintext channels, so TLSClient opens a secure
one and builds the same stubs aetcd's own connect() builds on it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aetcd
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


class TLSClient(aetcd.Client):
    """aetcd.Client on a `grpc.aio.secure_channel` (no etcd user/password: the client
    certificate is the identity, as in Kubernetes)."""

    def __init__(self, *, credentials: grpc.ChannelCredentials, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._credentials = credentials

    async def connect(self) -> None:
        # aetcd's connect() with the channel made secure; no await, so no other task
        # can see it half-made
        if self._connected.is_set():
            return
        channel = grpc.aio.secure_channel(
            f"{self._host}:{self._port}", self._credentials, options=list(self._options.items())
        )
        self.channel = channel
        self.kvstub = rpc.KVStub(channel)
        self.clusterstub = rpc.ClusterStub(channel)
        self.leasestub = rpc.LeaseStub(channel)
        self.maintenancestub = rpc.MaintenanceStub(channel)
        self._watcher = watcher.Watcher(
            rpc.WatchStub(channel), timeout=self._timeout, metadata=self.metadata
        )
        self._connected.set()
