"""The node lifecycle controller: notices nodes whose kubelet went quiet.

A node is alive while its Lease in kube-node-lease is renewed (or its Ready
condition's heartbeat advances). When neither has moved for
--node-monitor-grace-period, as measured on this controller's own clock from the
moment it last saw a change, its conditions become Unknown ("Kubelet stopped posting
node status."). The Ready condition decides the taints: Unknown → unreachable,
False → not-ready (both NoExecute, which evicts pods once their tolerations run out,
and NoSchedule); True → none. Pods on a node that is not Ready are marked not ready,
so Services stop sending them traffic. Each node is checked again exactly when its
grace period would end. The evicting (NoExecute) taints are rate-limited per zone and
withheld when every zone is fully disrupted: see zones.py."""

from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass
from typing import Any

from api.errors import NotFound
from api.resources import LEASES, NODES, PODS
from api.taints import NO_EXECUTE, NO_SCHEDULE, NOT_READY, UNREACHABLE, UNSCHEDULABLE
from api.timefmt import rfc3339
from client.events import NORMAL, WARNING
from controller.nodelifecycle.zones import (
    NORMAL as ZONE_NORMAL,
)
from controller.nodelifecycle.zones import (
    EvictionPolicy,
    TokenBucket,
    Zones,
    zone_key,
)
from controller.util.base import Context, Controller
from controller.util.controllerref import meta
from controller.util.pods import condition, is_pod_ready, node_name

log = logging.getLogger(__name__)

LEASE_NAMESPACE = "kube-node-lease"
CONDITION_TYPES = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
# Taints this controller owns: (key, effect).
MANAGED_TAINTS = {
    (NOT_READY, NO_EXECUTE),
    (UNREACHABLE, NO_EXECUTE),
    (NOT_READY, NO_SCHEDULE),
    (UNREACHABLE, NO_SCHEDULE),
    (UNSCHEDULABLE, NO_SCHEDULE),
}
Obj = dict[str, Any]


@dataclass
class _Health:
    """What we last saw of a node's liveness, and when (our monotonic clock)."""

    probed_at: float
    heartbeat: str | None
    renew_time: str | None


# What may happen to a node's NoExecute taints (the ones that evict) this pass.
ADD, KEEP, REMOVE = "add", "keep", "remove"


def desired_taints(node: Obj, no_execute: str = ADD) -> set[tuple[str, str]]:
    """The managed taints a node should carry, from its Ready condition and spec.
    `no_execute` limits the evicting ones: ADD as the condition says, KEEP only those
    already there (the zone's rate limit says not yet), REMOVE all of them (every
    zone is fully disrupted)."""
    wanted = _condition_taints(node)
    if no_execute != ADD:
        present = {(t.get("key"), t.get("effect")) for t in _taints(node)}
        wanted = {
            (key, effect)
            for key, effect in wanted
            if effect != NO_EXECUTE or (no_execute == KEEP and (key, effect) in present)
        }
    return wanted


def has_managed_no_execute(node: Obj) -> bool:
    return any(
        (t.get("key"), t.get("effect")) in MANAGED_TAINTS and t.get("effect") == NO_EXECUTE
        for t in _taints(node)
    )


def _taints(node: Obj) -> list[Obj]:
    return list((node.get("spec") or {}).get("taints") or [])


def _condition_taints(node: Obj) -> set[tuple[str, str]]:
    ready = condition(node, "Ready")
    status = ready.get("status") if ready else None
    wanted: set[tuple[str, str]] = set()
    if status == "False":
        wanted |= {(NOT_READY, NO_EXECUTE), (NOT_READY, NO_SCHEDULE)}
    elif status == "Unknown":
        wanted |= {(UNREACHABLE, NO_EXECUTE), (UNREACHABLE, NO_SCHEDULE)}
    if (node.get("spec") or {}).get("unschedulable"):
        wanted.add((UNSCHEDULABLE, NO_SCHEDULE))
    return wanted


def reconciled_taints(node: Obj, now: float, no_execute: str = ADD) -> list[Obj]:
    """The node's taints with the managed ones made right; others untouched."""
    current = _taints(node)
    wanted = desired_taints(node, no_execute)
    kept = [
        t
        for t in current
        if (t.get("key"), t.get("effect")) not in MANAGED_TAINTS
        or (t.get("key"), t.get("effect")) in wanted
    ]
    present = {(t.get("key"), t.get("effect")) for t in kept}
    for key, effect in sorted(wanted - present):
        taint: Obj = {"key": key, "effect": effect}
        if effect == NO_EXECUTE:
            taint["timeAdded"] = rfc3339(now)
        kept.append(taint)
    return kept


def unknown_conditions(node: Obj, now: float) -> list[Obj] | None:
    """The node's conditions after its kubelet went quiet; None when already so."""
    conditions = copy.deepcopy((node.get("status") or {}).get("conditions") or [])
    changed = False
    stamp = rfc3339(now)
    for kind in CONDITION_TYPES:
        cond = next((c for c in conditions if c.get("type") == kind), None)
        if cond is None:
            conditions.append(
                {
                    "type": kind,
                    "status": "Unknown",
                    "lastHeartbeatTime": meta(node).get("creationTimestamp"),
                    "lastTransitionTime": stamp,
                    "reason": "NodeStatusNeverUpdated",
                    "message": "Kubelet never posted node status.",
                }
            )
            changed = True
        elif cond.get("status") != "Unknown":
            cond.update(
                status="Unknown",
                reason="NodeStatusUnknown",
                message="Kubelet stopped posting node status.",
                lastTransitionTime=stamp,
            )
            changed = True
    return conditions if changed else None


class NodeLifecycleController(Controller):
    name = "nodelifecycle"
    default_workers = 2

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        informers = ctx.informers
        self.nodes = informers.informer(NODES)
        self.leases = informers.informer(LEASES)
        self.pods = informers.informer(PODS)
        self.pods_by_node = informers.index(PODS, "node", lambda p: node_name(p) or None)
        self.nodes.add_handler(self.enqueue, lambda _o, new: self.enqueue(new), self._node_deleted)
        self.leases.add_handler(self._lease_changed, lambda _o, new: self._lease_changed(new))
        self.pods.add_handler(self._pod_changed, lambda _o, new: self._pod_changed(new))
        self.watched = [self.nodes, self.leases, self.pods]
        self._health: dict[str, _Health] = {}
        self.grace = ctx.options.node_monitor_grace_period
        self.startup_grace = ctx.options.node_startup_grace_period
        self.monitor_period = ctx.options.node_monitor_period
        options = ctx.options
        self.eviction = EvictionPolicy(
            options.node_eviction_rate,
            options.secondary_node_eviction_rate,
            options.unhealthy_zone_threshold,
            options.large_cluster_size_threshold,
        )
        self._limiters: dict[str, TokenBucket] = {}
        self._zones: tuple[float, Zones] | None = None
        self._zone_states: dict[str, str] = {}
        self._master_disruption = False
        self._waiting_since: dict[str, float] = {}  # node -> first wanted NoExecute

    # ---- events --------------------------------------------------------------
    def _lease_changed(self, lease: Obj) -> None:
        if meta(lease).get("namespace") == LEASE_NAMESPACE:
            self.enqueue_key(meta(lease).get("name"))

    def _node_deleted(self, node: Obj) -> None:
        self._health.pop(meta(node).get("name") or "", None)
        self._waiting_since.pop(meta(node).get("name") or "", None)

    def _pod_changed(self, pod: Obj) -> None:
        """A pod turning Ready on a node that is not Ready must be marked again."""
        name = node_name(pod)
        node = self.nodes.get(name) if name else None
        if node is not None and is_pod_ready(pod):
            ready = condition(node, "Ready")
            if ready is not None and ready.get("status") != "True":
                self.enqueue_key(name)

    # ---- reconcile -----------------------------------------------------------
    async def reconcile(self, name: str) -> None:
        node = self.nodes.get(name)
        if node is None:
            self._health.pop(name, None)
            return
        now = time.monotonic()
        health = self._observe(name, node, now)
        grace = self.grace if condition(node, "Ready") is not None else self.startup_grace
        expires = health.probed_at + grace
        if now >= expires:
            node = await self._mark_unknown(node)
        else:
            self.enqueue_after(name, expires - now + 0.05)
        no_execute, retry = self._no_execute_decision(node, now)
        if retry is not None:
            self.enqueue_after(name, retry)
        node = await self._reconcile_taints(node, no_execute)
        ready = condition(node, "Ready")
        if ready is not None and ready.get("status") != "True":
            await self._mark_pods_not_ready(node)

    def _observe(self, name: str, node: Obj, now: float) -> _Health:
        """Restart the grace period whenever the heartbeat or the Lease moved."""
        ready = condition(node, "Ready")
        heartbeat = ready.get("lastHeartbeatTime") if ready else None
        lease = self.leases.get(f"{LEASE_NAMESPACE}/{name}")
        renew = ((lease or {}).get("spec") or {}).get("renewTime")
        health = self._health.get(name)
        if health is None:
            health = _Health(now, heartbeat, renew)
            self._health[name] = health
        elif (heartbeat, renew) != (health.heartbeat, health.renew_time):
            health.probed_at, health.heartbeat, health.renew_time = now, heartbeat, renew
        return health

    # ---- zones and the eviction rate -----------------------------------------
    def _no_execute_decision(self, node: Obj, now: float) -> tuple[str, float | None]:
        """Whether this node's NoExecute taints may be added now, and when to look
        again if not (see zones.py)."""
        zones = self._current_zones(now)
        if zones.all_fully_disrupted:
            return REMOVE, None
        name = meta(node).get("name") or ""
        wants = any(e == NO_EXECUTE for _k, e in desired_taints(node))
        if not wants or has_managed_no_execute(node):
            self._waiting_since.pop(name, None)
            return ADD, None  # nothing to add, or a swap of one evicting taint for another
        # Settle for one monitor period first, as Kubernetes' periodic pass does: nodes
        # that failed together are all counted before their zone's state is judged.
        since = self._waiting_since.setdefault(name, now)
        if now - since < self.monitor_period:
            return KEEP, since + self.monitor_period - now + 0.05
        zone = zone_key(node)
        state = zones.states.get(zone, ZONE_NORMAL)
        rate = self.eviction.rate(state, len(zones.members.get(zone, ())))
        limiter = self._limiters.setdefault(zone, TokenBucket(rate))
        limiter.set_rate(rate)
        wait = limiter.try_take()
        if wait == 0.0:
            return ADD, None
        return KEEP, min(wait, self.monitor_period) + 0.05

    def _current_zones(self, now: float) -> Zones:
        """The zones from the node cache, recomputed at most every half second (a
        reconcile per node must not cost a pass over every node)."""
        if self._zones is None or now - self._zones[0] > 0.5:
            zones = Zones.of(self.nodes.list(), self.eviction.unhealthy_zone_threshold)
            self._zones = (now, zones)
            self._note_transitions(zones, now)
        return self._zones[1]

    def _note_transitions(self, zones: Zones, now: float) -> None:
        for zone, state in zones.states.items():
            if self._zone_states.get(zone, ZONE_NORMAL) != state:
                log.info("zone %r is now in state %s", zone.replace("\x00", ""), state)
        self._zone_states = dict(zones.states)
        if zones.all_fully_disrupted and not self._master_disruption:
            log.warning("all nodes are not ready: entering master disruption mode (no evictions)")
        elif self._master_disruption and not zones.all_fully_disrupted:
            log.info("some nodes are ready: exiting master disruption mode")
            for health in self._health.values():  # every node gets a fresh grace period
                health.probed_at = now
        else:
            return
        self._master_disruption = zones.all_fully_disrupted
        for node in self.nodes.list():
            self.enqueue_key(meta(node).get("name"))

    async def _mark_unknown(self, node: Obj) -> Obj:
        conditions = unknown_conditions(node, time.time())
        if conditions is None:
            return node
        name = meta(node).get("name")
        log.info("node %s: no heartbeat for %.0fs; conditions now Unknown", name, self.grace)
        status = {**(node.get("status") or {}), "conditions": conditions}
        written = await self.api.update_status(NODES, {**node, "status": status})
        await self.events.record(
            written, NORMAL, "NodeNotReady", f"Node {name} status is now: NodeNotReady"
        )
        return written

    async def _reconcile_taints(self, node: Obj, no_execute: str) -> Obj:
        taints = reconciled_taints(node, time.time(), no_execute)
        if taints == list((node.get("spec") or {}).get("taints") or []):
            return node
        spec = {**(node.get("spec") or {}), "taints": taints}
        if not taints:
            spec.pop("taints")
        log.info("node %s: taints now %s", meta(node).get("name"),
                 [f"{t['key']}:{t['effect']}" for t in taints])  # fmt: skip
        return await self.api.update(NODES, {**node, "spec": spec})

    async def _mark_pods_not_ready(self, node: Obj) -> None:
        now = rfc3339()
        for pod in self.pods_by_node.list(meta(node).get("name") or ""):
            if not is_pod_ready(pod):
                continue
            status = copy.deepcopy(pod.get("status") or {})
            for cond in status.get("conditions") or []:
                if cond.get("type") == "Ready":
                    cond.update(status="False", lastTransitionTime=now)
            try:
                written = await self.api.update_status(PODS, {**pod, "status": status})
            except NotFound:
                continue
            await self.events.record(written, WARNING, "NodeNotReady", "Node is not ready")
