"""The plugin list: filters run in this order (a node's first failing filter gives
its reasons, as in Kubernetes); every scoring plugin's 0..100 score is multiplied by
its weight (Kubernetes' default weights) and summed; post-filters (preemption) run
when no node passed. The queue's order is PrioritySort's (scheduler/queue.py)."""

from __future__ import annotations

from scheduler.framework import Registered
from scheduler.plugins.default_preemption import DefaultPreemption
from scheduler.plugins.node_affinity import NodeAffinity
from scheduler.plugins.node_ports import NodePorts
from scheduler.plugins.node_resources import NodeResourcesBalancedAllocation, NodeResourcesFit
from scheduler.plugins.node_unschedulable import NodeUnschedulable
from scheduler.plugins.owner_spread import OwnerSpread
from scheduler.plugins.taint_toleration import TaintToleration

DEFAULT_PLUGINS: list[Registered] = [
    Registered(NodeUnschedulable()),
    Registered(TaintToleration(), weight=3),
    Registered(NodeAffinity(), weight=2),
    Registered(NodePorts()),
    Registered(NodeResourcesFit(), weight=1),
    Registered(NodeResourcesBalancedAllocation(), weight=1),
    Registered(OwnerSpread(), weight=2),
    Registered(DefaultPreemption()),
]
