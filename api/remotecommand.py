"""Kubernetes' remote command channel protocol (`v5.channel.k8s.io`, `v4.channel.k8s.io`)
as `kubectl exec` speaks it over a WebSocket: one place for both the apiserver and
the kubelet.

Every binary message starts with a stream id: 0 stdin, 1 stdout, 2 stderr, 3 the
error stream (one v1 Status at the end), 4 terminal resize (JSON `{"Width", "Height"}`).
v5 adds 255: "close", its second byte the stream being closed (kubectl closes stdin
that way when its own stdin ends)."""

from __future__ import annotations

import json
import logging
from typing import Any

STDIN, STDOUT, STDERR, ERROR, RESIZE, CLOSE = 0, 1, 2, 3, 4, 255
V5 = "v5.channel.k8s.io"
V4 = "v4.channel.k8s.io"
SUPPORTED = (V5, V4)  # in order of preference
SPDY_UPGRADE = "spdy/3.1"


def offered_protocols(header: str | None) -> list[str]:
    """The subprotocols of a `Sec-WebSocket-Protocol` header, in the client's order."""
    return [p.strip() for p in (header or "").split(",") if p.strip()]


def choose_protocol(offered: list[str]) -> str | None:
    """The best protocol both sides speak: v5 over v4, whatever the client's order."""
    return next((p for p in SUPPORTED if p in offered), None)


def frame(stream: int, data: bytes = b"") -> bytes:
    return bytes([stream]) + data


def parse_resize(payload: bytes) -> tuple[int, int] | None:
    """(width, height) of a resize message's JSON; None when it is not one."""
    try:
        size = json.loads(payload)
        width, height = int(size["Width"]), int(size["Height"])
    except (ValueError, KeyError, TypeError):
        return None
    return (width, height) if width > 0 and height > 0 else None


def exit_status(code: int, command: list[str]) -> dict[str, Any]:
    """The Status sent on the error stream when the command ends: kubectl exits with
    the code in `details.causes[ExitCode]`, as with the kubelet's."""
    if code == 0:
        return {"metadata": {}, "status": "Success"}
    return {
        "metadata": {},
        "status": "Failure",
        "reason": "NonZeroExitCode",
        "message": (
            "command terminated with non-zero exit code: error executing command "
            f"[{' '.join(command)}], exit code {code}"
        ),
        "details": {"causes": [{"reason": "ExitCode", "message": str(code)}]},
    }


def failure_status(message: str) -> dict[str, Any]:
    """The Status for a command that could not be run at all (kubectl prints it)."""
    return {"metadata": {}, "status": "Failure", "message": message, "reason": "InternalError"}


def status_frame(status: dict[str, Any]) -> bytes:
    return frame(ERROR, json.dumps(status, separators=(",", ":")).encode())


class _DeniedHandshakeFilter(logging.Filter):
    """uvicorn's websockets-sansio protocol logs an error for every upgrade the app
    refuses with an HTTP response (a Status), though the refusal was sent: drop it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "ASGI callable returned without completing handshake."


def quiet_denied_handshakes() -> None:
    """Install the filter once on uvicorn's error logger (servers that deny upgrades)."""
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _DeniedHandshakeFilter) for f in logger.filters):
        logger.addFilter(_DeniedHandshakeFilter())
