"""Splitting Docker's multiplexed exec stream into the remote command channels."""

from __future__ import annotations

from api import remotecommand as rc
from kubelet.execstream import DockerDemuxer


def docker_frame(kind: int, data: bytes) -> bytes:
    return bytes([kind, 0, 0, 0]) + len(data).to_bytes(4, "big") + data


def test_demuxer_splits_stdout_and_stderr_however_chunked() -> None:
    stream = docker_frame(1, b"out\n") + docker_frame(2, b"err\n") + docker_frame(1, b"x" * 70000)
    whole = DockerDemuxer().feed(stream)
    assert whole == [(rc.STDOUT, b"out\n"), (rc.STDERR, b"err\n"), (rc.STDOUT, b"x" * 70000)]
    demuxer = DockerDemuxer()
    pieces: list[tuple[int, bytes]] = []
    for i in range(0, len(stream), 3):  # headers and payloads split across chunks
        pieces += demuxer.feed(stream[i : i + 3])
    assert pieces == whole
    assert DockerDemuxer().feed(docker_frame(1, b"")) == []
    assert DockerDemuxer().feed(stream[:5]) == []
