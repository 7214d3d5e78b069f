"""A SPDY/3.1 connection on the kubelet's side (the server): the peer opens streams
(kubectl's stdin/stdout/stderr/error/resize, or port-forward's data/error pairs), the
kubelet answers each with SYN_REPLY and then reads and writes them.

Transport-neutral: it reads chunks of bytes from `read()` (None at the end) and
writes with `write(bytes)` (the raw upgraded connection, or an in-memory pipe in
tests). Framing: api/spdy.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from api import spdy

log = logging.getLogger(__name__)
Reader = Callable[[], Awaitable[bytes | None]]
Writer = Callable[[bytes], Awaitable[None]]


class Stream:
    """One stream the peer opened. `read()` gives its DATA, then None once the peer
    half-closed (FIN) or reset it."""

    def __init__(self, session: Session, stream_id: int, headers: spdy.Headers) -> None:
        self.session = session
        self.id = stream_id
        self.headers = headers
        self._inbound: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.remote_closed = False
        self.local_closed = False
        self.reset = False

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None

    @property
    def type(self) -> str:
        return self.header("streamtype") or ""

    async def read(self) -> bytes | None:
        if self.remote_closed and self._inbound.empty():
            return None
        return await self._inbound.get()

    async def write(self, data: bytes) -> None:
        if data and not self.local_closed and not self.reset:
            await self.session.send(spdy.Encoder.data(self.id, data))

    async def close(self) -> None:
        """Half-close our side (a DATA frame with FIN)."""
        if not self.local_closed and not self.reset:
            self.local_closed = True
            await self.session.send(spdy.Encoder.data(self.id, b"", fin=True))

    def _deliver(self, data: bytes, fin: bool) -> None:
        if self.remote_closed:
            return
        if data:
            self._inbound.put_nowait(data)
        if fin:
            self._end()

    def _end(self) -> None:
        if not self.remote_closed:
            self.remote_closed = True
            self._inbound.put_nowait(None)


class Session:
    """The frames of one connection; `run()` reads until the peer leaves."""

    def __init__(self, read: Reader, write: Writer) -> None:
        self._read = read
        self._write = write
        self._encoder = spdy.Encoder()
        self._decoder = spdy.Decoder()
        self._lock = asyncio.Lock()
        self.streams: dict[int, Stream] = {}
        self.incoming: asyncio.Queue[Stream | None] = asyncio.Queue()
        self.closed = asyncio.Event()
        self._last_id = 0

    async def send(self, data: bytes) -> None:
        if self.closed.is_set():
            return
        async with self._lock:
            try:
                await self._write(data)
            except Exception as err:  # the peer went away: reading will notice
                log.debug("spdy write failed: %s", err)
                self._shut()

    async def _control(self, build: Callable[[spdy.Encoder], bytes]) -> None:
        """Encode and write under one lock: header blocks share one zlib context and
        must reach the peer in the order they were compressed."""
        if self.closed.is_set():
            return
        async with self._lock:
            try:
                await self._write(build(self._encoder))
            except Exception as err:
                log.debug("spdy write failed: %s", err)
                self._shut()

    async def accept(self) -> Stream | None:
        """The next stream the peer opened (already answered); None once it left."""
        return await self.incoming.get()

    async def reset(self, stream: Stream, status: int = spdy.CANCEL) -> None:
        if not stream.reset:
            stream.reset = True
            stream._end()
            await self._control(lambda e: e.rst_stream(stream.id, status))

    async def goaway(self) -> None:
        await self._control(lambda e: e.goaway(self._last_id))

    async def run(self) -> None:
        try:
            while True:
                chunk = await self._read()
                if chunk is None:
                    return
                for frame in self._decoder.feed(chunk):
                    await self._handle(frame)
        except spdy.ProtocolError as err:
            log.info("spdy: %s", err)
            with contextlib.suppress(Exception):
                await self._control(lambda e: e.goaway(self._last_id, 1))
        finally:
            self._shut()

    def _shut(self) -> None:
        if self.closed.is_set():
            return
        self.closed.set()
        for stream in self.streams.values():
            stream._end()
        self.incoming.put_nowait(None)

    async def _handle(self, frame: spdy.Frame) -> None:
        kind = frame.type
        if kind == spdy.DATA:
            stream = self.streams.get(frame.stream_id)
            if stream is not None:
                stream._deliver(frame.data, frame.fin)
        elif kind == spdy.SYN_STREAM:
            if frame.stream_id in self.streams or frame.stream_id % 2 == 0:
                await self._control(lambda e: e.rst_stream(frame.stream_id, spdy.PROTOCOL_ERROR))
                return
            opened = Stream(self, frame.stream_id, frame.headers)
            self.streams[opened.id] = opened
            self._last_id = max(self._last_id, opened.id)
            await self._control(lambda e: e.syn_reply(opened.id))
            if frame.fin:
                opened._end()
            self.incoming.put_nowait(opened)
        elif kind == spdy.RST_STREAM:
            stream = self.streams.get(frame.stream_id)
            if stream is not None:
                stream.reset = True
                stream._end()
        elif kind == spdy.PING:
            await self._control(lambda e: e.ping(frame.ping_id))
        elif kind == spdy.GOAWAY:
            self.incoming.put_nowait(None)
        elif kind == spdy.HEADERS:
            stream = self.streams.get(frame.stream_id)
            if stream is not None and frame.fin:
                stream._end()
        # SETTINGS and WINDOW_UPDATE need no answer (no flow control: see api/spdy.py)
