"""The shape every controller shares (Kubernetes' controller pattern): shared
informers feed a work queue of `namespace/name` keys; a few workers take keys and
call `reconcile(key)`, which reads the informer caches, compares with what should be,
and writes through the API. The workers run client/workqueue.py's `process`: a failed
reconcile is retried with per-key exponential back-off; a key is never reconciled by
two workers at once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from client.events import EventRecorder
from client.informer import Informer, key_of
from client.rest import AsyncClient
from client.workqueue import WorkQueue, process
from controller.util.informers import InformerFactory

if TYPE_CHECKING:
    from controller.nodeipam.config import NodeIpamConfig

log = logging.getLogger(__name__)

Obj = dict[str, Any]


@dataclass
class Options:
    """The controller manager's tunables (flags), shared by all controllers. The
    default toleration seconds are only recorded: the apiserver's admission adds the
    tolerations to pods, and eviction reads each pod's own."""

    node_monitor_grace_period: float = 50.0  # Kubernetes 1.32+ (40 s before)
    node_startup_grace_period: float = 60.0
    node_monitor_period: float = 5.0
    node_eviction_rate: float = 0.1
    secondary_node_eviction_rate: float = 0.01
    unhealthy_zone_threshold: float = 0.55
    large_cluster_size_threshold: int = 50
    default_not_ready_toleration_seconds: int = 300
    default_unreachable_toleration_seconds: int = 300
    pod_gc_period: float = 20.0
    resource_quota_sync_period: float = 300.0
    # --horizontal-pod-autoscaler-* (the HPA controller)
    hpa_sync_period: float = 15.0
    hpa_downscale_stabilization: float = 300.0
    hpa_tolerance: float = 0.1
    workers: dict[str, int] = field(default_factory=dict)
    # the cluster CA bundle (PEM) the root-ca-cert-publisher puts in every namespace:
    # --root-ca-file, else the kubeconfig's certificate authority
    root_ca: str | None = None
    # csrsigning: the CA that signs approved requests, and for how long
    cluster_signing_cert_file: str | None = None
    cluster_signing_key_file: str | None = None
    cluster_signing_duration: float = 365 * 24 * 3600.0
    # nodeipam: --cluster-cidr and the node mask sizes, checked (None: not allocating)
    node_ipam: NodeIpamConfig | None = None


@dataclass
class Context:
    """What a controller is built from: the API, the shared informers, an event
    recorder and the options."""

    api: AsyncClient
    informers: InformerFactory
    events: EventRecorder
    options: Options = field(default_factory=Options)


class Controller:
    """Subclasses set `name`, register informer handlers that call `enqueue`, list
    the informers they read in `self.watched`, and implement `reconcile`."""

    name = "controller"
    default_workers = 5

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.api = ctx.api
        self.events = ctx.events
        self.queue = WorkQueue(name=self.name)
        self.watched: list[Informer] = []

    # ---- queueing -----------------------------------------------------------
    def enqueue(self, obj: Obj) -> None:
        self.queue.add(key_of(obj))

    def enqueue_key(self, key: Hashable) -> None:
        self.queue.add(key)

    def enqueue_after(self, key: Hashable, delay: float) -> None:
        self.queue.add_after(key, max(0.0, delay))

    # ---- running ------------------------------------------------------------
    async def run(self, workers: int | None = None) -> None:
        """Wait for the caches, then reconcile until cancelled."""
        await self.ctx.informers.wait_for_sync(self.watched)
        await self.started()
        count = workers or self.ctx.options.workers.get(self.name) or self.default_workers
        log.info("%s controller: caches synced, %d workers", self.name, count)
        tasks = [
            asyncio.create_task(process(self.queue, self.reconcile), name=f"{self.name}-worker-{i}")
            for i in range(count)
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            self.queue.shutdown()
            for task in tasks:
                task.cancel()

    async def started(self) -> None:
        """Hook run once the caches are synced, before the workers start."""

    async def reconcile(self, key: Any) -> None:
        raise NotImplementedError
