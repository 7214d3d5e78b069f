from __future__ import annotations

from starlette.datastructures import Headers

from componentbase.rawupgrade import (
    ORIGINAL_PROTOCOLS,
    _repair_protocols,
    is_raw_upgrade,
    websocket_protocols,
)


def test_token_subprotocols_pass_untouched() -> None:
    headers = [
        (b"host", b"x"),
        (b"sec-websocket-protocol", b"v5.channel.k8s.io, v4.channel.k8s.io"),
    ]
    assert _repair_protocols(headers) == headers


def test_kubectl_tunneled_port_forward_is_moved_aside() -> None:
    """`SPDY/3.1+portforward.k8s.io` is no RFC 6455 token: the websockets library
    would refuse the handshake, so only the app sees it."""
    repaired = _repair_protocols(
        [
            (b"sec-websocket-protocol", b"SPDY/3.1+portforward.k8s.io, v4.channel.k8s.io"),
            (ORIGINAL_PROTOCOLS, b"forged"),
        ]
    )
    assert repaired == [
        (b"sec-websocket-protocol", b"v4.channel.k8s.io"),
        (ORIGINAL_PROTOCOLS, b"SPDY/3.1+portforward.k8s.io, v4.channel.k8s.io"),
    ]
    seen = websocket_protocols(Headers(raw=repaired))
    assert seen == ["SPDY/3.1+portforward.k8s.io", "v4.channel.k8s.io"]
    only = _repair_protocols([(b"sec-websocket-protocol", b"SPDY/3.1+portforward.k8s.io")])
    assert only == [(ORIGINAL_PROTOCOLS, b"SPDY/3.1+portforward.k8s.io")]


def test_raw_upgrades_are_marked() -> None:
    assert is_raw_upgrade({"extensions": {"minik.raw-upgrade": {}}})
    assert not is_raw_upgrade({"extensions": {"websocket.http.response": {}}})
    assert not is_raw_upgrade({})
