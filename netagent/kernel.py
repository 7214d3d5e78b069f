"""The host's kernel as the agent sees it, through iproute2 (`ip`, `bridge`): the one
module that changes it, so the reconcile logic stays pure and a fake stands in for
this in unit tests.

What is ours: routes carrying `proto 161` (ROUTE_PROTO, a number no routing daemon
uses; `ip route show proto 161` lists them) and the VXLAN device with its neighbour
and FDB entries. Changes go in batches (`ip -force -batch -`: one process, and one
failing command does not stop the rest); the caller reads the state back to see what
took. The agent runs in the host's network namespace (`nsenter --net=...` in the
namespace lab), so every command here acts there.
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from netagent.reconcile import Fdb, Neigh, Plan, Route, State

log = logging.getLogger(__name__)

ROUTE_PROTO = 161  # "minik": marks the routes the agent made
IP_FORWARD = Path("/proc/sys/net/ipv4/ip_forward")
VXLAN_OVERHEAD = 50  # outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14


class KernelError(Exception):
    pass


@dataclass(frozen=True)
class Vxlan:
    """The VXLAN device as wanted: flannel's `flannel.1` with our name."""

    name: str
    vni: int
    port: int
    local: str  # this host's public IP (the outer source)
    address: str  # the device's own /32 (vtep_address of our pod network)


class Kernel(Protocol):
    async def read(self, device: str | None) -> State: ...
    async def apply(self, plan: Plan) -> list[str]: ...
    async def ensure_vxlan(self, want: Vxlan) -> str: ...
    async def remove_link(self, name: str) -> bool: ...
    async def enable_forwarding(self) -> bool: ...
    async def forward_policy(self) -> str: ...


async def run(argv: list[str], stdin: str | None = None) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate(stdin.encode() if stdin is not None else None)
    return proc.returncode or 0, out.decode(), err.decode(errors="replace").strip()


async def _check(argv: list[str]) -> str:
    code, out, err = await run(argv)
    if code != 0:
        raise KernelError(f"{' '.join(argv)}: {err}")
    return out


async def _json(argv: list[str]) -> list[dict[str, Any]]:
    out = await _check(argv)
    return json.loads(out) if out.strip() else []


def _network(text: str) -> str:
    return str(ipaddress.IPv4Network(text))


def parse_routes(rows: list[dict[str, Any]]) -> set[Route]:
    """`ip -j route show proto 161` → our routes (an onlink one names its device: the
    VXLAN's; a host-gw route's device is the kernel's choice, left out)."""
    found = set()
    for row in rows:
        if "gateway" not in row or "dst" not in row or row["dst"] == "default":
            continue
        onlink = "onlink" in (row.get("flags") or [])
        found.add(
            Route(
                _network(row["dst"]), row["gateway"], row.get("dev", "") if onlink else "", onlink
            )
        )
    return found


def parse_neighs(rows: list[dict[str, Any]], device: str) -> set[Neigh]:
    return {
        Neigh(row["dst"], row["lladdr"].lower(), device)
        for row in rows
        if "lladdr" in row and "PERMANENT" in (row.get("state") or [])
    }


def parse_fdbs(rows: list[dict[str, Any]], device: str) -> set[Fdb]:
    """Only entries with a remote (`dst`): the ones we add. Others on a VXLAN device
    (none with nolearning, but multicast ones a kernel may list) are not ours."""
    return {Fdb(row["mac"].lower(), row["dst"], device) for row in rows if row.get("dst")}


def route_command(verb: str, r: Route) -> str:
    words = ["route", verb, r.dst]
    if verb != "del":
        words += ["via", r.via]
        if r.dev:
            words += ["dev", r.dev]
        if r.onlink:
            words.append("onlink")
    words += ["proto", str(ROUTE_PROTO)]
    return " ".join(words)


def plan_commands(plan: Plan) -> tuple[list[str], list[str], list[str]]:
    """The `ip` batch before the FDB changes, the `bridge` batch, the `ip` batch after
    (routes added last, so a peer's route never exists without its neighbour)."""
    before = [route_command("del", r) for r in plan.del_routes]
    before += [f"neigh del {n.ip} dev {n.dev}" for n in plan.del_neighs]
    before += [
        f"neigh replace {n.ip} lladdr {n.mac} dev {n.dev} nud permanent" for n in plan.set_neighs
    ]
    fdb = [f"fdb del {f.mac} dev {f.dev} dst {f.dst} self" for f in plan.del_fdbs]
    fdb += [f"fdb replace {f.mac} dev {f.dev} dst {f.dst} self permanent" for f in plan.set_fdbs]
    after = [route_command("replace", r) for r in plan.set_routes]
    after += [route_command("add", r) for r in plan.add_routes]
    return before, fdb, after


class IpKernel:
    """The real kernel of the namespace this process runs in."""

    async def read(self, device: str | None) -> State:
        routes = parse_routes(
            await _json(["ip", "-j", "-4", "route", "show", "proto", str(ROUTE_PROTO)])
        )
        if not device or not await self.link_exists(device):
            return State(frozenset(routes))
        neighs = parse_neighs(
            await _json(["ip", "-j", "-4", "neigh", "show", "dev", device, "nud", "permanent"]),
            device,
        )
        fdbs = parse_fdbs(await _json(["bridge", "-j", "fdb", "show", "dev", device]), device)
        return State(frozenset(routes), frozenset(neighs), frozenset(fdbs))

    async def apply(self, plan: Plan) -> list[str]:
        """Run the plan; returns the error lines (the state is read back by the
        caller: the batches go on past a failing command)."""
        errors: list[str] = []
        before, fdb, after = plan_commands(plan)
        for tool, lines in (("ip", before), ("bridge", fdb), ("ip", after)):
            if lines:
                code, _, err = await run([tool, "-force", "-batch", "-"], "\n".join(lines) + "\n")
                if code != 0:
                    errors += [
                        e.strip()
                        for e in err.splitlines()
                        if e.strip() and not e.startswith("Command failed")
                    ]
        return errors

    async def link_exists(self, name: str) -> bool:
        code, _, _ = await run(["ip", "link", "show", "dev", name])
        return code == 0

    async def _link(self, name: str) -> dict[str, Any] | None:
        code, out, _ = await run(["ip", "-j", "-d", "link", "show", "dev", name])
        rows = json.loads(out) if code == 0 and out.strip() else []
        return rows[0] if rows else None

    async def ensure_vxlan(self, want: Vxlan) -> str:
        """The VXLAN device as `want` says (made, or remade when its VNI, port, local
        address or learning differ, as flannel does), up, with only `want.address`;
        returns its MAC (published as VtepMAC)."""
        link = await self._link(want.name)
        if link is not None and not _vxlan_matches(link, want):
            log.info("VXLAN device %s differs from what we want: recreating it", want.name)
            await _check(["ip", "link", "del", want.name])
            link = None
        if link is None:
            argv = (
                f"ip link add {want.name} type vxlan id {want.vni} local {want.local} "
                f"dstport {want.port} nolearning"
            ).split()
            lower = await self.device_of(want.local)
            if lower:  # the kernel then sizes the MTU to the lower device's minus 50
                argv += ["dev", lower]
            await _check(argv)
            log.info(
                "made VXLAN device %s (VNI %d, UDP %d, local %s)",
                want.name,
                want.vni,
                want.port,
                want.local,
            )
        await _check(["ip", "link", "set", want.name, "up"])
        addrs = await _json(["ip", "-j", "-4", "addr", "show", "dev", want.name])
        have = {
            f"{a['local']}/{a['prefixlen']}"
            for row in addrs
            for a in row.get("addr_info") or []
            if a.get("family") == "inet"
        }
        for stale in sorted(have - {f"{want.address}/32"}):
            await _check(["ip", "addr", "del", stale, "dev", want.name])
        if f"{want.address}/32" not in have:
            await _check(["ip", "addr", "add", f"{want.address}/32", "dev", want.name])
        link = await self._link(want.name)
        if link is None:
            raise KernelError(f"VXLAN device {want.name} vanished")
        return str(link["address"]).lower()

    async def device_of(self, address: str) -> str:
        """The device holding `address`, or ""."""
        for row in await _json(["ip", "-j", "-4", "addr", "show"]):
            if any(a.get("local") == address for a in row.get("addr_info") or []):
                return str(row.get("ifname") or "")
        return ""

    async def remove_link(self, name: str) -> bool:
        if not await self.link_exists(name):
            return False
        await _check(["ip", "link", "del", name])
        return True

    async def enable_forwarding(self) -> bool:
        """net.ipv4.ip_forward=1 in this namespace (the host forwards its pods'
        traffic); True when it was off."""
        if IP_FORWARD.read_text().strip() == "1":
            return False
        IP_FORWARD.write_text("1\n")
        return True

    async def forward_policy(self) -> str:
        """The iptables FORWARD chain's policy here (ACCEPT, DROP), or "" when it cannot
        be read (no iptables). Read only: the agent writes no iptables rules."""
        try:
            code, out, _ = await run(["iptables", "-S", "FORWARD"])
        except OSError:
            return ""
        return parse_forward_policy(out) if code == 0 else ""


def parse_forward_policy(rules: str) -> str:
    for line in rules.splitlines():
        words = line.split()
        if words[:2] == ["-P", "FORWARD"] and len(words) > 2:
            return words[2]
    return ""


def _vxlan_matches(link: dict[str, Any], want: Vxlan) -> bool:
    info = link.get("linkinfo") or {}
    data = info.get("info_data") or {}
    return (
        info.get("info_kind") == "vxlan"
        and data.get("id") == want.vni
        and data.get("port") == want.port
        and data.get("local") == want.local
        and data.get("learning") is False
    )
