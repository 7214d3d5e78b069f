"""The kubelet's SPDY session against a scripted client, in memory: streams opened
and answered, DATA multiplexed to the right stream, FIN/RST/PING/GOAWAY."""

from __future__ import annotations

import asyncio

from api import spdy
from kubelet.portforward import parse_ports
from kubelet.spdysession import Session
from tests.support.virtual_time import run


class Wire:
    """The client's side of an in-memory connection."""

    def __init__(self) -> None:
        self.to_server: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.to_client = bytearray()
        self.encoder = spdy.Encoder()
        self.decoder = spdy.Decoder()
        self.session = Session(self.to_server.get, self._write)

    async def _write(self, data: bytes) -> None:
        self.to_client += data

    def send(self, data: bytes) -> None:
        self.to_server.put_nowait(data)

    def received(self) -> list[spdy.Frame]:
        frames = self.decoder.feed(bytes(self.to_client))
        self.to_client.clear()
        return frames


def test_streams_are_answered_and_multiplexed() -> None:
    async def scenario() -> None:
        wire = Wire()
        runner = asyncio.create_task(wire.session.run())
        # Two streams in one write, then their data interleaved and split mid-frame.
        wire.send(
            wire.encoder.syn_stream(1, {"streamtype": ["stdin"]})
            + wire.encoder.syn_stream(3, {"streamtype": ["resize"]})
        )
        stdin, resize = await wire.session.accept(), await wire.session.accept()
        assert stdin is not None and resize is not None
        assert (stdin.type, resize.type) == ("stdin", "resize")
        interleaved = (
            spdy.Encoder.data(3, b'{"Width":80,"Height":24}')
            + spdy.Encoder.data(1, b"abc")
            + spdy.Encoder.data(1, b"", fin=True)
        )
        wire.send(interleaved[:10])
        wire.send(interleaved[10:])
        assert await resize.read() == b'{"Width":80,"Height":24}'
        assert await stdin.read() == b"abc"
        assert await stdin.read() is None and stdin.remote_closed
        replies = wire.received()
        assert [(f.type, f.stream_id) for f in replies] == [(spdy.SYN_REPLY, 1), (2, 3)]

        await stdin.write(b"out")
        await stdin.close()
        wire.send(wire.encoder.ping(7) + wire.encoder.rst_stream(3))
        assert await resize.read() is None and resize.reset
        wire.send(wire.encoder.goaway(3))
        assert await wire.session.accept() is None
        wire.send(None)  # the client hangs up
        await runner
        sent = wire.received()
        assert [(f.type, f.stream_id, f.data, f.fin) for f in sent[:2]] == [
            (spdy.DATA, 1, b"out", False),
            (spdy.DATA, 1, b"", True),
        ]
        assert sent[2].type == spdy.PING and sent[2].ping_id == 7
        assert wire.session.closed.is_set()

    run(scenario())


def test_bad_streams_are_refused_and_garbage_ends_the_session() -> None:
    async def scenario() -> None:
        wire = Wire()
        runner = asyncio.create_task(wire.session.run())
        wire.send(wire.encoder.syn_stream(2, {"streamtype": ["data"]}))  # even: server ids
        wire.send(b"\x80\x02\x00\x01\x00\x00\x00\x00")  # SPDY/2
        await runner
        frames = wire.received()
        assert [(f.type, f.stream_id) for f in frames] == [(spdy.RST_STREAM, 2), (7, 0)]
        assert await wire.session.accept() is None

    run(scenario())


def test_port_forward_ports_parse_as_the_kubelet_does() -> None:
    assert parse_ports(["8080,8081", "9000"]) == [8080, 8081, 9000]
    for bad in (["0"], ["70000"], ["http"], []):
        try:
            parse_ports(bad)
        except ValueError:
            continue
        raise AssertionError(f"{bad} accepted")
