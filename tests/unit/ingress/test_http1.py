"""HTTP/1.1 framing of the ingress proxy."""

from __future__ import annotations

import asyncio

import pytest

from ingress import http1
from ingress.http1 import BadMessage


def test_request_heads_and_paths():
    req = http1.parse_request(b"GET /api/x?q=1 HTTP/1.1\r\nHost: demo.local\r\nX-A: 1\r\n\r\n")
    assert (req.method, req.path, req.version) == ("GET", "/api/x", "HTTP/1.1")
    assert http1.header(req.headers, "host") == "demo.local"
    assert http1.parse_request(b"GET http://h/a/b HTTP/1.1\r\n\r\n").path == "/a/b"
    with pytest.raises(BadMessage):
        http1.parse_request(b"GET /\r\n\r\n")
    with pytest.raises(BadMessage):
        http1.parse_request(b"GET / HTTP/1.1\r\nBad Header\r\n\r\n")


def test_framing_and_keep_alive():
    assert http1.request_framing([("Content-Length", "5")]) == ("length", 5)
    assert http1.request_framing([("Transfer-Encoding", "chunked")]) == ("chunked", 0)
    with pytest.raises(BadMessage):
        http1.request_framing([("Content-Length", "5"), ("Content-Length", "6")])
    ok = http1.Response("HTTP/1.1", 200, "OK", [])
    assert http1.response_framing("GET", ok) == ("close", 0)
    assert http1.response_framing("HEAD", ok) == ("length", 0)
    assert http1.response_framing("GET", http1.Response("HTTP/1.1", 304, "", [])) == ("length", 0)
    assert http1.wants_keep_alive("HTTP/1.1", [])
    assert not http1.wants_keep_alive("HTTP/1.1", [("Connection", "close")])
    assert not http1.wants_keep_alive("HTTP/1.0", [])
    assert http1.wants_keep_alive("HTTP/1.0", [("Connection", "Keep-Alive")])


def test_hop_by_hop_headers_are_dropped():
    headers = [
        ("Connection", "close, X-Secret"),
        ("X-Secret", "1"),
        ("Keep-Alive", "5"),
        ("A", "b"),
    ]
    assert http1.end_to_end(headers) == [("A", "b")]


class Sink:
    def __init__(self) -> None:
        self.data = b""

    def write(self, data: bytes) -> None:
        self.data += data

    async def drain(self) -> None:
        pass


def relay(framing, data: bytes) -> bytes:
    async def go() -> bytes:
        reader = asyncio.StreamReader()
        reader.feed_data(data)
        reader.feed_eof()
        sink = Sink()
        await http1.relay_body(framing, reader, sink)  # type: ignore[arg-type]
        return sink.data

    return asyncio.run(go())


def test_bodies_are_relayed_by_their_framing():
    chunked = b"5;ext=1\r\nhello\r\n0\r\nTrailer: x\r\n\r\n"
    assert relay(("chunked", 0), chunked + b"NEXT") == chunked
    assert relay(("length", 3), b"abcdef") == b"abc"
    assert relay(("close", 0), b"all of it") == b"all of it"
    with pytest.raises(BadMessage):
        relay(("length", 10), b"short")


def test_upstream_heads_are_forwarded_as_received_when_nothing_needs_replacing():
    head = b"GET /a HTTP/1.1\r\nHost: demo.local\r\nAccept: */*\r\n\r\n"
    out = http1.upstream_head(
        http1.parse_request(head), head, "demo.local", "http", 80, "10.0.0.9", 0
    )
    assert out == (
        b"GET /a HTTP/1.1\r\nHost: demo.local\r\nAccept: */*\r\n"
        b"X-Forwarded-For: 10.0.0.9\r\nX-Forwarded-Proto: http\r\n"
        b"X-Forwarded-Host: demo.local\r\nX-Forwarded-Port: 80\r\nX-Real-IP: 10.0.0.9\r\n\r\n"
    )
    spoofed = (
        b"GET /a HTTP/1.0\r\nHost: h\r\nX-Forwarded-For: 6.6.6.6\r\nConnection: keep-alive\r\n\r\n"
    )
    out = http1.upstream_head(
        http1.parse_request(spoofed), spoofed, "h", "https", 443, "10.0.0.9", 0
    )
    assert out.startswith(b"GET /a HTTP/1.1\r\nHost: h\r\n")
    assert b"6.6.6.6" not in out and b"keep-alive" not in out
    assert b"X-Forwarded-For: 10.0.0.9\r\n" in out and b"X-Forwarded-Proto: https\r\n" in out
    post = b"POST /a HTTP/1.1\r\nHost: h\r\n\r\n"
    assert b"Content-Length: 0\r\n" in http1.upstream_head(
        http1.parse_request(post), post, "h", "http", 80, "1.2.3.4", 0
    )


def test_response_heads_pass_through_unless_hop_by_hop():
    ok = http1.parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n")
    assert http1.passes_through(ok)
    closing = http1.parse_response(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n")
    assert not http1.passes_through(closing)
    assert not http1.passes_through(http1.parse_response(b"HTTP/1.0 200 OK\r\n\r\n"))
