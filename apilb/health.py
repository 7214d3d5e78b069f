"""Health checks of the apiservers: `GET /readyz` over TLS, the apiserver's certificate
checked with the cluster CA (`--ca-file`); without a CA, a TCP connect. /readyz and
not /livez: an apiserver that lost etcd is alive but cannot serve, and its clients
are better off at another one. Each check has a short timeout so a dead apiserver is
skipped within about a second (`--health-interval` 0.5 s + the timeout)."""

from __future__ import annotations

import asyncio
import contextlib
import ssl

from apilb.backends import Backend

CHECK_TIMEOUT = 0.8  # seconds; a loopback or LAN apiserver answers /readyz in ms


async def check(backend: Backend, context: ssl.SSLContext | None) -> bool:
    """Whether `backend` accepts a connection and, with a CA, answers /readyz 200."""
    try:
        return await asyncio.wait_for(_check(backend, context), CHECK_TIMEOUT)
    except (OSError, TimeoutError, ssl.SSLError, ValueError):
        return False


async def _check(backend: Backend, context: ssl.SSLContext | None) -> bool:
    reader, writer = await asyncio.open_connection(
        backend.host, backend.port, ssl=context, server_hostname=backend.host if context else None
    )
    try:
        if context is None:
            return True
        request = (
            f"GET /readyz HTTP/1.1\r\nHost: {backend.host}:{backend.port}\r\n"
            "User-Agent: apilb\r\nConnection: close\r\n\r\n"
        )
        writer.write(request.encode())
        await writer.drain()
        status = await reader.readline()  # HTTP/1.1 200 OK
        parts = status.split()
        return len(parts) >= 2 and parts[1] == b"200"
    finally:
        writer.close()
        with contextlib.suppress(OSError, ssl.SSLError):
            await writer.wait_closed()


def client_context(ca_file: str) -> ssl.SSLContext:
    """The checker's TLS: the apiserver's certificate verified with the cluster CA; no
    client certificate (/readyz is public, as in Kubernetes)."""
    return ssl.create_default_context(cafile=ca_file)
