"""Record the SPDY/3.1 bytes a real kubectl sends, for api/spdy.py's unit tests.

`python -m tests.support.spdycapture 1.27 exec OUT.json` starts a tiny plain-HTTP
server on loopback that answers `GET …/pods/p` with a running pod, accepts the
`pods/p/exec` (or `pods/p/portforward`) SPDY upgrade and serves it with minik's own
session (kubelet/spdysession.py), then runs `kubectl.<minor>` against it:
- exec: `kubectl exec -i p -- cat` with stdin `hello\\n`; the server answers
  `captured\\n` on stdout and a Success Status;
- portforward: `kubectl port-forward p :80`, one local connection sending `ping`;
  the server answers `pong` on the data stream.
Both directions' bytes are written, hex-encoded, to OUT.json (the fixtures under
tests/unit/api/fixtures/ were made this way)."""

from __future__ import annotations

import asyncio
import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from api import spdy
from kubelet.spdysession import Session
from tests.support.kubectl import binary_for

POD = {
    "kind": "Pod",
    "apiVersion": "v1",
    "metadata": {"name": "p", "namespace": "default", "uid": "u"},
    "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    "status": {
        "phase": "Running",
        "containerStatuses": [{"name": "c", "ready": True, "state": {"running": {}}}],
    },
}


DISCOVERY: dict[str, Any] = {
    "/api": {"kind": "APIVersions", "versions": ["v1"]},
    "/apis": {"kind": "APIGroupList", "apiVersion": "v1", "groups": []},
    "/api/v1": {
        "kind": "APIResourceList",
        "groupVersion": "v1",
        "resources": [
            {"name": "pods", "namespaced": True, "kind": "Pod", "verbs": ["get"]},
            {"name": "pods/exec", "namespaced": True, "kind": "PodExecOptions", "verbs": []},
        ],
    },
}


class Capture:
    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.received = bytearray()
        self.sent = bytearray()
        self.headers: dict[str, str] = {}
        self.done = asyncio.Event()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        request, *lines = head.decode("latin-1").split("\r\n")
        method, target, _ = request.split(" ", 2)
        headers: dict[str, list[str]] = {}
        for line in lines:
            name, _, value = line.partition(":")
            if name:
                headers.setdefault(name.strip().lower(), []).append(value.strip())
        path = target.split("?")[0]
        if method == "GET" and (path.endswith("/pods/p") or path in DISCOVERY):
            body = json.dumps(POD if path.endswith("/pods/p") else DISCOVERY[path]).encode()
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                + b"Content-Length: %d\r\n\r\n" % len(body)
                + body
            )
            await writer.drain()
            writer.close()
            return
        if "upgrade" not in headers:
            writer.write(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")
            writer.close()
            return
        offered = spdy.offered_protocols(headers.get("x-stream-protocol-version", []))
        self.headers = {"upgrade": headers["upgrade"][0], "offered": ",".join(offered)}
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n"
            + f"X-Stream-Protocol-Version: {offered[0]}\r\n\r\n".encode()
        )

        async def read() -> bytes | None:
            data = await reader.read(65536)
            self.received += data
            return data or None

        async def write(data: bytes) -> None:
            self.sent += data
            writer.write(data)
            await writer.drain()

        session = Session(read, write)
        runner = asyncio.create_task(session.run())
        try:
            if self.mode == "exec":
                await self._exec(session)
                await asyncio.wait_for(session.closed.wait(), 10)  # kubectl hangs up
            else:
                await self._forward(session)  # kubectl keeps the connection open
        finally:
            runner.cancel()
            writer.close()
            self.done.set()

    async def _exec(self, session: Session) -> None:
        streams: dict[str, Any] = {}
        while len(streams) < 4:  # error, stdin, stdout, stderr
            stream = await session.accept()
            assert stream is not None
            streams[stream.type] = stream
        assert await streams["stdin"].read() == b"hello\n"
        assert await streams["stdin"].read() is None  # FIN
        await streams["stdout"].write(b"captured\n")
        await streams["stdout"].close()
        await streams["stderr"].close()
        await streams["error"].write(b'{"metadata":{},"status":"Success"}')
        await streams["error"].close()

    async def _forward(self, session: Session) -> None:
        error = await session.accept()
        data = await session.accept()
        assert error is not None and data is not None
        assert await data.read() == b"ping"
        await data.write(b"pong")
        await data.close()
        await error.close()


async def capture(minor: str, mode: str) -> dict[str, Any]:
    recorder = Capture(mode)
    server = await asyncio.start_server(recorder.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "kubeconfig"
        config.write_text(
            "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
            f"clusters: [{{name: c, cluster: {{server: 'http://127.0.0.1:{port}'}}}}]\n"
            "users: [{name: u, user: {token: t}}]\n"
            "contexts: [{name: c, context: {cluster: c, user: u, namespace: default}}]\n"
        )
        base = [str(binary_for(minor)), "--kubeconfig", str(config), "--cache-dir", tmp]
        if mode == "exec":
            proc = await asyncio.create_subprocess_exec(
                *base, "exec", "-i", "p", "--", "cat",
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            )  # fmt: skip
            out, _ = await asyncio.wait_for(proc.communicate(b"hello\n"), 30)
            assert out == b"captured\n", out
        else:
            proc = await asyncio.create_subprocess_exec(
                *base, "port-forward", "p", ":80", stdout=asyncio.subprocess.PIPE
            )
            assert proc.stdout is not None
            line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
            local = int(re.findall(r":(\d+) ->", line)[0])
            reader, writer = await asyncio.open_connection("127.0.0.1", local)
            writer.write(b"ping")
            assert await asyncio.wait_for(reader.read(4), 30) == b"pong"
            await asyncio.wait_for(reader.read(), 30)
            writer.close()
            await asyncio.wait_for(recorder.done.wait(), 30)
            proc.terminate()
            await proc.wait()
        await asyncio.wait_for(recorder.done.wait(), 30)
    server.close()
    return {
        "note": f"kubectl {minor} {mode}, recorded by tests/support/spdycapture.py",
        "request": recorder.headers,
        "client_to_server": recorder.received.hex(),
        "server_to_client": recorder.sent.hex(),
    }


def main(argv: list[str]) -> int:
    minor, mode, out = argv
    Path(out).write_text(json.dumps(asyncio.run(capture(minor, mode)), indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
