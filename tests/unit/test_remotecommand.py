"""The remote command protocol's pure parts: subprotocol choice, resize parsing, the
exit Status kubectl reads its exit code from, splitting Docker's multiplexed exec
stream into channels, and the apiserver's checks before an exec."""

from __future__ import annotations

import json

import pytest

from api import remotecommand as rc
from api.errors import ApiError
from apiserver.podproxy import check_exec_status
from kubelet.execstream import DockerDemuxer


def test_choose_protocol_prefers_v5_and_refuses_unknown() -> None:
    header = "v4.channel.k8s.io, v5.channel.k8s.io,v3.channel.k8s.io"
    assert rc.offered_protocols(header) == [
        "v4.channel.k8s.io",
        "v5.channel.k8s.io",
        "v3.channel.k8s.io",
    ]
    assert rc.choose_protocol(rc.offered_protocols(header)) == "v5.channel.k8s.io"
    assert rc.choose_protocol(["v4.channel.k8s.io"]) == "v4.channel.k8s.io"
    assert rc.choose_protocol(["channel.k8s.io", "base64.channel.k8s.io"]) is None
    assert rc.choose_protocol(rc.offered_protocols(None)) is None


def test_parse_resize() -> None:
    assert rc.parse_resize(b'{"Width":111,"Height":33}') == (111, 33)
    assert rc.parse_resize(b'{"Width":0,"Height":0}') is None
    assert rc.parse_resize(b"not json") is None
    assert rc.parse_resize(b'{"Width":"x"}') is None


def test_exit_status() -> None:
    assert rc.exit_status(0, ["echo", "hi"]) == {"metadata": {}, "status": "Success"}
    failed = rc.exit_status(3, ["sh", "-c", "exit 3"])
    assert failed["status"] == "Failure" and failed["reason"] == "NonZeroExitCode"
    assert failed["message"] == (
        "command terminated with non-zero exit code: error executing command "
        "[sh -c exit 3], exit code 3"
    )
    assert failed["details"] == {"causes": [{"reason": "ExitCode", "message": "3"}]}
    framed = rc.status_frame(failed)
    assert framed[0] == rc.ERROR and json.loads(framed[1:]) == failed


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


def pod(phase: str = "Running", state: dict | None = None, node: str = "n1") -> dict:
    return {
        "metadata": {"name": "web"},
        "spec": {"nodeName": node, "containers": [{"name": "app"}]},
        "status": {
            "phase": phase,
            "containerStatuses": [{"name": "app", "state": state or {"running": {}}}],
        },
    }


def test_check_exec_status() -> None:
    check_exec_status(pod(), "app", ["true"])
    cases = [
        (pod(), ["app", []], "you must specify at least one command for the container"),
        (pod(node=""), ["app", ["true"]], "pod web does not have a host assigned"),
        (pod("Succeeded"), ["app", ["true"]], "current phase is Succeeded"),
        (pod(state={"waiting": {}}), ["app", ["true"]], "container app is not running in pod"),
    ]
    for manifest, (container, command), message in cases:
        with pytest.raises(ApiError, match=message.replace("[", r"\[")) as err:
            check_exec_status(manifest, container, command)
        assert err.value.code == 400
