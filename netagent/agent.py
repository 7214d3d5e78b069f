"""The agent's loop: a Node informer marks the state dirty; one level-triggered sync
reads every Node from the cache, publishes this host's own annotations, computes the
wanted kernel state (netagent.reconcile, pure), reads what the kernel holds of ours
and applies the difference. It resyncs from the kernel every `resync_seconds` too (a
route somebody removed comes back) and retries sooner after a failure.

While the apiserver is away the kernel keeps what it was last told: routes are not
removed because a watch broke, only because a Node went away or changed.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from api.errors import ApiError
from api.resources import NODES
from client.informer import Informer
from client.rest import AsyncClient
from netagent import reconcile
from netagent.kernel import Kernel, KernelError, Vxlan
from netagent.nodeinfo import HOST_GW, VXLAN, NodeInfo, node_info, own_annotations

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AgentConfig:
    node_name: str
    backend: str = HOST_GW
    device: str = reconcile.DEFAULT_DEVICE
    vni: int = reconcile.DEFAULT_VNI
    port: int = reconcile.DEFAULT_PORT
    public_ip: str = ""  # default: our Node's InternalIP
    ip_forward: bool = True
    resync_seconds: float = 30.0
    retry_seconds: float = 2.0
    # --no-node: this machine is no Node (minik up's machine beside its hosts): it
    # routes every Node's pod networks host-gw, publishes nothing, makes no device
    no_node: bool = False
    # --cluster-cidr: only our routes inside these are ours (several clusters' agents
    # may share one namespace: the machine's); empty: every route of our protocol
    scope: tuple[str, ...] = ()

    def owns(self, route: reconcile.Route) -> bool:
        return not self.scope or reconcile.within(route.dst, self.scope)


class NotReady(Exception):
    """Our own Node lacks what the backend needs (it is not registered, has no
    podCIDR or no address yet): wait for the informer to bring it."""


class Agent:
    def __init__(self, config: AgentConfig, api: AsyncClient, kernel: Kernel) -> None:
        self.config = config
        self.api = api
        self.kernel = kernel
        if config.no_node and config.backend != HOST_GW:
            raise ValueError("--no-node routes host-gw only (the machine has no VTEP)")
        self.rconfig = reconcile.Config(config.node_name, config.backend, config.device, config.vni)
        self.nodes = Informer(api, NODES, None)
        self.nodes.add_handler(self._changed, self._changed_update, self._changed)
        self._dirty = asyncio.Event()
        self._vxlan: tuple[Vxlan, str] | None = None  # the device as last made, its MAC
        self._skipped: dict[str, str] = {}
        self._waiting = ""
        self._refused = ""  # the last refusal logged (a lasting one is logged once)
        self._failures = 0

    def _changed(self, _obj: Any) -> None:
        self._dirty.set()

    def _changed_update(self, old: Any, new: Any) -> None:
        """Only a change of what the agent reads: a kubelet's status heartbeat is not one."""
        if node_info(old) != node_info(new):
            self._dirty.set()

    async def run(self) -> None:
        """Program the kernel until cancelled."""
        if self.config.ip_forward and await self.kernel.enable_forwarding():
            log.info("enabled net.ipv4.ip_forward")
        if not self.config.no_node and await self.kernel.forward_policy() == "DROP":
            log.warning(
                "the iptables FORWARD policy here is DROP (dockerd sets it when it turns "
                "ip_forward on itself): other hosts' pods cannot reach this host's pods "
                "unless a rule accepts them (e.g. iptables -I DOCKER-USER -d <cluster CIDR> "
                "-j ACCEPT), or dockerd starts after ip_forward is 1 and leaves the policy"
            )
        if self.config.backend == HOST_GW and await self.kernel.remove_link(self.config.device):
            log.info("removed the VXLAN device %s of an earlier vxlan run", self.config.device)
        self.nodes.start()
        try:
            while not await self.nodes.wait_for_sync(timeout=10):
                log.info("waiting for the apiserver to list Nodes")
            full = True
            while True:
                self._dirty.clear()
                delay = self.config.resync_seconds
                try:
                    if await self.sync(full):
                        self._failures = 0
                    else:
                        delay = self._backoff()
                except NotReady as why:
                    if str(why) != self._waiting:
                        log.info("waiting: %s", why)
                    self._waiting = str(why)
                    delay = self.config.resync_seconds
                except (KernelError, ApiError, OSError) as err:
                    delay = self._backoff()
                    log.warning("sync failed (retrying in %.0fs): %s", delay, err)
                full = False
                try:
                    await asyncio.wait_for(self._dirty.wait(), delay)
                except TimeoutError:
                    full = True
        finally:
            await self.nodes.stop()

    def _backoff(self) -> float:
        """Retry soon after a failure, then less often (a lasting refusal, such as a
        host-gw peer off our segment, is tried again at the resync period)."""
        self._failures += 1
        return min(
            self.config.retry_seconds * 2 ** (self._failures - 1), self.config.resync_seconds
        )

    async def sync(self, full: bool = True) -> bool:
        """One pass; True when the kernel holds what the Nodes say. `full`: also check
        the VXLAN device against the kernel (else only when what we want of it changed)."""
        infos = [node_info(n) for n in self.nodes.list()]
        if self.config.no_node:
            return await self._program(reconcile.wanted(infos, self.rconfig), None)
        own = next((n for n in infos if n.name == self.config.node_name), None)
        if own is None:
            raise NotReady(f"Node {self.config.node_name} is not registered")
        self._waiting = ""
        public_ip = self.config.public_ip or own.internal_ip
        if not public_ip:
            raise NotReady(f"Node {own.name} has no InternalIP (and no --public-ip was given)")
        mac = (
            await self._ensure_device(own, public_ip, full) if self.config.backend == VXLAN else ""
        )
        await self._publish(own, public_ip, mac)
        device = self.config.device if self.config.backend == VXLAN else None
        return await self._program(reconcile.wanted(infos, self.rconfig), device)

    async def _read(self, device: str | None) -> reconcile.State:
        """What the kernel holds of ours: within our scope only."""
        state = await self.kernel.read(device)
        if not self.config.scope:
            return state
        routes = frozenset(r for r in state.routes if self.config.owns(r))
        return reconcile.State(routes, state.neighs, state.fdbs)

    async def _program(self, want: reconcile.Wanted, device: str | None) -> bool:
        outside = [r for r in want.state.routes if not self.config.owns(r)]
        if outside:  # a Node whose podCIDR is not the cluster's: not ours to route
            for r in outside:
                want.skipped[r.dst] = f"pod network {r.dst} is outside --cluster-cidr"
            routes = want.state.routes - frozenset(outside)
            want.state = reconcile.State(routes, want.state.neighs, want.state.fdbs)
        self._report_skipped(want.skipped)
        plan = reconcile.plan(await self._read(device), want.state)
        if not plan:
            return True
        errors = await self.kernel.apply(plan)
        left = reconcile.plan(await self._read(device), want.state)
        took = plan.without(left)
        if took:
            log.info("%s", took.summary())
        refused = f"{left.summary(done=False)} ({'; '.join(errors)})" if left else ""
        if refused and refused != self._refused:
            log.warning("the kernel refused: %s", refused)
        elif refused:
            log.debug("still refused: %s", refused)
        self._refused = refused
        return not left

    async def _ensure_device(self, own: NodeInfo, public_ip: str, full: bool) -> str:
        if not own.pod_cidrs:
            raise NotReady(f"Node {own.name} has no spec.podCIDR yet")
        want = Vxlan(
            self.config.device,
            self.config.vni,
            self.config.port,
            public_ip,
            reconcile.vtep_address(own.pod_cidrs[0]),
        )
        if full or self._vxlan is None or self._vxlan[0] != want:
            self._vxlan = (want, await self.kernel.ensure_vxlan(want))
        return self._vxlan[1]

    async def _publish(self, own: NodeInfo, public_ip: str, mac: str) -> None:
        """Our backend, public IP (and VTEP MAC) as annotations on our own Node: the
        peers' agents read them. Only what differs is patched."""
        wanted = own_annotations(self.config.backend, public_ip, self.config.vni, mac)
        node = self.nodes.get_by_name(own.name) or {}
        have = (node.get("metadata") or {}).get("annotations") or {}
        if all(have.get(k) == v for k, v in wanted.items()):
            return
        await self.api.patch(NODES, own.name, {"metadata": {"annotations": wanted}})
        log.info(
            "published %s on Node %s", ", ".join(f"{k}={v}" for k, v in wanted.items()), own.name
        )

    def _report_skipped(self, skipped: dict[str, str]) -> None:
        for name, why in sorted(skipped.items()):
            if self._skipped.get(name) != why:
                log.info("peer %s gets no route: %s", name, why)
        self._skipped = dict(skipped)


async def cleanup(kernel: Kernel, device: str, scope: tuple[str, ...] = ()) -> str:
    """Remove every route of ours (inside `scope` when given) and the VXLAN device (its
    neighbour and FDB entries go with it): `--cleanup`. The Nodes' annotations stay
    (another run rewrites them)."""
    current = await kernel.read(None)
    routes = sorted(r for r in current.routes if not scope or reconcile.within(r.dst, scope))
    errors = await kernel.apply(reconcile.Plan(del_routes=routes))
    removed = await kernel.remove_link(device)
    if errors:
        raise KernelError("; ".join(errors))
    return f"removed {len(routes)} route(s)" + (f" and {device}" if removed else "")
