"""Running one probe: `httpGet`, `tcpSocket` or `exec`, with its timeout.

HTTP and TCP probes go from the host to the pod IP (the host reaches the pod
network's bridge), exec probes run in the container through `docker exec`. The
outcome is (success, output) with Kubernetes' wording for failures, which ends up
in `Unhealthy` events.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import httpx

from kubelet.runtime import DockerRuntime, RuntimeFailure

MAX_OUTPUT = 10 * 1024


def resolve_port(port: Any, container: dict[str, Any]) -> int | None:
    """A probe's port: a number, or the name of one of the container's ports."""
    if isinstance(port, int):
        return port
    if isinstance(port, str):
        if port.isdigit():
            return int(port)
        for entry in container.get("ports") or []:
            if entry.get("name") == port:
                return int(entry["containerPort"])
    return None


class ProbeRunner:
    """Runs probes for every container of the node (one HTTP client for all)."""

    def __init__(self, runtime: DockerRuntime) -> None:
        self.runtime = runtime
        self._http = httpx.AsyncClient(
            verify=False,
            follow_redirects=False,
            limits=httpx.Limits(max_keepalive_connections=0, max_connections=100),
            headers={"User-Agent": "kube-probe/1.32"},
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def run(
        self,
        probe: dict[str, Any],
        container: dict[str, Any],
        container_id: str,
        pod_ip: str,
    ) -> tuple[bool, str]:
        timeout = float(probe.get("timeoutSeconds") or 1)
        try:
            if probe.get("httpGet") is not None:
                return await self._http_get(probe["httpGet"], container, pod_ip, timeout)
            if probe.get("tcpSocket") is not None:
                return await self._tcp(probe["tcpSocket"], container, pod_ip, timeout)
            if probe.get("exec") is not None:
                return await self._exec(probe["exec"], container_id, timeout)
        except Exception as err:  # a probe error is a failed probe, never a crash
            return False, f"probe error: {err}"
        if probe.get("grpc") is not None:
            return False, "gRPC probes are not supported by minik"
        return False, "probe has no handler"

    async def _http_get(
        self, action: dict[str, Any], container: dict[str, Any], pod_ip: str, timeout: float
    ) -> tuple[bool, str]:
        port = resolve_port(action.get("port"), container)
        if port is None:
            return False, f"invalid port {action.get('port')!r}"
        scheme = (action.get("scheme") or "HTTP").lower()
        host = action.get("host") or pod_ip
        path = action.get("path") or "/"
        if not path.startswith("/"):
            path = "/" + path
        url = f"{scheme}://{_bracket(host)}:{port}{path}"
        headers = {h.get("name", ""): h.get("value", "") for h in action.get("httpHeaders") or []}
        try:
            resp = await self._http.get(url, headers=headers, timeout=timeout)
        except httpx.TimeoutException:
            return False, (
                f'Get "{url}": context deadline exceeded (Client.Timeout exceeded while '
                "awaiting headers)"
            )
        except httpx.HTTPError as err:
            return False, f'Get "{url}": {_dial_error(err, host, port)}'
        if 200 <= resp.status_code < 400:
            return True, resp.text[:MAX_OUTPUT]
        return False, f"HTTP probe failed with statuscode: {resp.status_code}"

    async def _tcp(
        self, action: dict[str, Any], container: dict[str, Any], pod_ip: str, timeout: float
    ) -> tuple[bool, str]:
        port = resolve_port(action.get("port"), container)
        if port is None:
            return False, f"invalid port {action.get('port')!r}"
        host = action.get("host") or pod_ip
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), timeout)
        except TimeoutError:
            return False, f"dial tcp {_bracket(host)}:{port}: i/o timeout"
        except OSError as err:
            return False, f"dial tcp {_bracket(host)}:{port}: connect: {_os_reason(err)}"
        writer.close()
        with contextlib.suppress(Exception):
            await writer.wait_closed()
        return True, ""

    async def _exec(
        self, action: dict[str, Any], container_id: str, timeout: float
    ) -> tuple[bool, str]:
        command = [str(part) for part in action.get("command") or []]
        if not command:
            return False, "exec probe has no command"
        try:
            code, output = await self.runtime.exec(container_id, command, timeout)
        except TimeoutError:
            return False, f"command {command!r} timed out"
        except RuntimeFailure as err:
            return False, str(err)
        text = output[:MAX_OUTPUT].decode(errors="replace")
        if code == 0:
            return True, text
        return False, text or f"command {command!r} exited with {code}"


def _bracket(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def _os_reason(err: OSError) -> str:
    if isinstance(err, ConnectionRefusedError):
        return "connection refused"
    return (err.strerror or str(err)).lower()


def _dial_error(err: httpx.HTTPError, host: str, port: int) -> str:
    cause = err.__cause__ or err.__context__
    if isinstance(err, httpx.ConnectError):
        if isinstance(cause, OSError):
            return f"dial tcp {_bracket(host)}:{port}: connect: {_os_reason(cause)}"
        if "refused" in str(err).lower():
            return f"dial tcp {_bracket(host)}:{port}: connect: connection refused"
    return str(err) or type(err).__name__
