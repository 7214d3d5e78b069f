"""A lab of network namespaces for the network agent's tests and benchmark: "hosts"
(a namespace each) on routed LAN segments, each with a pod bridge and "pods" (a
namespace each) in its pod network, and a way for processes in a host namespace to
reach the apiserver on the machine's loopback.

    lan (namespace): one bridge per segment, the router between segments
      ├─ segment 0: 192.168.<base>.0/24, router .254 ── host h1 (.1), host h2 (.2)
      └─ segment 1: 192.168.<base+1>.0/24, router .254 ── host h3 (.3)
    host hN: eth0 on its segment, default route via the router, bridge `cbr0`
             10.244.N.1/24 (its pod network), ip_forward on (or left off)
    pod hN-pK: eth0 10.244.N.(K+1)/24 on cbr0, default route via 10.244.N.1

Hosts on one segment share an L2 network (host-gw works between them); hosts on
different segments only reach each other through the router (vxlan is needed).
Every link is made inside the lab's namespaces (`ip -n`), none in the machine's own
namespace, and deleting the namespaces (`Lab.remove`, by their names) removes all of
it. Traffic stays inside these namespaces.

The apiserver listens on the machine's loopback, which a host namespace cannot see:
`LoopbackRelay` opens a listener on a host namespace's own loopback (a thread enters
the namespace with setns(2) just to make the socket) and relays each connection to
the same port on the machine's loopback, so a kubeconfig naming
`https://127.0.0.1:<port>` works unchanged inside the namespace.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import socket
import subprocess
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

NETNS_DIR = Path("/var/run/netns")
CLONE_NEWNET = 0x40000000


def ip(*args: str, ns: str | None = None, check: bool = True) -> subprocess.CompletedProcess:
    argv = ["ip", *(["-n", ns] if ns else []), *args]
    return subprocess.run(argv, check=check, capture_output=True, text=True)


def in_ns(
    ns: str, *argv: str, check: bool = True, timeout: float = 60
) -> subprocess.CompletedProcess:
    """`argv` in the namespace `ns` (network only, as `nsenter --net`)."""
    return subprocess.run(
        nsenter(ns, *argv), check=check, capture_output=True, text=True, timeout=timeout
    )


def nsenter(ns: str, *argv: str) -> list[str]:
    """The argv that runs `argv` in the network namespace `ns` and nothing else
    (`ip netns exec` would remount /sys; nsenter --net keeps the rest of the machine's
    view, as a host's dockerd needs)."""
    return ["nsenter", f"--net={NETNS_DIR / ns}", *argv]


def netagent_argv(
    python: str, ns: str, kubeconfig: str, node: str, backend: str, *extra: str
) -> list[str]:
    """`python -m netagent` for the host in namespace `ns`, as the host's kubelet."""
    return nsenter(
        ns, python, "-m", "netagent", "--kubeconfig", kubeconfig, "--node-name", node,
        "--backend", backend, *extra,
    )  # fmt: skip


@dataclass
class Pod:
    ns: str
    ip: str


@dataclass
class Host:
    name: str  # also the Node's name
    ns: str
    ip: str  # eth0's: the Node's InternalIP
    pod_cidr: str
    pods: list[Pod] = field(default_factory=list)


@dataclass
class Lab:
    prefix: str
    lan: str
    hosts: list[Host]

    def namespaces(self) -> list[str]:
        return [self.lan] + [h.ns for h in self.hosts] + [p.ns for h in self.hosts for p in h.pods]

    def remove(self) -> None:
        remove_namespaces(self.namespaces())


def remove_namespaces(names: Iterable[str]) -> None:
    """Delete these namespaces (and with them every link inside); missing ones are fine."""
    for ns in names:
        if (NETNS_DIR / ns).exists():
            ip("netns", "del", ns, check=False)


def _sysctl(ns: str, key: str, value: str) -> None:
    in_ns(ns, "sysctl", "-q", "-w", f"{key}={value}")


def build(
    prefix: str,
    segments: list[list[str]],
    pods_per_host: int = 1,
    base: int = 201,
    forwarding: bool = True,
) -> Lab:
    """The lab: `segments` lists the host names on each LAN segment (e.g.
    `[["h1", "h2"], ["h3"]]`); host number i (from 1, across segments) gets pod
    network 10.244.i.0/24. Hosts forward (ip_forward) unless not `forwarding` (the
    network agent turns it on). Namespaces are named `<prefix>-...`; on any failure what
    was made is removed."""
    lab = Lab(prefix, f"{prefix}-lan", [])
    try:
        _build(lab, segments, pods_per_host, base, forwarding)
    except BaseException:
        lab.remove()
        raise
    return lab


def _build(
    lab: Lab, segments: list[list[str]], pods_per_host: int, base: int, forwarding: bool
) -> None:
    ip("netns", "add", lab.lan)
    ip("link", "set", "lo", "up", ns=lab.lan)
    _sysctl(lab.lan, "net.ipv4.ip_forward", "1")
    number = 0
    for seg, names in enumerate(segments):
        bridge, subnet = f"br{seg}", f"192.168.{base + seg}"
        ip("link", "add", bridge, "type", "bridge", ns=lab.lan)
        ip("addr", "add", f"{subnet}.254/24", "dev", bridge, ns=lab.lan)
        ip("link", "set", bridge, "up", ns=lab.lan)
        for name in names:
            number += 1
            host = Host(name, f"{lab.prefix}-{name}", f"{subnet}.{number}", f"10.244.{number}.0/24")
            lab.hosts.append(host)
            ip("netns", "add", host.ns)
            ip("link", "set", "lo", "up", ns=host.ns)
            _sysctl(host.ns, "net.ipv4.ip_forward", "1" if forwarding else "0")
            uplink = f"up-{name}"[:15]
            ip(
                "link",
                "add",
                uplink,
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                host.ns,
                ns=lab.lan,
            )
            ip("link", "set", uplink, "master", bridge, "up", ns=lab.lan)
            ip("addr", "add", f"{host.ip}/24", "dev", "eth0", ns=host.ns)
            ip("link", "set", "eth0", "up", ns=host.ns)
            ip("route", "add", "default", "via", f"{subnet}.254", ns=host.ns)
            ip("link", "add", "cbr0", "type", "bridge", ns=host.ns)
            ip("addr", "add", f"10.244.{number}.1/24", "dev", "cbr0", ns=host.ns)
            ip("link", "set", "cbr0", "up", ns=host.ns)
            for k in range(pods_per_host):
                pod = Pod(f"{lab.prefix}-{name}-p{k}", f"10.244.{number}.{k + 2}")
                host.pods.append(pod)
                ip("netns", "add", pod.ns)
                ip("link", "set", "lo", "up", ns=pod.ns)
                veth = f"veth{k}"
                ip(
                    "link",
                    "add",
                    veth,
                    "type",
                    "veth",
                    "peer",
                    "name",
                    "eth0",
                    "netns",
                    pod.ns,
                    ns=host.ns,
                )
                ip("link", "set", veth, "master", "cbr0", "up", ns=host.ns)
                ip("addr", "add", f"{pod.ip}/24", "dev", "eth0", ns=pod.ns)
                ip("link", "set", "eth0", "up", ns=pod.ns)
                ip("route", "add", "default", "via", f"10.244.{number}.1", ns=pod.ns)


def node_object(host: Host) -> dict:
    """The Node a kubelet on `host` would register, with the podCIDR node IPAM gives."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": host.name, "labels": {"kubernetes.io/hostname": host.name}},
        "spec": {"podCIDR": host.pod_cidr, "podCIDRs": [host.pod_cidr]},
        "status": {
            "addresses": [
                {"type": "InternalIP", "address": host.ip},
                {"type": "Hostname", "address": host.name},
            ]
        },
    }


def ping(src: Pod | Host, dst: str, count: int = 1, wait: float = 1.0) -> bool:
    done = in_ns(
        src.ns,
        "busybox",
        "ping",
        "-c",
        str(count),
        "-W",
        str(int(wait) or 1),
        "-q",
        dst,
        check=False,
    )
    return done.returncode == 0


# ---- reaching the machine's loopback from a host namespace -------------------------

_libc = ctypes.CDLL(None, use_errno=True)


def _setns(fd: int) -> None:
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err))


def listen_in(ns: str, host: str, port: int) -> socket.socket:
    """A listening TCP socket on `host:port` inside the namespace `ns` (a socket stays
    in the namespace it was made in). Made on a thread of its own, which enters the
    namespace and leaves again, so no other thread's namespace changes."""
    out: list[socket.socket | BaseException] = []

    def make() -> None:
        own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
        target = os.open(NETNS_DIR / ns, os.O_RDONLY)
        try:
            _setns(target)
            try:
                sock = socket.create_server((host, port), reuse_port=False)
            finally:
                _setns(own)
            out.append(sock)
        except BaseException as err:
            out.append(err)
        finally:
            os.close(own)
            os.close(target)

    thread = threading.Thread(target=make, name=f"listen-in-{ns}")
    thread.start()
    thread.join()
    if isinstance(out[0], BaseException):
        raise out[0]
    return out[0]


class LoopbackRelay:
    """Relays `127.0.0.1:<port>` inside each given namespace to `127.0.0.1:<port>` of
    the machine (the apiserver), on one event loop in a thread of its own."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_forever, name="loopback-relay", daemon=True
        )
        self.servers: list[asyncio.AbstractServer] = []
        self.thread.start()

    def add(self, ns: str) -> None:
        sock = listen_in(ns, "127.0.0.1", self.port)
        fut = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._relay, sock=sock), self.loop
        )
        self.servers.append(fut.result(10))

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))

    def close(self) -> None:
        async def stop() -> None:
            for server in self.servers:
                server.close()
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

        asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (OSError, asyncio.IncompleteReadError):
        pass
    finally:
        with contextlib.suppress(OSError):
            writer.close()
