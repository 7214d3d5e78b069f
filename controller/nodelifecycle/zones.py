"""Zones and their disruption state, as kube-controller-manager's node lifecycle
controller keeps them, so that losing many nodes at once (the control plane's own
network, a paused host) does not evict every pod in the cluster.

A zone is the nodes sharing `topology.kubernetes.io/region` and `.../zone` labels
(all unlabelled nodes form one zone). Its state comes from its nodes' Ready
conditions: no Ready node → FullDisruption; more than two not Ready and at least
`--unhealthy-zone-threshold` of them → PartialDisruption; else Normal. NoExecute
taints (which evict) are added at `--node-eviction-rate` nodes per second per zone;
in a PartialDisruption zone at `--secondary-node-eviction-rate` when the zone has more
than `--large-cluster-size-threshold` nodes, otherwise not at all. When every zone is
fully disrupted the controller evicts nothing and lifts the NoExecute taints it set
("master disruption mode"): the likelier cause is on the control plane's side."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

REGION_LABEL = "topology.kubernetes.io/region"
ZONE_LABEL = "topology.kubernetes.io/zone"

NORMAL = "Normal"
PARTIAL_DISRUPTION = "PartialDisruption"
FULL_DISRUPTION = "FullDisruption"

Obj = dict[str, Any]


@dataclass(frozen=True)
class EvictionPolicy:
    """The flags of kube-controller-manager that shape evictions, with its defaults."""

    node_eviction_rate: float = 0.1
    secondary_node_eviction_rate: float = 0.01
    unhealthy_zone_threshold: float = 0.55
    large_cluster_size_threshold: int = 50

    def rate(self, state: str, zone_size: int) -> float:
        """Nodes per second that may get a NoExecute taint in a zone in `state`."""
        if state == PARTIAL_DISRUPTION:
            if zone_size > self.large_cluster_size_threshold:
                return self.secondary_node_eviction_rate
            return 0.0
        return self.node_eviction_rate  # Normal, and FullDisruption of one zone of many


def zone_key(node: Obj) -> str:
    """utilnode.GetZoneKey: region and zone joined; "" for a node with neither."""
    labels = (node.get("metadata") or {}).get("labels") or {}
    region, zone = labels.get(REGION_LABEL, ""), labels.get(ZONE_LABEL, "")
    return f"{region}:\x00:{zone}" if region or zone else ""


def _is_ready(node: Obj) -> bool:
    for cond in (node.get("status") or {}).get("conditions") or []:
        if cond.get("type") == "Ready":
            return cond.get("status") == "True"
    return False


def zone_state(nodes: Iterable[Obj], unhealthy_threshold: float) -> str:
    """ComputeZoneState over one zone's nodes."""
    ready = not_ready = 0
    for node in nodes:
        if _is_ready(node):
            ready += 1
        else:
            not_ready += 1
    if ready == 0 and not_ready > 0:
        return FULL_DISRUPTION
    if not_ready > 2 and not_ready / (not_ready + ready) >= unhealthy_threshold:
        return PARTIAL_DISRUPTION
    return NORMAL


@dataclass
class Zones:
    """Every zone's nodes and state at one moment."""

    members: dict[str, list[Obj]]
    states: dict[str, str]

    @classmethod
    def of(cls, nodes: Iterable[Obj], unhealthy_threshold: float) -> Zones:
        members: dict[str, list[Obj]] = {}
        for node in nodes:
            members.setdefault(zone_key(node), []).append(node)
        states = {z: zone_state(ns, unhealthy_threshold) for z, ns in members.items()}
        return cls(members, states)

    @property
    def all_fully_disrupted(self) -> bool:
        return bool(self.states) and all(s == FULL_DISRUPTION for s in self.states.values())


class TokenBucket:
    """A limiter that is only ever asked "may I now?" (flowcontrol's TryAccept): one
    token at a time, refilled at `qps`; the rate can be swapped as the zone's state
    changes. A refused caller learns how long to wait (infinite at rate 0)."""

    def __init__(self, qps: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.qps = qps
        self._tokens = 1.0
        self._last = clock()

    def set_rate(self, qps: float) -> None:
        self._refill()
        self.qps = qps

    def try_take(self) -> float:
        """0.0 when a token was taken; else the seconds until one will be there. At
        rate 0 nothing passes, whatever was saved up before."""
        if self.qps <= 0:
            return math.inf
        self._refill()
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self.qps

    def _refill(self) -> None:
        now = self.clock()
        self._tokens = min(1.0, self._tokens + (now - self._last) * self.qps)
        self._last = now
