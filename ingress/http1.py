"""HTTP/1.1 message framing for the proxy (RFC 9112): heads parsed into a method or
status and an ordered header list, bodies relayed by Content-Length, chunked coding
(passed through as is) or until the connection closes; hop-by-hop headers dropped."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

MAX_HEAD = 64 * 1024
CHUNK = 64 * 1024
# Never forwarded (RFC 9110 7.6.1); Transfer-Encoding is kept because chunked bodies
# pass through unchanged.
HOP_BY_HOP = frozenset({"connection", "keep-alive", "proxy-connection", "te", "trailer", "upgrade"})

Headers = list[tuple[str, str]]


class IndexedHeaders(list[tuple[str, str]]):
    """A parsed head's headers, in order, plus a lower-case name -> value index built
    once, so the proxy's several lookups per message do not rescan the list."""

    def __init__(self, items: list[tuple[str, str]]) -> None:
        super().__init__(items)
        index: dict[str, str] = {}
        for name, value in items:
            key = name.lower()
            index[key] = f"{index[key]}, {value}" if key in index else value
        self.by_name = index


class BadMessage(Exception):
    """A head or body the proxy cannot frame; the connection is answered 400/502."""


@dataclass
class Request:
    method: str
    target: str
    version: str
    headers: Headers

    @property
    def path(self) -> str:
        """The path the routes match: no query, origin form (an absolute-form target
        keeps only its path)."""
        target = self.target
        if "://" in target:
            target = "/" + target.split("://", 1)[1].partition("/")[2]
        return target.split("?", 1)[0].split("#", 1)[0] or "/"


@dataclass
class Response:
    version: str
    status: int
    reason: str
    headers: Headers


def header(headers: Headers, name: str) -> str | None:
    """The values of a header, comma-joined (None when absent)."""
    if isinstance(headers, IndexedHeaders):
        return headers.by_name.get(name)
    found = [v for k, v in headers if k.lower() == name]
    return ", ".join(found) if found else None


def tokens(headers: Headers, name: str) -> set[str]:
    value = header(headers, name)
    return {t.strip().lower() for t in value.split(",")} if value else set()


def _split_head(head: bytes) -> tuple[str, Headers]:
    try:
        text = head.decode("latin-1")
    except UnicodeDecodeError as err:  # pragma: no cover - latin-1 decodes anything
        raise BadMessage(str(err)) from err
    lines = text.split("\r\n")
    headers: Headers = []
    for line in lines[1:]:
        if not line:
            continue
        if line[0] in " \t":
            raise BadMessage("obsolete header folding")
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise BadMessage(f"bad header line {line!r}")
        headers.append((name, value.strip()))
    return lines[0], IndexedHeaders(headers)


def parse_request(head: bytes) -> Request:
    first, headers = _split_head(head)
    parts = first.split(" ")
    if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
        raise BadMessage(f"bad request line {first!r}")
    return Request(parts[0], parts[1], parts[2], headers)


def parse_response(head: bytes) -> Response:
    first, headers = _split_head(head)
    version, _, rest = first.partition(" ")
    code, _, reason = rest.partition(" ")
    if not version.startswith("HTTP/1.") or not code.isdigit():
        raise BadMessage(f"bad status line {first!r}")
    return Response(version, int(code), reason, headers)


async def read_head(reader: asyncio.StreamReader) -> bytes | None:
    """One message head including its blank line; None on EOF before any byte."""
    try:
        return await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as err:
        if not err.partial.strip():
            return None
        raise BadMessage("connection closed inside a message head") from err
    except asyncio.LimitOverrunError as err:
        raise BadMessage("message head too large") from err


# Body framing: ("length", n), ("chunked", 0) or ("close", 0).
Framing = tuple[str, int]


def request_framing(headers: Headers) -> Framing:
    if "chunked" in tokens(headers, "transfer-encoding"):
        return ("chunked", 0)
    return ("length", _content_length(headers))


def response_framing(method: str, response: Response) -> Framing:
    if method == "HEAD" or response.status < 200 or response.status in (204, 304):
        return ("length", 0)
    if "chunked" in tokens(response.headers, "transfer-encoding"):
        return ("chunked", 0)
    if header(response.headers, "content-length") is not None:
        return ("length", _content_length(response.headers))
    return ("close", 0)


def _content_length(headers: Headers) -> int:
    value = header(headers, "content-length")
    if value is None:
        return 0
    values = {v.strip() for v in value.split(",")}
    if len(values) != 1 or not next(iter(values)).isdigit():
        raise BadMessage(f"bad Content-Length {value!r}")
    return int(next(iter(values)))


def wants_keep_alive(version: str, headers: Headers) -> bool:
    """HTTP/1.1 keeps the connection unless `close`; HTTP/1.0 only with `keep-alive`."""
    connection = tokens(headers, "connection")
    if version == "HTTP/1.0":
        return "keep-alive" in connection
    return "close" not in connection


def render(first_line: str, headers: Headers) -> bytes:
    lines = [first_line, *(f"{k}: {v}" for k, v in headers), "", ""]
    return "\r\n".join(lines).encode("latin-1")


def end_to_end(headers: Headers) -> Headers:
    """Headers without the hop-by-hop ones and those the Connection header names."""
    named = tokens(headers, "connection")
    return [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP and k.lower() not in named]


async def relay_body(
    framing: Framing, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Copy one body from `reader` to `writer` (raises BadMessage on a short body)."""
    kind, length = framing
    try:
        if kind == "length":
            await _relay_length(length, reader, writer)
        elif kind == "chunked":
            await _relay_chunked(reader, writer)
        else:
            while chunk := await reader.read(CHUNK):
                writer.write(chunk)
                await writer.drain()
    except asyncio.IncompleteReadError as err:
        raise BadMessage("connection closed inside a body") from err


async def _relay_length(
    length: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    while length > 0:
        chunk = await reader.read(min(length, CHUNK))
        if not chunk:
            raise BadMessage("connection closed inside a body")
        writer.write(chunk)
        length -= len(chunk)
        if length:
            await writer.drain()


async def _relay_chunked(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    while True:
        line = await reader.readuntil(b"\r\n")
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError as err:
            raise BadMessage(f"bad chunk size {line!r}") from err
        writer.write(line)
        if size == 0:
            while True:  # trailers, then the final blank line
                trailer = await reader.readuntil(b"\r\n")
                writer.write(trailer)
                if trailer == b"\r\n":
                    return
        await _relay_length(size + 2, reader, writer)
        await writer.drain()


async def read_body(framing: Framing, reader: asyncio.StreamReader) -> bytes:
    """A request body of known length, in memory (so a retry can send it again)."""
    kind, length = framing
    if kind != "length":
        raise ValueError("only a Content-Length body is read whole")
    try:
        return await reader.readexactly(length) if length else b""
    except asyncio.IncompleteReadError as err:
        raise BadMessage("connection closed inside a body") from err


def forwarded_headers(
    request: Request, host: str, scheme: str, port: int, client_ip: str
) -> Headers:
    """What the backend is told about the client (as ingress-nginx does by default:
    the client's own X-Forwarded-* are replaced, not trusted), without hop-by-hop
    headers or the framing headers the proxy sets itself."""
    replaced = {
        "x-forwarded-for",
        "x-forwarded-proto",
        "x-forwarded-host",
        "x-forwarded-port",
        "x-real-ip",
        "content-length",
        "transfer-encoding",
        "expect",
    }
    headers = [(k, v) for k, v in end_to_end(request.headers) if k.lower() not in replaced]
    return [
        *headers,
        ("X-Forwarded-For", client_ip),
        ("X-Forwarded-Proto", scheme),
        ("X-Forwarded-Host", host),
        ("X-Forwarded-Port", str(port)),
        ("X-Real-IP", client_ip),
    ]


# Request headers the proxy replaces or drops: when a head has none of them (the usual
# case), it is forwarded as received, with the proxy's headers appended.
_REWRITTEN = HOP_BY_HOP | {
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    "x-forwarded-port",
    "x-real-ip",
    "transfer-encoding",
    "expect",
}


def upstream_head(
    request: Request,
    head: bytes,
    host: str,
    scheme: str,
    port: int,
    client_ip: str,
    length: int,
) -> bytes:
    """The head to send a backend for a request with a Content-Length body (or none)."""
    headers = request.headers
    names = headers.by_name if isinstance(headers, IndexedHeaders) else None
    if names is not None and request.version == "HTTP/1.1" and _REWRITTEN.isdisjoint(names):
        extra = (
            f"X-Forwarded-For: {client_ip}\r\nX-Forwarded-Proto: {scheme}\r\n"
            f"X-Forwarded-Host: {host}\r\nX-Forwarded-Port: {port}\r\n"
            f"X-Real-IP: {client_ip}\r\n"
        )
        if "content-length" not in names and request.method in ("POST", "PUT", "PATCH"):
            extra += "Content-Length: 0\r\n"
        return head[:-2] + extra.encode("latin-1") + b"\r\n"
    forwarded = forwarded_headers(request, host, scheme, port, client_ip)
    if length or request.method in ("POST", "PUT", "PATCH"):
        forwarded.append(("Content-Length", str(length)))
    return render(f"{request.method} {request.target} HTTP/1.1", forwarded)


def passes_through(response: Response) -> bool:
    """Whether a response head can go to the client as received: HTTP/1.1 and no
    hop-by-hop headers (the proxy keeps the client connection open)."""
    headers = response.headers
    return (
        response.version == "HTTP/1.1"
        and isinstance(headers, IndexedHeaders)
        and HOP_BY_HOP.isdisjoint(headers.by_name)
    )
