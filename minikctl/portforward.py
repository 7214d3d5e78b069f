"""`minikctl port-forward TYPE/NAME [LOCAL:]REMOTE...`: listen on this host and copy each
connection to a pod, choosing the pod and port as kubectl does (svc/deploy/rs → a
running pod behind its selector; a service port → its targetPort; a named port → the
container port of that name).

minik-specific transport: kubectl tunnels through the apiserver and the kubelet
(`pods/NAME/portforward`, SPDY/WebSocket). minik's pod network is a Docker bridge on
the host, so the host reaches pod IPs directly and the forwarder simply connects to
`podIP:port` — which works only from the host the pods run on.
"""

from __future__ import annotations

import argparse
import contextlib
import socket
import threading
from dataclasses import dataclass
from typing import Any

from api.resources import by_kind
from minikctl.context import CLIError, Context
from minikctl.podpick import by_logging_key, go_type, pod_selector
from minikctl.target import one_ref

Obj = dict[str, Any]
PODS = by_kind("Pod", "v1")


@dataclass(frozen=True)
class Mapping:
    local: int  # 0: let the system choose
    remote: int


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "port-forward",
        parents=parents,
        help="forward local ports to a pod",
        description="port-forward TYPE/NAME [LOCAL_PORT:]REMOTE_PORT... (pods, svc, deploy, rs)",
    )
    p.add_argument("target", metavar="TYPE/NAME")
    p.add_argument("ports", nargs="+", metavar="[LOCAL_PORT:]REMOTE_PORT")
    p.add_argument(
        "--address",
        default="localhost",
        help="addresses to listen on, comma-separated (localhost: 127.0.0.1 and ::1)",
    )
    p.set_defaults(func=run)


def parse_port_spec(text: str) -> tuple[str, str]:
    """`8080:80` → ("8080", "80"); `80` → ("80", "80"); `:80` → ("0", "80")."""
    local, sep, remote = text.partition(":")
    if not sep:
        return local, local
    return local or "0", remote


def _port_number(text: str, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise CLIError(f"{what} {text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise CLIError(f"Port '{value}' must be between 0 and 65535 (inclusive)")
    return value


def container_port(pod: Obj, name: str) -> int:
    """A named port of one of the pod's containers (kubectl's LookupContainerPortNumberByName)."""
    for c in (pod.get("spec") or {}).get("containers") or []:
        for p in c.get("ports") or []:
            if p.get("name") == name:
                return int(p["containerPort"])
    pod_name = (pod.get("metadata") or {}).get("name")
    raise CLIError(f"Pod '{pod_name}' does not have a named port '{name}'")


def service_target_port(svc: Obj, pod: Obj, port: str) -> int:
    """A service port (by number or name) → the pod port it sends traffic to."""
    for p in (svc.get("spec") or {}).get("ports") or []:
        if str(p.get("port")) == port or (p.get("name") and p.get("name") == port):
            target = p.get("targetPort", p.get("port"))
            if isinstance(target, str) and not target.isdigit():
                return container_port(pod, target)
            return int(target)
    name = (svc.get("metadata") or {}).get("name")
    raise CLIError(f"Service {name} does not have a service port {port}")


def resolve(ctx: Context, target: str, specs: list[str]) -> tuple[Obj, list[Mapping]]:
    """The pod to forward to and the (local, pod) port pairs."""
    assert PODS is not None
    ref = one_ref(ctx, target, default_type="pods")
    obj = ref.get(ctx)
    if ref.res.kind == "Pod":
        pod = obj
    else:
        try:
            selector = pod_selector(ref, obj)
        except CLIError as err:
            raise CLIError(f"cannot attach to {go_type(ref)}: {err}") from None
        listing = ctx.client.list(PODS, ref.namespace, label_selector=selector)
        pods = sorted(listing.get("items") or [], key=by_logging_key)
        if not pods:
            raise CLIError(f"no pods found for {ref.display}")
        pod = pods[0]
    mappings = []
    for spec in specs:
        local, remote = parse_port_spec(spec)
        if ref.res.kind == "Service":
            number = service_target_port(obj, pod, remote)
        elif remote.isdigit():
            number = _port_number(remote, "remote port")
        else:
            number = container_port(pod, remote)
        mappings.append(Mapping(_port_number(local, "local port"), number))
    phase = (pod.get("status") or {}).get("phase")
    if phase != "Running":
        raise CLIError(f"unable to forward port because pod is not running. Current status={phase}")
    return pod, mappings


def _addresses(text: str) -> list[str]:
    out: list[str] = []
    for part in text.split(","):
        part = part.strip()
        out += ["127.0.0.1", "::1"] if part == "localhost" else [part]
    return out


def listen(addresses: list[str], port: int) -> list[socket.socket]:
    """Listening sockets on each address (an unavailable ::1 is skipped, like kubectl)."""
    sockets: list[socket.socket] = []
    for address in addresses:
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((address, port or (sockets[0].getsockname()[1] if sockets else 0)))
        except OSError as err:
            sock.close()
            if address == "::1":
                continue
            raise CLIError(f"unable to listen on port {port}: {err}") from None
        sock.listen(16)
        sockets.append(sock)
    return sockets


def _pump(src: socket.socket, dst: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := src.recv(65536):
            dst.sendall(data)
    with contextlib.suppress(OSError):
        dst.shutdown(socket.SHUT_WR)


def _serve(ctx: Context, conn: socket.socket, pod_ip: str, mapping: Mapping, local: int) -> None:
    ctx.print(f"Handling connection for {local}")
    ctx.out.flush()
    try:
        upstream = socket.create_connection((pod_ip, mapping.remote), timeout=10)
    except OSError as err:
        ctx.err.write(
            f"error: an error occurred forwarding {local} -> {mapping.remote}: "
            f"unable to connect to {pod_ip}:{mapping.remote}: {err}\n"
        )
        ctx.err.flush()
        conn.close()
        return
    upstream.settimeout(None)
    back = threading.Thread(target=_pump, args=(upstream, conn), daemon=True)
    back.start()
    _pump(conn, upstream)
    back.join()
    conn.close()
    upstream.close()


def _accept_loop(ctx: Context, sock: socket.socket, pod_ip: str, mapping: Mapping) -> None:
    local = sock.getsockname()[1]
    while True:
        try:
            conn, _ = sock.accept()
        except OSError:
            return
        threading.Thread(
            target=_serve, args=(ctx, conn, pod_ip, mapping, local), daemon=True
        ).start()


def run(ctx: Context, args: argparse.Namespace) -> int:
    pod, mappings = resolve(ctx, args.target, args.ports)
    pod_ip = (pod.get("status") or {}).get("podIP")
    if not pod_ip:
        raise CLIError(f"pod {pod['metadata']['name']} has no IP address yet")
    # Ctrl-C ends the forwarding cleanly at any point after the first "Forwarding from"
    # line (a client may already be using it while later listeners are still set up).
    try:
        loops = []
        for mapping in mappings:
            for sock in listen(_addresses(args.address), mapping.local):
                host, port = sock.getsockname()[:2]
                shown = f"[{host}]" if ":" in host else host
                loop = threading.Thread(
                    target=_accept_loop, args=(ctx, sock, pod_ip, mapping), daemon=True
                )
                loop.start()
                loops.append(loop)
                ctx.print(f"Forwarding from {shown}:{port} -> {mapping.remote}")
                ctx.out.flush()
        for loop in loops:
            loop.join()
    except KeyboardInterrupt:
        return 0
    return 0
