"""SPDY/3.1 framing against bytes a real kubectl 1.27 sent (tests/unit/api/fixtures,
recorded with `python -m tests.support.spdycapture 1.27 exec|portforward OUT.json`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from api import spdy

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / f"kubectl-1.27-{name}.json").read_text())


def frames(hex_bytes: str, chunk: int = 0) -> list[spdy.Frame]:
    data = bytes.fromhex(hex_bytes)
    decoder = spdy.Decoder()
    if not chunk:
        return decoder.feed(data)
    out: list[spdy.Frame] = []
    for i in range(0, len(data), chunk):
        out += decoder.feed(data[i : i + chunk])
    return out


def test_kubectl_exec_streams_as_captured() -> None:
    captured = fixture("exec")
    assert captured["request"]["upgrade"] == "SPDY/3.1"
    assert captured["request"]["offered"].split(",")[0] == "v4.channel.k8s.io"
    got = frames(captured["client_to_server"])
    syns = [f for f in got if f.type == spdy.SYN_STREAM]
    assert [(f.stream_id, f.header("streamtype")) for f in syns] == [
        (1, "error"),
        (3, "stdin"),
        (5, "stdout"),
        (7, "stderr"),
    ]
    data = [f for f in got if f.type == spdy.DATA]
    assert [(f.stream_id, f.data, f.fin) for f in data] == [(3, b"hello\n", False), (3, b"", True)]
    assert {f.stream_id for f in got if f.type == spdy.RST_STREAM} == {1, 5, 7}
    assert got[-1].type == spdy.GOAWAY


def test_any_chunking_decodes_the_same() -> None:
    """One zlib context per direction, whatever the TCP segments."""
    whole = frames(fixture("exec")["client_to_server"])
    assert frames(fixture("exec")["client_to_server"], chunk=1) == whole
    assert frames(fixture("exec")["client_to_server"], chunk=7) == whole


def test_header_blocks_share_one_compression_context() -> None:
    data = bytes.fromhex(fixture("exec")["client_to_server"])
    first, second = spdy.Decoder(), spdy.Decoder()
    size = 8 + int.from_bytes(data[5:8], "big")
    first.feed(data[:size])
    assert first.feed(data[size : size + 8 + int.from_bytes(data[size + 5 : size + 8], "big")])
    with pytest.raises(spdy.ProtocolError):  # the second block alone cannot be read
        second.feed(data[size:])


def test_kubectl_port_forward_pairs_as_captured() -> None:
    captured = fixture("portforward")
    assert captured["request"]["offered"] == "portforward.k8s.io"
    got = frames(captured["client_to_server"])
    syns = [f for f in got if f.type == spdy.SYN_STREAM]
    assert [(f.header("streamtype"), f.header("port"), f.header("requestid")) for f in syns] == [
        ("error", "80", "0"),
        ("data", "80", "0"),
    ]
    error_fin = [f for f in got if f.type == spdy.DATA and f.stream_id == 1]
    assert error_fin[0].fin and not error_fin[0].data  # kubectl closes its error stream
    assert (3, b"ping") in [(f.stream_id, f.data) for f in got if f.type == spdy.DATA]


def test_what_minik_answered_kubectl_decodes() -> None:
    answered = frames(fixture("exec")["server_to_client"])
    assert [f.stream_id for f in answered if f.type == spdy.SYN_REPLY] == [1, 3, 5, 7]
    assert (5, b"captured\n") in [(f.stream_id, f.data) for f in answered]


def test_every_frame_type_round_trips() -> None:
    enc, dec = spdy.Encoder(), spdy.Decoder()
    wire = b"".join(
        [
            enc.syn_stream(1, {"streamtype": ["error"], "X-Multi": ["a", "b"]}, fin=True),
            enc.syn_reply(2, {"k": ["v"]}),
            enc.headers(1, {"h": ["1"]}, fin=True),
            enc.data(1, b"x" * 70000, fin=True),
            enc.rst_stream(3, spdy.CANCEL),
            enc.settings([(0, 4, 100), (1, 7, 65536)]),
            enc.ping(9),
            enc.goaway(5, 0),
            enc.window_update(1, 1024),
        ]
    )
    got = dec.feed(wire)
    assert [f.type for f in got] == [1, 2, 8, 0, 3, 4, 6, 7, 9]
    assert got[0].headers == {"streamtype": ["error"], "x-multi": ["a", "b"]} and got[0].fin
    assert got[1].stream_id == 2 and got[1].headers == {"k": ["v"]}
    assert got[3].data == b"x" * 70000 and got[3].fin
    assert (got[4].stream_id, got[4].status) == (3, spdy.CANCEL)
    assert got[5].settings == [(0, 4, 100), (1, 7, 65536)]
    assert got[6].ping_id == 9 and got[7].last_good_stream_id == 5
    assert (got[8].stream_id, got[8].delta_window) == (1, 1024)


def test_a_frame_arrives_only_when_complete() -> None:
    wire = spdy.Encoder.data(5, b"abcdef")
    dec = spdy.Decoder()
    assert dec.feed(wire[:9]) == []
    assert dec.feed(wire[9:])[0].data == b"abcdef"


def test_not_spdy_3() -> None:
    with pytest.raises(spdy.ProtocolError):
        spdy.Decoder().feed(b"\x80\x02\x00\x06\x00\x00\x00\x04\x00\x00\x00\x01")


def test_negotiation_follows_the_client_order() -> None:
    offered = spdy.offered_protocols(["v4.channel.k8s.io, v3.channel.k8s.io", "channel.k8s.io"])
    assert offered == ["v4.channel.k8s.io", "v3.channel.k8s.io", "channel.k8s.io"]
    assert spdy.negotiate(offered, ("v3.channel.k8s.io", "v4.channel.k8s.io")) == (
        "v4.channel.k8s.io"
    )
    assert spdy.negotiate(["portforward.k8s.io"], ("v4.channel.k8s.io",)) is None
    assert spdy.is_spdy_upgrade("spdy/3.1") and not spdy.is_spdy_upgrade("websocket")
