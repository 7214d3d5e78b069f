"""An interactive `kubectl exec` session on the kubelet: a WebSocket speaking the
remote command channel protocol (api/remotecommand.py) bridged to a Docker exec's
attached socket.

Docker multiplexes a non-tty exec's stdout and stderr on one socket, each frame
behind an 8-byte header (stream type, 3 zero bytes, big-endian length); a tty exec
is one raw stream. `DockerDemuxer` splits the former into channels 1 and 2.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from concurrent.futures import ThreadPoolExecutor

from starlette.websockets import WebSocket, WebSocketDisconnect

from api import remotecommand as rc
from kubelet.runtime import DockerRuntime, RuntimeFailure

log = logging.getLogger(__name__)
_HEADER = 8


class DockerDemuxer:
    """Splits Docker's multiplexed stream into (channel, payload) pieces, however the
    bytes were chunked on the way."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self._buffer += data
        out: list[tuple[int, bytes]] = []
        while len(self._buffer) >= _HEADER:
            kind = self._buffer[0]
            size = int.from_bytes(self._buffer[4:8], "big")
            if len(self._buffer) < _HEADER + size:
                break
            payload = bytes(self._buffer[_HEADER : _HEADER + size])
            del self._buffer[: _HEADER + size]
            if payload:
                out.append((rc.STDERR if kind == 2 else rc.STDOUT, payload))
        return out


async def serve_exec(
    ws: WebSocket,
    runtime: DockerRuntime,
    container_id: str,
    command: list[str],
    *,
    stdin: bool,
    tty: bool,
    stderr: bool,
) -> None:
    """Run `command` attached to an accepted WebSocket until it exits, then send its
    Status on the error channel and close. A client that goes away ends the session
    (the command itself is left to finish, as Docker cannot cancel an exec)."""
    try:
        exec_id, sock = await runtime.exec_open(
            container_id, command, stdin=stdin, tty=tty, stderr=stderr and not tty
        )
    except RuntimeFailure as err:
        await _finish(ws, rc.failure_status(str(err)))
        return
    writer = ThreadPoolExecutor(1, thread_name_prefix=f"exec-in-{exec_id[:12]}")
    reader = asyncio.create_task(_forward_input(ws, runtime, exec_id, sock, writer, stdin, tty))
    output = asyncio.create_task(_forward_output(ws, runtime, exec_id, sock, tty))
    try:
        done, _ = await asyncio.wait({reader, output}, return_when=asyncio.FIRST_COMPLETED)
        if output not in done:  # the client left first
            output.cancel()
            return
        if output.exception() is not None:
            log.info("exec %s: output stream ended: %s", exec_id[:12], output.exception())
        code = await runtime.exec_exit_code(exec_id)
        await _finish(ws, rc.exit_status(code, command))
    finally:
        reader.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.gather(reader, output, return_exceptions=True)
        writer.shutdown(wait=False, cancel_futures=True)


async def _forward_output(
    ws: WebSocket, runtime: DockerRuntime, exec_id: str, sock: socket.socket, tty: bool
) -> None:
    demuxer = None if tty else DockerDemuxer()
    async for chunk in runtime.exec_output(sock, exec_id):
        pieces = [(rc.STDOUT, chunk)] if demuxer is None else demuxer.feed(chunk)
        for channel, data in pieces:
            await ws.send_bytes(rc.frame(channel, data))


async def _forward_input(
    ws: WebSocket,
    runtime: DockerRuntime,
    exec_id: str,
    sock: socket.socket,
    writer: ThreadPoolExecutor,
    stdin: bool,
    tty: bool,
) -> None:
    """Client messages until it disconnects: stdin to the exec's socket, resizes to
    Docker, and v5's close of stdin as a half-close of the socket (EOF for the command)."""
    loop = asyncio.get_running_loop()
    stdin_open = stdin
    while True:
        try:
            message = await ws.receive()
        except (WebSocketDisconnect, RuntimeError):
            return
        if message["type"] == "websocket.disconnect":
            return
        data = message.get("bytes")
        if not data:  # kubectl sends binary messages only
            continue
        channel, payload = data[0], data[1:]
        if channel == rc.STDIN and stdin_open and payload:
            try:
                await loop.run_in_executor(writer, sock.sendall, payload)
            except OSError:
                stdin_open = False
        elif channel == rc.RESIZE and tty:
            size = rc.parse_resize(payload)
            if size is not None:
                try:
                    await runtime.exec_resize(exec_id, *size)
                except Exception as err:  # a resize is best effort, as the kubelet's
                    log.debug("exec %s: resize failed: %s", exec_id[:12], err)
        elif channel == rc.CLOSE and payload[:1] == bytes([rc.STDIN]) and stdin_open:
            stdin_open = False
            with contextlib.suppress(OSError):
                await loop.run_in_executor(writer, sock.shutdown, socket.SHUT_WR)


async def _finish(ws: WebSocket, status: dict) -> None:
    with contextlib.suppress(Exception):
        await ws.send_bytes(rc.status_frame(status))
        await ws.close(1000)
