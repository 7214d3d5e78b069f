"""SPDY/3.1 framing, as kubectl (client-go over moby/spdystream) speaks it for
`exec`, `attach` and `port-forward`: pure encoding and decoding, no I/O.

Written here because no maintained Python library speaks SPDY/3 any more (the PyPI
`spdylay` binding and `python-spdy` were abandoned years ago).

Wire format (draft-mbelshe-httpbis-spdy-00), all big-endian:
- control frame: `1 | version(15) | type(16) | flags(8) | length(24) | data`
- data frame: `0 | stream id(31) | flags(8) | length(24) | data`
- SYN_STREAM: stream id, associated stream id, priority(3 bits)<<5, slot, header block
- SYN_REPLY and HEADERS: stream id, header block
- RST_STREAM: stream id, status; PING: id; GOAWAY: last good stream id, status;
  WINDOW_UPDATE: stream id, delta; SETTINGS: count, then (flags<<24|id, value) pairs.
A header block is `count(32)` then `len(32) name len(32) value` pairs (several values
of one name joined by NUL), zlib-compressed with SPDY's dictionary; each direction
keeps ONE compression context for the whole connection and flushes (Z_SYNC_FLUSH)
after every block, so frames must be encoded and decoded in order, by one
`Encoder`/`Decoder` per direction.

Flow control: spdystream neither sends nor honours WINDOW_UPDATE, so frames are
decoded but windows are not enforced (a peer that sent one is simply heard).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

from api.spdydict import HEADER_DICTIONARY as DICTIONARY

VERSION = 3
UPGRADE = "SPDY/3.1"  # the HTTP/1.1 Upgrade token kubectl sends
PROTOCOL_HEADER = "X-Stream-Protocol-Version"
ACCEPTED_HEADER = "X-Accepted-Stream-Protocol-Versions"

DATA = 0
SYN_STREAM, SYN_REPLY, RST_STREAM, SETTINGS = 1, 2, 3, 4
PING, GOAWAY, HEADERS, WINDOW_UPDATE = 6, 7, 8, 9

FLAG_FIN = 0x01
FLAG_UNIDIRECTIONAL = 0x02

# RST_STREAM status codes.
PROTOCOL_ERROR, INVALID_STREAM, REFUSED_STREAM, CANCEL, INTERNAL_ERROR = 1, 2, 3, 5, 6
MAX_DATA_LENGTH = (1 << 24) - 1
_HEAD = 8

Headers = dict[str, list[str]]


class ProtocolError(Exception):
    """The peer sent bytes that are not SPDY/3."""


@dataclass
class Frame:
    """One frame. `type` is DATA (0) or a control frame type; the fields a type does
    not use keep their defaults."""

    type: int
    stream_id: int = 0
    flags: int = 0
    data: bytes = b""
    headers: Headers = field(default_factory=dict)
    associated_id: int = 0
    priority: int = 0
    status: int = 0
    ping_id: int = 0
    last_good_stream_id: int = 0
    delta_window: int = 0
    settings: list[tuple[int, int, int]] = field(default_factory=list)  # (flags, id, value)

    @property
    def fin(self) -> bool:
        return bool(self.flags & FLAG_FIN)

    def header(self, name: str) -> str | None:
        """The first value of a header (names are lower case on the wire)."""
        values = self.headers.get(name.lower())
        return values[0] if values else None


def encode_header_block(headers: Headers) -> bytes:
    """The uncompressed name/value block (names lower-cased, as Go writes them)."""
    out = [struct.pack(">I", len(headers))]
    for name, values in headers.items():
        raw_name = name.lower().encode()
        raw_value = "\x00".join(values).encode()
        out += [struct.pack(">I", len(raw_name)), raw_name]
        out += [struct.pack(">I", len(raw_value)), raw_value]
    return b"".join(out)


def decode_header_block(block: bytes) -> Headers:
    try:
        (count,) = struct.unpack_from(">I", block, 0)
        offset = 4
        headers: Headers = {}
        for _ in range(count):
            (size,) = struct.unpack_from(">I", block, offset)
            name = block[offset + 4 : offset + 4 + size].decode()
            offset += 4 + size
            (size,) = struct.unpack_from(">I", block, offset)
            value = block[offset + 4 : offset + 4 + size].decode()
            offset += 4 + size
            headers.setdefault(name, []).extend(value.split("\x00"))
    except (struct.error, UnicodeDecodeError) as err:
        raise ProtocolError(f"malformed header block: {err}") from err
    return headers


class Encoder:
    """Frames one direction of a connection (it owns that direction's zlib context)."""

    def __init__(self) -> None:
        self._zlib = zlib.compressobj(
            zlib.Z_BEST_COMPRESSION,
            zlib.DEFLATED,
            15,
            8,
            zlib.Z_DEFAULT_STRATEGY,
            DICTIONARY,
        )

    def _compress(self, headers: Headers) -> bytes:
        block = encode_header_block(headers)
        return self._zlib.compress(block) + self._zlib.flush(zlib.Z_SYNC_FLUSH)

    @staticmethod
    def _control(kind: int, flags: int, payload: bytes) -> bytes:
        head = struct.pack(">HHI", 0x8000 | VERSION, kind, (flags << 24) | len(payload))
        return head + payload

    def syn_stream(
        self, stream_id: int, headers: Headers, *, fin: bool = False, priority: int = 0
    ) -> bytes:
        body = struct.pack(">IIBB", stream_id, 0, (priority & 7) << 5, 0)
        return self._control(SYN_STREAM, FLAG_FIN if fin else 0, body + self._compress(headers))

    def syn_reply(
        self, stream_id: int, headers: Headers | None = None, *, fin: bool = False
    ) -> bytes:
        body = struct.pack(">I", stream_id) + self._compress(headers or {})
        return self._control(SYN_REPLY, FLAG_FIN if fin else 0, body)

    def headers(self, stream_id: int, headers: Headers, *, fin: bool = False) -> bytes:
        body = struct.pack(">I", stream_id) + self._compress(headers)
        return self._control(HEADERS, FLAG_FIN if fin else 0, body)

    def rst_stream(self, stream_id: int, status: int = CANCEL) -> bytes:
        return self._control(RST_STREAM, 0, struct.pack(">II", stream_id, status))

    def settings(self, entries: list[tuple[int, int, int]]) -> bytes:
        body = struct.pack(">I", len(entries))
        body += b"".join(struct.pack(">II", (f << 24) | i, v) for f, i, v in entries)
        return self._control(SETTINGS, 0, body)

    def ping(self, ping_id: int) -> bytes:
        return self._control(PING, 0, struct.pack(">I", ping_id))

    def goaway(self, last_good_stream_id: int, status: int = 0) -> bytes:
        return self._control(GOAWAY, 0, struct.pack(">II", last_good_stream_id, status))

    def window_update(self, stream_id: int, delta: int) -> bytes:
        return self._control(WINDOW_UPDATE, 0, struct.pack(">II", stream_id, delta))

    @staticmethod
    def data(stream_id: int, data: bytes, *, fin: bool = False) -> bytes:
        """One or more DATA frames (a frame holds at most 16 MiB - 1)."""
        flags = FLAG_FIN if fin else 0
        if len(data) <= MAX_DATA_LENGTH:
            return struct.pack(">II", stream_id & 0x7FFFFFFF, (flags << 24) | len(data)) + data
        pieces = [data[i : i + MAX_DATA_LENGTH] for i in range(0, len(data), MAX_DATA_LENGTH)]
        out = [Encoder.data(stream_id, p) for p in pieces[:-1]]
        return b"".join([*out, Encoder.data(stream_id, pieces[-1], fin=fin)])


class Decoder:
    """Splits the other direction's bytes into frames, however they were chunked;
    owns that direction's zlib context."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._zlib = zlib.decompressobj(zdict=DICTIONARY)

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames: list[Frame] = []
        while len(self._buffer) >= _HEAD:
            size = int.from_bytes(self._buffer[5:8], "big")
            if len(self._buffer) < _HEAD + size:
                break
            head = bytes(self._buffer[:_HEAD])
            payload = bytes(self._buffer[_HEAD : _HEAD + size])
            del self._buffer[: _HEAD + size]
            frames.append(self._frame(head, payload))
        return frames

    def _headers(self, block: bytes) -> Headers:
        try:
            return decode_header_block(self._zlib.decompress(block))
        except zlib.error as err:
            raise ProtocolError(f"header block does not decompress: {err}") from err

    def _frame(self, head: bytes, payload: bytes) -> Frame:
        flags = head[4]
        if not head[0] & 0x80:
            return Frame(DATA, int.from_bytes(head[:4], "big"), flags, payload)
        version, kind = struct.unpack(">HH", head[:4])
        if version & 0x7FFF != VERSION:
            raise ProtocolError(f"unsupported SPDY version {version & 0x7FFF}")
        try:
            return self._control(kind, flags, payload)
        except struct.error as err:
            raise ProtocolError(f"short control frame of type {kind}") from err

    def _control(self, kind: int, flags: int, payload: bytes) -> Frame:
        if kind == SYN_STREAM:
            sid, assoc, prio, _slot = struct.unpack_from(">IIBB", payload)
            return Frame(
                kind,
                sid & 0x7FFFFFFF,
                flags,
                headers=self._headers(payload[10:]),
                associated_id=assoc & 0x7FFFFFFF,
                priority=prio >> 5,
            )
        if kind in (SYN_REPLY, HEADERS):
            (sid,) = struct.unpack_from(">I", payload)
            return Frame(kind, sid & 0x7FFFFFFF, flags, headers=self._headers(payload[4:]))
        if kind == RST_STREAM:
            sid, status = struct.unpack_from(">II", payload)
            return Frame(kind, sid & 0x7FFFFFFF, flags, status=status)
        if kind == SETTINGS:
            (count,) = struct.unpack_from(">I", payload)
            entries = []
            for i in range(count):
                flag_id, value = struct.unpack_from(">II", payload, 4 + 8 * i)
                entries.append((flag_id >> 24, flag_id & 0xFFFFFF, value))
            return Frame(kind, flags=flags, settings=entries)
        if kind == PING:
            return Frame(kind, flags=flags, ping_id=struct.unpack_from(">I", payload)[0])
        if kind == GOAWAY:
            last, status = struct.unpack_from(">II", payload)
            return Frame(kind, flags=flags, last_good_stream_id=last & 0x7FFFFFFF, status=status)
        if kind == WINDOW_UPDATE:
            sid, delta = struct.unpack_from(">II", payload)
            return Frame(kind, sid & 0x7FFFFFFF, flags, delta_window=delta & 0x7FFFFFFF)
        return Frame(kind, flags=flags, data=payload)  # unknown types are ignored by peers


# ---- the HTTP/1.1 upgrade -----------------------------------------------------------


def offered_protocols(values: list[str]) -> list[str]:
    """The client's `X-Stream-Protocol-Version` values (one header each, or comma
    separated), in its order of preference."""
    return [p.strip() for v in values for p in v.split(",") if p.strip()]


def negotiate(offered: list[str], supported: tuple[str, ...]) -> str | None:
    """As apimachinery's httpstream.Handshake: the client's first protocol the server
    speaks (the client's order wins)."""
    return next((p for p in offered if p in supported), None)


def is_spdy_upgrade(upgrade: str | None) -> bool:
    return (upgrade or "").strip().lower() == UPGRADE.lower()
