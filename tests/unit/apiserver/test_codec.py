"""Response encoding: Warning headers as Kubernetes writes them."""

from __future__ import annotations

from apiserver.codec import warning_headers


def test_warning_header_quotes_escapes_and_carries_utf8():
    headers = warning_headers(['unknown field "spec.x"', "snow ☃\nman", 'unknown field "spec.x"'])
    assert headers is not None
    value = headers["Warning"].encode("latin-1").decode("utf-8")
    assert value == '299 - "unknown field \\"spec.x\\"", 299 - "snow ☃ man"'
    assert warning_headers([]) is None
