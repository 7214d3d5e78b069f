"""The quick head reader agrees with the full parser on every head it accepts, and
declines the ones the proxy must rewrite."""

from __future__ import annotations

import pytest

from ingress import http1, quickhead

ACCEPTED = [
    b"GET / HTTP/1.1\r\nHost: demo.local\r\n\r\n",
    b"GET /a?b=c HTTP/1.1\r\nHOST: Demo.Local:8080\r\nAccept: */*\r\n\r\n",
    b"POST /x HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n",
    b"GET / HTTP/1.1\r\nUser-Agent: curl\r\n\r\n",
]
DECLINED = [
    b"GET / HTTP/1.0\r\nHost: h\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length : 5\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: h\r\nX-Forwarded-For: 6.6.6.6\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\n folded\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n",
]


@pytest.mark.parametrize("head", ACCEPTED)
def test_accepted_requests_read_as_the_full_parser_reads_them(head):
    quick = quickhead.request(head)
    full = http1.parse_request(head)
    assert quick is not None
    assert (quick.method, quick.target) == (full.method, full.target)
    assert quick.host == (http1.header(full.headers, "host") or "")
    assert ("length", quick.length) == http1.request_framing(full.headers)


@pytest.mark.parametrize("head", DECLINED)
def test_requests_to_rewrite_are_declined(head):
    assert quickhead.request(head) is None


def test_response_lengths():
    ok = b"HTTP/1.1 200 OK\r\nContent-Length: 12\r\nContent-Type: text/plain\r\n\r\n"
    assert quickhead.response_length(ok, "GET") == 12
    assert quickhead.response_length(ok, "HEAD") is None
    for head in (
        b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 304 Not Modified\r\n\r\n",
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"HTTP/1.1 200 OK\r\n\r\n",
    ):
        assert quickhead.response_length(head, "GET") is None, head
