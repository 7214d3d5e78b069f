"""The namespaces, links and routes of `minik up --hosts` (deploy/hostplan.py says
what; this module makes it with `ip`). Everything made is appended to a `Made` record
(kept in the data dir by deploy/hosts.py) as soon as it exists, so `minik down`
removes what `up` made, also after an `up` that failed half-way, and nothing else.

Deleting a namespace deletes the links inside it; the machine's veth end goes with
its peer in the switch namespace, and the machine's routes through it with it."""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from deploy.hostplan import (
    HOST_LINK,
    NETNS_DIR,
    SWITCH_BRIDGE,
    SWITCH_UPLINK,
    Host,
    Plan,
    Route,
)


class NetError(Exception):
    pass


@dataclass
class Made:
    """What `up` made on the machine, in the order it made it."""

    netns: list[str] = field(default_factory=list)
    links: list[str] = field(default_factory=list)  # in the machine's namespace
    routes: list[dict[str, str]] = field(default_factory=list)
    engines: list[str] = field(default_factory=list)  # host dirs whose dockerd we started
    saved: Callable[[], None] = field(default=lambda: None, repr=False, compare=False)

    def add(self, kind: str, value: Any) -> None:
        getattr(self, kind).append(value)
        self.saved()

    def to_dict(self) -> dict[str, Any]:
        return {
            "netns": self.netns,
            "links": self.links,
            "routes": self.routes,
            "engines": self.engines,
        }


def ip(*args: str, netns: str = "", check: bool = True) -> subprocess.CompletedProcess:
    argv = ["ip", *(["-n", netns] if netns else []), *args]
    out = subprocess.run(argv, capture_output=True, text=True, timeout=30)
    if check and out.returncode != 0:
        raise NetError(f"{' '.join(argv)}: {out.stderr.strip()}")
    return out


def machine_routes() -> list[dict[str, Any]]:
    out = ip("-j", "route", "show", "table", "all")
    return json.loads(out.stdout or "[]")


def netns_exists(name: str) -> bool:
    return (NETNS_DIR / name).exists()


def link_exists(name: str, netns: str = "") -> bool:
    return ip("link", "show", "dev", name, netns=netns, check=False).returncode == 0


def taken(plan: Plan, made: Made) -> list[str]:
    """Names the plan needs that something we did not make already holds."""
    names = [f"namespace {n}" for n in (plan.switch, *(h.netns for h in plan.hosts))]
    found = [n for n in names if netns_exists(n.split()[-1]) and n.split()[-1] not in made.netns]
    if link_exists(plan.gateway_link) and plan.gateway_link not in made.links:
        found.append(f"link {plan.gateway_link}")
    return found


def _add_netns(name: str, made: Made) -> None:
    if name not in made.netns or not netns_exists(name):
        ip("netns", "add", name)
        if name not in made.netns:
            made.add("netns", name)
    ip("link", "set", "dev", "lo", "up", netns=name)


def create_switch(plan: Plan, made: Made) -> None:
    """The switch namespace with its bridge, and the machine's veth into it holding
    the gateway address."""
    _add_netns(plan.switch, made)
    if not link_exists(SWITCH_BRIDGE, plan.switch):
        ip("link", "add", SWITCH_BRIDGE, "type", "bridge", netns=plan.switch)
    ip("link", "set", "dev", SWITCH_BRIDGE, "up", netns=plan.switch)
    if not link_exists(plan.gateway_link):
        ip(
            "link",
            "add",
            plan.gateway_link,
            "type",
            "veth",
            "peer",
            "name",
            SWITCH_UPLINK,
            "netns",
            plan.switch,
        )
        if plan.gateway_link not in made.links:
            made.add("links", plan.gateway_link)
    ip("link", "set", "dev", SWITCH_UPLINK, "master", SWITCH_BRIDGE, netns=plan.switch)
    ip("link", "set", "dev", SWITCH_UPLINK, "up", netns=plan.switch)
    ip("addr", "replace", f"{plan.gateway}/{plan.prefix_len}", "dev", plan.gateway_link)
    ip("link", "set", "dev", plan.gateway_link, "up")


def create_host(plan: Plan, host: Host, made: Made) -> None:
    """The host's namespace, its veth to the switch, its address, a default route via
    the gateway, and forwarding on (it routes for its pods)."""
    _add_netns(host.netns, made)
    if not link_exists(host.port, plan.switch):
        ip(
            "link",
            "add",
            host.port,
            "type",
            "veth",
            "peer",
            "name",
            HOST_LINK,
            "netns",
            host.netns,
            netns=plan.switch,
        )
    ip("link", "set", "dev", host.port, "master", SWITCH_BRIDGE, netns=plan.switch)
    ip("link", "set", "dev", host.port, "up", netns=plan.switch)
    ip("addr", "replace", f"{host.address}/{plan.prefix_len}", "dev", HOST_LINK, netns=host.netns)
    ip("link", "set", "dev", HOST_LINK, "up", netns=host.netns)
    ip("route", "replace", "default", "via", plan.gateway, netns=host.netns)
    sysctl = ["sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"]
    out = subprocess.run(host.enter(sysctl), capture_output=True, text=True, timeout=10)
    if out.returncode != 0:
        raise NetError(f"ip_forward in {host.netns}: {out.stderr.strip()}")


def add_route(route: Route, made: Made) -> None:
    ip("route", "replace", route.dst, "via", route.via, netns=route.netns)
    entry = {"netns": route.netns, "dst": route.dst, "via": route.via}
    if entry not in made.routes:
        made.add("routes", entry)


def remove(made: Made) -> list[str]:
    """Delete what `made` records and still exists, in reverse order; names it."""
    removed = []
    for route in reversed(made.routes):
        netns = route["netns"]
        if netns and not netns_exists(netns):
            continue  # gone with its namespace
        out = ip("route", "del", route["dst"], "via", route["via"], netns=netns, check=False)
        if out.returncode == 0 and not netns:
            removed.append(f"route {route['dst']} via {route['via']}")
    for name in reversed(made.netns):
        if netns_exists(name):
            ip("netns", "del", name)
            removed.append(f"namespace {name}")
    for link in made.links:
        with contextlib.suppress(NetError):
            if link_exists(link):
                ip("link", "del", "dev", link)
        removed.append(f"link {link}")
    return removed


def wait_links_gone(names: list[str], timeout: float = 5.0) -> bool:
    """A deleted namespace's links vanish asynchronously: wait for them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(link_exists(n) for n in names):
            return True
        time.sleep(0.1)
    return False
