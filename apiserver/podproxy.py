"""`pods/{name}/log` and `pods/{name}/exec`: proxied to the kubelet of the pod's node.

As in Kubernetes, the apiserver finds the pod's node, reaches its kubelet over HTTPS
at the Node's InternalIP and `status.daemonEndpoints.kubeletEndpoint.Port` (checked
first: apiserver/kubeletclient.py), passes the query on, and streams the kubelet's
answer back (so `kubectl logs -f` follows). It presents its own client certificate,
never the caller's token: the caller was authorized here, for `pods/log` or
`pods/exec`. Requests that cannot have logs yet are refused here, with Kubernetes'
messages, without bothering the kubelet. `POST …/exec?command=…` runs a command
and answers its output; `exec`, `attach` and `portforward` upgrades (WebSocket or
SPDY/3.1) are relayed by apiserver/wsproxy.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from starlette.datastructures import QueryParams
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from api import errors
from api.resources import NODES
from apiserver.kubeletclient import KubeletClient, Target
from apiserver.options import query_flag
from apiserver.requestinfo import RequestInfo

DEFAULT_KUBELET_PORT = 10250
_TIMEOUT = httpx.Timeout(connect=5.0, read=None, write=10.0, pool=5.0)
_HOP_BY_HOP = {"connection", "transfer-encoding", "content-length", "keep-alive"}


def pick_container(pod: dict[str, Any], requested: str | None) -> str:
    """The container a request means: the one named, else the pod's only one."""
    spec = pod.get("spec") or {}
    name = (pod.get("metadata") or {}).get("name", "")
    containers = [c.get("name", "") for c in spec.get("containers") or []]
    inits = [c.get("name", "") for c in spec.get("initContainers") or []]
    ephemeral = [c.get("name", "") for c in spec.get("ephemeralContainers") or []]
    if not requested:
        if len(containers) == 1:
            return containers[0]
        choices = " ".join(containers)
        message = f"a container name must be specified for pod {name}, choose one of: [{choices}]"
        if inits:
            message += f" or one of the init containers: [{' '.join(inits)}]"
        raise errors.bad_request(message)
    if requested not in containers and requested not in inits and requested not in ephemeral:
        raise errors.bad_request(f"container {requested} is not valid for pod {name}")
    return requested


# Decoded as kube-apiserver decodes PodLogOptions/PodExecOptions and re-encoded for the
# kubelet, so `follow=True` or `stdin=` mean to the kubelet what they meant to the server.
BOOLEAN_PARAMS = frozenset(
    {"follow", "previous", "timestamps", "insecureSkipTLSVerifyBackend"}
    | {"stdin", "stdout", "stderr", "tty"}
)


def check_log_status(pod: dict[str, Any], container: str, previous: bool) -> None:
    """Refuse, as the kubelet would, a container that has no logs (yet)."""
    name = (pod.get("metadata") or {}).get("name", "")
    status = pod.get("status") or {}
    entry = None
    for key in ("containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses"):
        for candidate in status.get(key) or []:
            if candidate.get("name") == container:
                entry = candidate
    waiting = f'container "{container}" in pod "{name}" is waiting to start'
    if not (pod.get("spec") or {}).get("nodeName") or entry is None:
        raise errors.bad_request(f"{waiting}: ContainerCreating")
    state, last = entry.get("state") or {}, entry.get("lastState") or {}
    if previous:
        if not (last.get("terminated") or {}).get("containerID"):
            raise errors.bad_request(
                f'previous terminated container "{container}" in pod "{name}" not found'
            )
        return
    if "running" in state or "terminated" in state or "terminated" in last:
        return
    reason = (state.get("waiting") or {}).get("reason") or "ContainerCreating"
    detail = {
        "ErrImagePull": "image can't be pulled",
        "ImagePullBackOff": "trying and failing to pull image",
    }.get(reason, reason)
    raise errors.bad_request(f"{waiting}: {detail}")


def kubelet_address(node: dict[str, Any]) -> tuple[str, int]:
    status = node.get("status") or {}
    addresses = status.get("addresses") or []
    address = next((a.get("address") for a in addresses if a.get("type") == "InternalIP"), None)
    address = address or next((a.get("address") for a in addresses if a.get("address")), None)
    if not address:
        name = (node.get("metadata") or {}).get("name", "")
        raise errors.ApiError(500, f'node "{name}" has no address for its kubelet', "InternalError")
    endpoint = (status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}
    return address, int(endpoint.get("Port") or DEFAULT_KUBELET_PORT)


async def proxy(
    registry: Any, kubelets: KubeletClient, request: Request, info: RequestInfo
) -> Response:
    """Answer `pods/{name}/log` or `pods/{name}/exec` from the pod's kubelet."""
    sub = info.subresource or ""
    if sub == "log" and request.method != "GET":
        raise errors.method_not_allowed(f"{request.method} is not supported on pods/log")
    if sub == "exec" and request.method != "POST" and not request.headers.get("upgrade"):
        # minik runs a plain (non-interactive) exec on POST only, as the kubelet does.
        raise errors.bad_request(f"Upgrade request required for pods/{sub}")
    target = await kubelet_target(registry, kubelets, info, request.query_params)
    if sub in ("attach", "portforward") or request.headers.get("upgrade"):
        # Upgrades arrive as WebSocket scopes (apiserver/wsproxy.py); a plain request
        # to a streaming subresource is refused as Kubernetes refuses it.
        raise errors.bad_request(f"Upgrade request required for pods/{sub}")
    return await _forward(kubelets, request.method, target)


@dataclass(frozen=True)
class KubeletRequest:
    """A checked request to a kubelet: where, which path, which query."""

    target: Target
    path: str
    query: list[tuple[str, str]]

    def url(self, scheme: str) -> str:
        return self.target.url(scheme, self.path)


async def kubelet_target(
    registry: Any, kubelets: KubeletClient, info: RequestInfo, query: QueryParams
) -> KubeletRequest:
    """The kubelet request for a `log`/`exec`/`attach`/`portforward`, after refusing,
    with Kubernetes' messages, what cannot work (missing pod, container or command)
    and a Node address the apiserver must not dial."""
    sub = info.subresource or ""
    pod = await registry.get(RequestInfo(info.resource, info.namespace, info.name, None))
    node_name = (pod.get("spec") or {}).get("nodeName")
    if sub == "portforward":
        if not node_name:
            raise errors.bad_request(f"pod {info.name} does not have a host assigned")
        container = ""
    else:
        container = pick_container(pod, query.get("container"))
    if sub == "log":
        check_log_status(pod, container, query_flag(query, "previous"))
    elif sub == "exec":
        check_exec_status(pod, container, query.getlist("command"))
    elif sub == "attach":
        check_exec_status(pod, container, ["attach"])
    node = await registry.get(RequestInfo(NODES, None, node_name, None))
    address, port = kubelet_address(node)
    target = await kubelets.target(str(node_name), address, port)
    path = {"log": "containerLogs", "portforward": "portForward"}.get(sub, sub)
    path = f"/{path}/{quote(info.namespace or '', safe='')}/{quote(info.name or '', safe='')}"
    if container:
        path += f"/{quote(container, safe='')}"
    forwarded = [
        (k, ("true" if query_flag(query, k) else "false") if k in BOOLEAN_PARAMS else v)
        for k, v in query.multi_items()
        if k != "container"
    ]
    return KubeletRequest(target, path, forwarded)


def check_exec_status(pod: dict[str, Any], container: str, command: list[str]) -> None:
    """Refuse an exec that cannot run: no command, no node, a finished pod, or a
    container that is not running."""
    name = (pod.get("metadata") or {}).get("name", "")
    if not command:
        raise errors.bad_request("you must specify at least one command for the container")
    if not (pod.get("spec") or {}).get("nodeName"):
        raise errors.bad_request(f"pod {name} does not have a host assigned")
    phase = (pod.get("status") or {}).get("phase")
    if phase in ("Succeeded", "Failed"):
        raise errors.bad_request(
            f"cannot exec into a container in a completed pod; current phase is {phase}"
        )
    status = pod.get("status") or {}
    keys = ("containerStatuses", "initContainerStatuses", "ephemeralContainerStatuses")
    for key in keys:
        for entry in status.get(key) or []:
            if entry.get("name") == container and "running" in (entry.get("state") or {}):
                return
    raise errors.bad_request(f'container {container} is not running in pod "{name}"')


async def _forward(kubelets: KubeletClient, method: str, request: KubeletRequest) -> Response:
    """The kubelet's answer, streamed; the apiserver's own credentials, no caller's."""
    client = httpx.AsyncClient(timeout=_TIMEOUT, verify=kubelets.ssl)
    url = request.url("https")
    try:
        built = client.build_request(
            method,
            url,
            params=tuple(request.query),
            extensions=kubelets.httpx_extensions(request.target),
        )
        upstream = await client.send(built, stream=True)
    except httpx.HTTPError as err:
        await client.aclose()
        raise errors.ApiError(
            500, f'{method} "{url}": {err or type(err).__name__}', "InternalError"
        ) from err
    kept = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_BY_HOP}
    if upstream.status_code != 200:
        body = await upstream.aread()
        await upstream.aclose()
        await client.aclose()
        return Response(body, status_code=upstream.status_code, headers=kept)

    async def stream() -> AsyncIterator[bytes]:
        try:
            async for chunk in upstream.aiter_raw():
                yield chunk
        finally:
            await upstream.aclose()
            await client.aclose()

    return StreamingResponse(stream(), status_code=200, headers=kept)
