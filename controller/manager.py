"""The controller manager: builds the selected controllers on one shared set of
informers and runs them together in one process."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from client.events import EventRecorder
from client.rest import AsyncClient
from controller.util.base import Context, Controller, Options
from controller.util.informers import InformerFactory

log = logging.getLogger(__name__)


def _registry() -> dict[str, type[Controller]]:
    from controller.bootstrap.bootstrapsigner import BootstrapSigner
    from controller.bootstrap.tokencleaner import TokenCleaner
    from controller.certificates.approver import CSRApprovingController
    from controller.certificates.cleaner import CSRCleaner
    from controller.certificates.signer import CSRSigningController
    from controller.cronjob.controller import CronJobController
    from controller.daemonset.controller import DaemonSetController
    from controller.deployment.controller import DeploymentController
    from controller.disruption.controller import DisruptionController
    from controller.endpoints.controller import EndpointsController
    from controller.endpointslice.controller import EndpointSliceController
    from controller.garbagecollector.controller import GarbageCollector
    from controller.job.controller import JobController
    from controller.localpath.controller import LocalPathProvisioner
    from controller.nodeipam.controller import NodeIpamController
    from controller.nodelifecycle.controller import NodeLifecycleController
    from controller.persistentvolume.controller import PersistentVolumeBinder
    from controller.persistentvolume.protection import ClaimProtection, VolumeProtection
    from controller.podautoscaler.controller import HorizontalPodAutoscalerController
    from controller.podgc.controller import PodGCController
    from controller.replicaset.controller import ReplicaSetController
    from controller.replicaset.replication import ReplicationManager
    from controller.resourcequota.controller import ResourceQuotaController
    from controller.rootcacertpublisher.controller import RootCACertPublisher
    from controller.serviceaccount.controller import ServiceAccountsController
    from controller.statefulset.controller import StatefulSetController
    from controller.tainteviction.controller import TaintEvictionController
    from controller.ttlafterfinished.controller import TTLAfterFinishedController

    return {
        "deployment": DeploymentController,
        "replicaset": ReplicaSetController,
        "garbagecollector": GarbageCollector,
        "endpoints": EndpointsController,
        "endpointslice": EndpointSliceController,
        "nodelifecycle": NodeLifecycleController,
        "nodeipam": NodeIpamController,
        "tainteviction": TaintEvictionController,
        "podgc": PodGCController,
        "daemonset": DaemonSetController,
        "job": JobController,
        "ttl-after-finished": TTLAfterFinishedController,
        "cronjob": CronJobController,
        "persistentvolume-binder": PersistentVolumeBinder,
        "persistentvolume-protection": VolumeProtection,
        "persistentvolumeclaim-protection": ClaimProtection,
        "local-path-provisioner": LocalPathProvisioner,
        "statefulset": StatefulSetController,
        "replicationcontroller": ReplicationManager,
        "disruption": DisruptionController,
        "resourcequota": ResourceQuotaController,
        "horizontalpodautoscaling": HorizontalPodAutoscalerController,
        "serviceaccount": ServiceAccountsController,
        "root-ca-cert-publisher": RootCACertPublisher,
        "csrapproving": CSRApprovingController,
        "csrsigning": CSRSigningController,
        "csrcleaner": CSRCleaner,
        "bootstrapsigner": BootstrapSigner,
        "tokencleaner": TokenCleaner,
    }


CONTROLLER_NAMES = (
    "deployment",
    "replicaset",
    "garbagecollector",
    "endpoints",
    "endpointslice",
    "nodelifecycle",
    "nodeipam",
    "tainteviction",
    "podgc",
    "daemonset",
    "job",
    "ttl-after-finished",
    "cronjob",
    "persistentvolume-binder",
    "persistentvolume-protection",
    "persistentvolumeclaim-protection",
    "local-path-provisioner",
    "statefulset",
    "replicationcontroller",
    "disruption",
    "resourcequota",
    "horizontalpodautoscaling",
    "serviceaccount",
    "root-ca-cert-publisher",
    "csrapproving",
    "csrsigning",
    "csrcleaner",
    "bootstrapsigner",
    "tokencleaner",
)
# Not in `*`, as kube-controller-manager's ControllersDisabledByDefault (kubeadm
# enables them with `--controllers=*,bootstrapsigner,tokencleaner`).
DISABLED_BY_DEFAULT = frozenset({"bootstrapsigner", "tokencleaner"})
# Kubernetes' names for the same controllers, old and new.
ALIASES = {
    "deployment-controller": "deployment",
    "replicaset-controller": "replicaset",
    "garbage-collector-controller": "garbagecollector",
    "endpoint": "endpoints",
    "endpoints-controller": "endpoints",
    "endpointslice-controller": "endpointslice",
    "statefulset-controller": "statefulset",
    "node-lifecycle-controller": "nodelifecycle",
    "node-ipam-controller": "nodeipam",
    "taint-eviction-controller": "tainteviction",
    "pod-garbage-collector-controller": "podgc",
    "daemonset-controller": "daemonset",
    "job-controller": "job",
    "ttl-after-finished-controller": "ttl-after-finished",
    "cronjob-controller": "cronjob",
    "persistentvolume-binder-controller": "persistentvolume-binder",
    "persistentvolume-protection-controller": "persistentvolume-protection",
    "persistentvolumeclaim-protection-controller": "persistentvolumeclaim-protection",
    "pv-protection": "persistentvolume-protection",
    "pvc-protection": "persistentvolumeclaim-protection",
    "replicationcontroller-controller": "replicationcontroller",
    "disruption-controller": "disruption",
    "resourcequota-controller": "resourcequota",
    "horizontal-pod-autoscaler-controller": "horizontalpodautoscaling",
    "serviceaccount-controller": "serviceaccount",
    "root-ca-certificate-publisher-controller": "root-ca-cert-publisher",
    "certificatesigningrequest-approving-controller": "csrapproving",
    "certificatesigningrequest-signing-controller": "csrsigning",
    "certificatesigningrequest-cleaner-controller": "csrcleaner",
    "bootstrap-signer-controller": "bootstrapsigner",
    "token-cleaner-controller": "tokencleaner",
}


class UnknownController(ValueError):
    pass


def enabled_controllers(spec: Iterable[str]) -> list[str]:
    """Kubernetes' `--controllers` rule: `*` is every controller, `name` enables one,
    `-name` disables one; the first explicit mention of a controller wins."""
    items = [s.strip() for s in spec if s.strip()]
    for item in items:
        name = ALIASES.get(item.lstrip("-"), item.lstrip("-"))
        if item != "*" and name not in CONTROLLER_NAMES:
            raise UnknownController(f'"{item}" is not in the list of known controllers')
    enabled = []
    for name in CONTROLLER_NAMES:
        choice: bool | None = None
        star = False
        for item in items:
            bare = ALIASES.get(item.lstrip("-"), item.lstrip("-"))
            if item == "*":
                star = True
            elif bare == name:
                choice = not item.startswith("-")
                break
        if choice if choice is not None else star and name not in DISABLED_BY_DEFAULT:
            enabled.append(name)
    return enabled


# Enabled by `*` but idle unless their flag asks, as kube-controller-manager's nodeipam
# without --allocate-node-cidrs ("controller not enabled").
NEEDS_FLAG = {"nodeipam": "--allocate-node-cidrs"}


def runnable(names: list[str], options: Options) -> list[str]:
    """The enabled controllers whose flags let them run."""
    return [n for n in names if n != "nodeipam" or options.node_ipam is not None]


async def run_controllers(api: AsyncClient, names: list[str], options: Options) -> None:
    """Build the named controllers, start the shared informers, run until cancelled."""
    informers = InformerFactory(api)
    registry = _registry()
    controllers: list[Controller] = []
    skipped = [n for n in names if n not in runnable(names, options)]
    if skipped:
        log.info(
            "not starting %s: %s",
            ", ".join(skipped),
            ", ".join(f"{NEEDS_FLAG[n]} is false" for n in skipped),
        )
    names = runnable(names, options)
    for name in names:
        events = EventRecorder(api, f"{name}-controller")
        controllers.append(registry[name](Context(api, informers, events, options)))
    informers.start()
    log.info("starting controllers: %s", ", ".join(names))
    try:
        await asyncio.gather(*(c.run() for c in controllers))
    finally:
        await informers.stop()
