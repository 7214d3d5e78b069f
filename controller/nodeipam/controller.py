"""The node IPAM controller (kube-controller-manager's nodeipam with the
RangeAllocator, `--allocate-node-cidrs`): gives each Node a pod subnet of its own,
spec.podCIDR and spec.podCIDRs, cut from `--cluster-cidr` at
`--node-cidr-mask-size`. Kubelets (`--pod-cidr-from-node`) build their pod network
with it, and the network agents route each peer's subnet to it.

- At start, once the Node cache is synced and before any allocation, every Node's
  podCIDRs are marked as taken: a restarted controller never hands out a subnet
  twice. The taken set lives only in memory; the Nodes are its truth.
- A Node without podCIDRs gets the next free subnet, written with a merge patch
  pinned to the resourceVersion it was read at (podCIDRs are set once: the apiserver
  refuses to change them); on any failure the subnet is freed and the Node retried.
- A deleted Node's subnets are freed, and Nodes still waiting are retried at once.
- When the range is exhausted, the Node gets a Warning Event `CIDRNotAvailable`
  (source `cidrAllocator`, Kubernetes' words) and is retried with back-off.
- A Node whose podCIDRs lie outside the cluster CIDR (a kubelet's own `--pod-cidr`)
  is left alone and logged once; kube-controller-manager refuses to start instead."""

from __future__ import annotations

import logging
from typing import Any

from api.errors import NotFound
from api.resources import NODES
from client.events import WARNING, EventRecorder
from client.workqueue import Requeue
from controller.nodeipam.allocator import RangeAllocator, pod_cidrs
from controller.nodeipam.cidrset import CIDRRangeFull, CIDRSetError
from controller.nodeipam.config import NodeIpamConfig, node_ipam_config
from controller.util.base import Context, Controller
from controller.util.controllerref import meta

log = logging.getLogger(__name__)

Obj = dict[str, Any]
EVENT_SOURCE = "cidrAllocator"  # kube-controller-manager's range allocator's component
CIDR_NOT_AVAILABLE = "CIDRNotAvailable"


class NodeIpamController(Controller):
    name = "nodeipam"
    default_workers = 5

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        config = ctx.options.node_ipam or node_ipam_config("10.244.0.0/16")
        self.config: NodeIpamConfig = config
        self.allocator = RangeAllocator(config)
        self.events = EventRecorder(ctx.api, EVENT_SOURCE)
        self.nodes = ctx.informers.informer(NODES)
        self.nodes.add_handler(self.enqueue, self._node_updated, self._node_deleted)
        self.watched = [self.nodes]
        self._foreign: set[str] = set()  # Nodes whose podCIDRs we could not take (logged)

    async def started(self) -> None:
        """Take every existing Node's subnets before the first allocation."""
        count = 0
        for node in self.nodes.list():
            cidrs = pod_cidrs(node)
            if cidrs and self._occupy(node, cidrs):
                count += 1
        log.info(
            "nodeipam: cluster CIDR(s) %s, node mask(s) %s; %d Node(s) already have podCIDRs",
            ",".join(str(c) for c in self.config.cluster_cidrs),
            ",".join(f"/{m}" for m in self.config.mask_sizes),
            count,
        )

    def _node_updated(self, old: Obj, new: Obj) -> None:
        if (
            not pod_cidrs(new)
            or pod_cidrs(new) != pod_cidrs(old)
            or meta(new).get("deletionTimestamp")
        ):
            self.enqueue(new)

    def _node_deleted(self, node: Obj) -> None:
        cidrs = pod_cidrs(node)
        name = meta(node).get("name") or ""
        self._foreign.discard(name)
        if cidrs and self._release(node, cidrs):
            log.info("nodeipam: node %s deleted; released %s", name, ",".join(cidrs))
            for waiting in self.nodes.list():
                if not pod_cidrs(waiting):
                    self.enqueue(waiting)

    def _occupy(self, node: Obj, cidrs: list[str]) -> bool:
        name = meta(node).get("name") or ""
        try:
            self.allocator.occupy(cidrs)
            return True
        except CIDRSetError as err:
            if name not in self._foreign:
                self._foreign.add(name)
                log.warning("nodeipam: node %s: podCIDRs %s not tracked: %s", name, cidrs, err)
            return False

    def _release(self, node: Obj, cidrs: list[str]) -> bool:
        if meta(node).get("name") in self._foreign:
            return False
        try:
            self.allocator.release(cidrs)
            return True
        except CIDRSetError:
            return False

    async def reconcile(self, key: str) -> None:
        node = self.nodes.get(key)
        if node is None:
            return  # deleted: its subnets were released by the delete handler
        cidrs = pod_cidrs(node)
        if cidrs:
            self._occupy(node, cidrs)
            return
        if meta(node).get("deletionTimestamp"):
            return
        try:
            allocated = self.allocator.allocate()
        except CIDRRangeFull as err:
            await self.events.record(
                {**node, "kind": "Node", "apiVersion": "v1"},
                WARNING,
                CIDR_NOT_AVAILABLE,
                f"Node {key} status is now: {CIDR_NOT_AVAILABLE}",
            )
            raise Requeue(f"node {key}: {err}") from None
        patch = {
            "metadata": {"resourceVersion": meta(node).get("resourceVersion")},
            "spec": {"podCIDR": allocated[0], "podCIDRs": allocated},
        }
        try:
            await self.api.patch(NODES, key, patch)
        except NotFound:
            self.allocator.release(allocated)
            return
        except BaseException:
            self.allocator.release(allocated)  # a stale read or a failed write: try again
            raise
        log.info("nodeipam: node %s: podCIDRs %s", key, ",".join(allocated))
