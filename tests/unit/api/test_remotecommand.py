"""The remote command protocol's pure parts: subprotocol choice, resize parsing, and
the exit Status kubectl reads its exit code from."""

from __future__ import annotations

import json

from api import remotecommand as rc


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
