"""`kubectl port-forward` on the kubelet: TCP connections to the pod's IP, as
Kubernetes' kubelet dials them in the pod's network namespace.

Two protocols:
- SPDY `portforward.k8s.io` (kubectl, client-go; raw or tunneled in a WebSocket by
  kubectl ≥ 1.31): per local connection the client opens an `error` stream and then
  a `data` stream, both with `port` and `requestID` headers. The data stream is the
  TCP connection; a dial failure is written on the error stream, which is closed
  when the connection ends.
- WebSocket `v4.channel.k8s.io` with `?ports=a,b` (the official Python client): one
  connection per port, channel 2i its data and 2i+1 its errors; the first frame of
  each channel is the port, 2 bytes little-endian.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from kubelet.spdysession import Session, Stream

log = logging.getLogger(__name__)
DIAL_TIMEOUT = 10.0
CHUNK = 64 * 1024
PROTOCOL = "portforward.k8s.io"

Dial = Callable[[int], Awaitable[tuple[asyncio.StreamReader, asyncio.StreamWriter]]]


def parse_ports(values: list[str]) -> list[int]:
    """The `ports` query values (repeated or comma separated); ValueError when one
    is not a port."""
    ports = []
    for value in values:
        for part in value.split(","):
            port = int(part.strip())
            if not 0 < port < 65536:
                raise ValueError(f"port {port} must be between 1 and 65535")
            ports.append(port)
    if not ports:
        raise ValueError('query parameter "port" is required')
    return ports


def dialer(ip: str) -> Dial:
    async def dial(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.wait_for(asyncio.open_connection(ip, port), DIAL_TIMEOUT)

    return dial


async def serve_spdy(session: Session, dial: Dial, pod: str) -> None:
    """Pair each request's error and data streams and forward each pair, until the
    client leaves."""
    errors: dict[str, Stream] = {}
    tasks: set[asyncio.Task[None]] = set()
    try:
        while True:
            stream = await session.accept()
            if stream is None:
                return
            request = stream.header("requestid") or ""
            if stream.type == "error":
                errors[request] = stream
            elif stream.type == "data":
                error = errors.pop(request, None)
                task = asyncio.create_task(_forward_pair(session, stream, error, dial, pod))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            else:
                await session.reset(stream)
    finally:
        for task in list(tasks):
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def _forward_pair(
    session: Session, data: Stream, error: Stream | None, dial: Dial, pod: str
) -> None:
    async def fail(message: str) -> None:
        if error is not None:
            await error.write(message.encode())
            await error.close()
        await data.close()

    try:
        port = int(data.header("port") or "")
    except ValueError:
        await fail(f"invalid port header {data.header('port')!r}")
        return
    try:
        reader, writer = await dial(port)
    except (OSError, TimeoutError) as err:
        await fail(
            f"error forwarding port {port} to pod {pod}: failed to connect to port {port}: {err}"
        )
        return
    to_pod = asyncio.create_task(_stream_to_socket(data, writer))
    try:
        while True:
            chunk = await reader.read(CHUNK)
            if not chunk or data.reset:
                break
            await data.write(chunk)
    except OSError as err:
        log.debug("port-forward %s:%d: %s", pod, port, err)
    finally:
        to_pod.cancel()
        with contextlib.suppress(BaseException):
            await to_pod
        writer.close()
        await data.close()
        if error is not None:
            await error.close()


async def _stream_to_socket(data: Stream, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while True:
            chunk = await data.read()
            if chunk is None:
                if data.reset:
                    writer.close()
                elif writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(chunk)
            await writer.drain()


# ---- WebSocket v4.channel.k8s.io (the Python client) ----------------------------------

Send = Callable[[bytes], Awaitable[None]]
Receive = Callable[[], Awaitable[bytes | None]]


async def serve_websocket(send: Send, receive: Receive, ports: list[int], dial: Dial) -> None:
    """One connection per port; channel 2i data, 2i+1 errors, each announced by its
    port; ends when the client leaves or every connection has ended."""
    writers: dict[int, asyncio.StreamWriter] = {}
    tasks = []
    for index, port in enumerate(ports):
        raw = port.to_bytes(2, "little")
        await send(bytes([2 * index]) + raw)
        await send(bytes([2 * index + 1]) + raw)
        try:
            reader, writer = await dial(port)
        except (OSError, TimeoutError) as err:
            message = f"error forwarding port {port}: failed to connect to port {port}: {err}"
            await send(bytes([2 * index + 1]) + message.encode())
            continue
        writers[index] = writer
        tasks.append(asyncio.create_task(_socket_to_ws(send, reader, index)))
    if not tasks:
        return
    pumps = asyncio.create_task(_all(tasks))
    inbound = asyncio.create_task(_ws_to_sockets(receive, writers))
    try:
        await asyncio.wait({pumps, inbound}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        inbound.cancel()
        pumps.cancel()
        for writer in writers.values():
            writer.close()
        await asyncio.gather(inbound, pumps, return_exceptions=True)


async def _all(tasks: list[asyncio.Task[None]]) -> None:
    await asyncio.gather(*tasks, return_exceptions=True)


async def _socket_to_ws(send: Send, reader: asyncio.StreamReader, index: int) -> None:
    with contextlib.suppress(OSError):
        while True:
            chunk = await reader.read(CHUNK)
            if not chunk:
                return
            await send(bytes([2 * index]) + chunk)


async def _ws_to_sockets(receive: Receive, writers: dict[int, asyncio.StreamWriter]) -> None:
    while True:
        message = await receive()
        if message is None:
            return
        if not message or message[0] % 2:
            continue
        writer = writers.get(message[0] // 2)
        if writer is not None and len(message) > 1:
            with contextlib.suppress(OSError):
                writer.write(message[1:])
                await writer.drain()
