"""Interactive `kubectl exec` and `kubectl attach` sessions on the kubelet: the
client's streams (stdin, stdout, stderr, error, resize) bridged to a Docker exec's
or a container's attached socket.

The client speaks either the WebSocket channel protocol (api/remotecommand.py:
`WsChannels`) or SPDY/3.1 with one stream per channel (`SpdyChannels`, kubelet/
spdysession.py); the bridge itself (`serve`) sees only `Channels`.

Docker multiplexes a non-tty stream's stdout and stderr on one socket, each frame
behind an 8-byte header (stream type, 3 zero bytes, big-endian length); a tty is one
raw stream. `DockerDemuxer` splits the former into channels 1 and 2.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from starlette.websockets import WebSocket, WebSocketDisconnect

from api import remotecommand as rc
from kubelet.runtime import DockerRuntime, RuntimeFailure
from kubelet.spdysession import Session, Stream

log = logging.getLogger(__name__)
_HEADER = 8
STREAM_CREATION_TIMEOUT = 30.0
CLIENT_CLOSE_WAIT = 5.0


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


class Channels(Protocol):
    """The client's side of a session, whatever the transport."""

    async def send(self, channel: int, data: bytes) -> None: ...

    async def receive(self) -> tuple[int, bytes] | None:
        """(STDIN, data), (RESIZE, json), (CLOSE, bytes([STDIN])); None: client left."""
        ...

    async def finish(self, status: dict[str, Any]) -> None: ...


class WsChannels:
    """The WebSocket channel protocol (v4/v5.channel.k8s.io) of an accepted socket."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws

    async def send(self, channel: int, data: bytes) -> None:
        await self.ws.send_bytes(rc.frame(channel, data))

    async def receive(self) -> tuple[int, bytes] | None:
        while True:
            try:
                message = await self.ws.receive()
            except (WebSocketDisconnect, RuntimeError):
                return None
            if message["type"] == "websocket.disconnect":
                return None
            data = message.get("bytes")
            if data:  # kubectl sends binary messages only
                return data[0], data[1:]

    async def finish(self, status: dict[str, Any]) -> None:
        with contextlib.suppress(Exception):
            await self.ws.send_bytes(rc.status_frame(status))
            await self.ws.close(1000)


class SpdyChannels:
    """remotecommand over SPDY (v4.channel.k8s.io): one stream per channel, named by
    its `streamtype` header; the v4 error stream carries the final Status as JSON."""

    TYPES = {"stdin": rc.STDIN, "stdout": rc.STDOUT, "stderr": rc.STDERR}

    def __init__(self, session: Session, streams: dict[str, Stream]) -> None:
        self.session = session
        self.streams = streams
        self._inbox: asyncio.Queue[tuple[int, bytes] | None] = asyncio.Queue()
        self._readers = [
            asyncio.create_task(self._pump(s, kind))
            for kind, s in streams.items()
            if kind in ("stdin", "resize")
        ]
        self._readers.append(asyncio.create_task(self._watch_close()))

    @classmethod
    async def open(
        cls, session: Session, flags: dict[str, bool], timeout: float = STREAM_CREATION_TIMEOUT
    ) -> SpdyChannels | None:
        """Wait for the streams the request's flags announce (as the kubelet does);
        None when the client left or did not create them in time."""
        expected = {"error"}
        expected |= {k for k in ("stdin", "stdout") if flags.get(k)}
        if flags.get("stderr") and not flags.get("tty"):
            expected.add("stderr")
        if flags.get("tty"):
            expected.add("resize")
        streams: dict[str, Stream] = {}

        async def collect() -> bool:
            while not expected <= streams.keys():
                stream = await session.accept()
                if stream is None:
                    return False
                streams[stream.type] = stream
            return True

        try:
            if not await asyncio.wait_for(collect(), timeout):
                return None
        except TimeoutError:
            log.info("spdy: the client did not create its streams (has %s)", sorted(streams))
            return None
        return cls(session, streams)

    async def _pump(self, stream: Stream, kind: str) -> None:
        decoder = json.JSONDecoder()
        buffer = ""
        while True:
            data = await stream.read()
            if data is None:
                if kind == "stdin":
                    await self._inbox.put((rc.CLOSE, bytes([rc.STDIN])))
                return
            if kind == "stdin":
                await self._inbox.put((rc.STDIN, data))
                continue
            buffer += data.decode(errors="replace")
            while buffer.strip():  # a stream of JSON TerminalSize objects
                try:
                    size, end = decoder.raw_decode(buffer.lstrip())
                except ValueError:
                    break
                buffer = buffer.lstrip()[end:]
                await self._inbox.put((rc.RESIZE, json.dumps(size).encode()))

    async def _watch_close(self) -> None:
        await self.session.closed.wait()
        await self._inbox.put(None)

    async def send(self, channel: int, data: bytes) -> None:
        kind = {rc.STDOUT: "stdout", rc.STDERR: "stderr"}.get(channel)
        stream = self.streams.get(kind or "")
        if stream is not None:
            await stream.write(data)

    async def receive(self) -> tuple[int, bytes] | None:
        if self.session.closed.is_set() and self._inbox.empty():
            return None
        return await self._inbox.get()

    async def finish(self, status: dict[str, Any]) -> None:
        """stdout/stderr end, then the Status on the error stream; then wait a moment
        for the client, which closes the connection once it has read everything."""
        for kind in ("stdout", "stderr"):
            if kind in self.streams:
                await self.streams[kind].close()
        error = self.streams["error"]
        await error.write(json.dumps(status, separators=(",", ":")).encode())
        await error.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.session.closed.wait(), CLIENT_CLOSE_WAIT)
        for task in self._readers:
            task.cancel()


Resize = Callable[[int, int], Awaitable[None]]


async def serve_exec(
    channels: Channels,
    runtime: DockerRuntime,
    container_id: str,
    command: list[str],
    *,
    stdin: bool,
    tty: bool,
    stderr: bool,
) -> None:
    """Run `command` attached to the client's channels until it exits, then send its
    Status on the error channel. A client that goes away ends the session (the
    command itself is left to finish, as Docker cannot cancel an exec)."""
    try:
        exec_id, sock = await runtime.exec_open(
            container_id, command, stdin=stdin, tty=tty, stderr=stderr and not tty
        )
    except RuntimeFailure as err:
        await channels.finish(rc.failure_status(str(err)))
        return

    async def resize(width: int, height: int) -> None:
        await runtime.exec_resize(exec_id, width, height)

    async def status() -> dict[str, Any]:
        return rc.exit_status(await runtime.exec_exit_code(exec_id), command)

    await _bridge(channels, runtime, sock, exec_id, stdin, tty, resize, status, half_close=True)


async def serve_attach(
    channels: Channels,
    runtime: DockerRuntime,
    container_id: str,
    *,
    stdin: bool,
    stdout: bool,
    tty: bool,
    stderr: bool,
    stdin_once: bool,
) -> None:
    """Attach the client's channels to the container's main process until its output
    ends (the process exited) or the client leaves. The client's end of stdin closes
    the process's stdin only for a `stdinOnce` container: Docker would otherwise end
    the whole attach (output too) while the process runs on."""
    try:
        sock = await runtime.attach_open(
            container_id, stdin=stdin, stdout=stdout, stderr=stderr and not tty
        )
    except RuntimeFailure as err:
        await channels.finish(rc.failure_status(str(err)))
        return

    async def resize(width: int, height: int) -> None:
        await runtime.resize(container_id, width, height)

    async def status() -> dict[str, Any]:
        return rc.exit_status(0, [])

    await _bridge(
        channels, runtime, sock, container_id, stdin, tty, resize, status, half_close=stdin_once
    )


async def _bridge(
    channels: Channels,
    runtime: DockerRuntime,
    sock: socket.socket,
    name: str,
    stdin: bool,
    tty: bool,
    resize: Resize,
    status: Callable[[], Awaitable[dict[str, Any]]],
    *,
    half_close: bool,
) -> None:
    writer = ThreadPoolExecutor(1, thread_name_prefix=f"stream-in-{name[:12]}")
    reader = asyncio.create_task(
        _forward_input(channels, sock, writer, stdin, tty, resize, half_close)
    )
    output = asyncio.create_task(_forward_output(channels, runtime, name, sock, tty))
    try:
        done, _ = await asyncio.wait({reader, output}, return_when=asyncio.FIRST_COMPLETED)
        if output not in done:  # the client left first
            output.cancel()
            return
        if output.exception() is not None:
            log.info("stream %s: output ended: %s", name[:12], output.exception())
        await channels.finish(await status())
    finally:
        reader.cancel()
        with contextlib.suppress(BaseException):
            await asyncio.gather(reader, output, return_exceptions=True)
        writer.shutdown(wait=False, cancel_futures=True)
        with contextlib.suppress(OSError):
            sock.close()


async def _forward_output(
    channels: Channels, runtime: DockerRuntime, name: str, sock: socket.socket, tty: bool
) -> None:
    demuxer = None if tty else DockerDemuxer()
    async for chunk in runtime.exec_output(sock, name):
        pieces = [(rc.STDOUT, chunk)] if demuxer is None else demuxer.feed(chunk)
        for channel, data in pieces:
            await channels.send(channel, data)


async def _forward_input(
    channels: Channels,
    sock: socket.socket,
    writer: ThreadPoolExecutor,
    stdin: bool,
    tty: bool,
    resize: Resize,
    half_close: bool,
) -> None:
    """Client messages until it leaves: stdin to the socket, resizes to Docker, and
    the close of stdin as a half-close of the socket (EOF for the process)."""
    loop = asyncio.get_running_loop()
    stdin_open = stdin
    while True:
        message = await channels.receive()
        if message is None:
            return
        channel, payload = message
        if channel == rc.STDIN and stdin_open and payload:
            try:
                await loop.run_in_executor(writer, sock.sendall, payload)
            except OSError:
                stdin_open = False
        elif channel == rc.RESIZE and tty:
            size = rc.parse_resize(payload)
            if size is not None:
                try:
                    await resize(*size)
                except Exception as err:  # a resize is best effort, as the kubelet's
                    log.debug("resize failed: %s", err)
        elif channel == rc.CLOSE and payload[:1] == bytes([rc.STDIN]) and stdin_open:
            stdin_open = False
            if half_close:
                with contextlib.suppress(OSError):
                    await loop.run_in_executor(writer, sock.shutdown, socket.SHUT_WR)
