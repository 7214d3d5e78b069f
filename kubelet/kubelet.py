"""The kubelet: wires the node agent, the PLEG, pod workers, probes, the status
manager and the log server together, and runs them until told to stop.

Start-up order matters for restart safety: Docker is relisted and the pod informer
is synced *before* any pod worker runs, so a restarted kubelet adopts the running
containers of its pods (same ids, same restart counts) instead of starting new ones,
and only then removes containers of pods the API no longer has. Stopping the
kubelet leaves every container running.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from api.errors import ApiError
from api.resources import PODS, SERVICES
from api.storage import LOCAL_PATH_DIR_ANNOTATION
from client.events import EventRecorder
from client.informer import Informer
from client.kubeconfig import load as load_kubeconfig
from client.rest import ALL_NAMESPACES, AsyncClient
from componentbase.delegatedauth import DelegatedAuth
from kubelet import claims, dockerlabels, metrics, podcidr, volumes
from kubelet.auth import KubeletAuth
from kubelet.config import KubeletConfig
from kubelet.configdata import ConfigDataCache, references
from kubelet.containerspec import DnsSettings
from kubelet.events import EventSink
from kubelet.images import ImageManager
from kubelet.node import host_facts
from kubelet.nodestatus import NodeAgent
from kubelet.pause import ensure_sandbox_image
from kubelet.pleg import Pleg, RuntimeCache
from kubelet.podips import PodAddresses
from kubelet.podsync import PodSyncer, SyncSettings
from kubelet.podworkers import PodWorkers
from kubelet.prober.manager import ProbeManager
from kubelet.prober.runner import ProbeRunner
from kubelet.runtime import DockerRuntime, RuntimeFailure
from kubelet.securitycontext import SecurityOptions, seccomp_root
from kubelet.server import KubeletServer, serving_tls
from kubelet.serviceenv import service_env
from kubelet.statscollector import StatsCollector
from kubelet.statusmanager import StatusManager

if TYPE_CHECKING:
    from kubelet.certrotation import ClientCertificateRotator

log = logging.getLogger(__name__)
HOUSEKEEPING_SECONDS = 2.0
RESYNC_SECONDS = 30.0
STATUS_RECONCILE_SECONDS = 10.0


class Kubelet:
    def __init__(self, config: KubeletConfig) -> None:
        self.config = config
        self.api = AsyncClient(load_kubeconfig(config.kubeconfig), user_agent="minik-kubelet")
        self.runtime = DockerRuntime(endpoint=config.runtime_endpoint)
        self.cache = RuntimeCache()
        self.ready = asyncio.Event()
        self.status = StatusManager(self.api)
        self.events = EventSink(
            EventRecorder(self.api, "kubelet", host=config.node_name), busy=self.status.busy
        )
        self.pleg = Pleg(
            self.runtime,
            self.cache,
            config.node_name,
            config.pod_network,
            self._containers_changed,
            on_recovered=self._runtime_recovered,
        )
        self.probe_runner = ProbeRunner(self.runtime)
        self.probes = ProbeManager(self.probe_runner, self.events, self._probe_changed)
        self.images = ImageManager(self.runtime, self.events)
        self.settings = SyncSettings(
            node=config.node_name,
            root_dir=config.root_dir,
            network=config.pod_network,
            sandbox_image=config.sandbox_image,
            host_ip=config.node_ip,
            dns=DnsSettings(config.cluster_dns, config.cluster_domain),
            allocatable=dict(config.capacity),
            security=SecurityOptions(
                seccomp_default=config.seccomp_default,
                seccomp_root=seccomp_root(config.root_dir),
            ),
        )
        # ConfigMaps and Secrets, for env and volumes.
        self.config_cache = ConfigDataCache(self.api, self._config_changed)
        self.syncer = PodSyncer(
            self.settings,
            self.runtime,
            self.cache,
            self.pleg,
            self.images,
            self.probes,
            self.status,
            self.events,
            service_env=self._service_env,
            fetch_config_data=self.config_cache.for_pod,
            fetch_claim_sources=lambda pod: claims.resolve_claims(self.api, pod),
        )
        self.workers = PodWorkers(self.syncer, self.api, self.ready)
        self.informer = Informer(
            self.api,
            PODS,
            ALL_NAMESPACES,
            field_selector=f"spec.nodeName={config.node_name}",
            on_add=self._pod_added,
            on_update=self._pod_updated,
            on_delete=self._pod_deleted,
        )
        # Services, for the service environment variables of new containers.
        self.services = Informer(self.api, SERVICES, ALL_NAMESPACES)
        self.agent: NodeAgent | None = None
        # why the pod network is not there yet ("" once it is): --pod-cidr-from-node
        self._network_pending = ""
        self._background: set[asyncio.Task[None]] = set()
        self.server: KubeletServer | None = None
        metrics.report_running_pods(self.running_pods)

    def running_pods(self) -> int:
        """kubelet_running_pods: pods whose sandbox runs (a solo pod's container is
        its own)."""
        return len(
            {r.pod_uid for r in self.cache.records.values() if (r.sandbox or r.solo) and r.running}
        )

    # ---- wiring callbacks -------------------------------------------------------
    def _containers_changed(self, uids: set[str]) -> None:
        for uid in uids:
            self.workers.wake(uid)

    def _probe_changed(self, uid: str) -> None:
        self.workers.wake(uid)

    def _pod_added(self, pod: dict[str, Any]) -> None:
        self.config_cache.track(pod)
        self.workers.update(pod)

    def _pod_updated(self, old: dict[str, Any], pod: dict[str, Any]) -> None:
        self.status.observe(pod)
        if _spec_or_deletion_changed(old, pod):
            self.config_cache.track(pod)
            self.workers.update(pod)
        else:
            self.workers.update_quietly(pod)

    def _pod_deleted(self, pod: dict[str, Any]) -> None:
        self.config_cache.untrack(pod)
        self.workers.remove(pod)

    def _service_env(self, pod: dict[str, Any]) -> dict[str, str]:
        return service_env(pod, self.services.list())

    def _config_changed(self, kind: str, obj: dict[str, Any]) -> None:
        md = obj.get("metadata") or {}
        for pod in self.informer.list():
            pod_md = pod.get("metadata") or {}
            if pod_md.get("namespace") == md.get("namespace") and (
                kind,
                md.get("name"),
            ) in references(pod):
                self.workers.wake(pod_md.get("uid", ""))

    def find_pod(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.informer.get_by_name(name, namespace)

    def pod_status(self, pod: dict[str, Any]) -> dict[str, Any]:
        ours = self.status.desired(pod["metadata"]["uid"])
        return ours if ours is not None else (pod.get("status") or {})

    # ---- running ----------------------------------------------------------------
    async def _prepare(self) -> None:
        c = self.config
        c.root_dir.mkdir(parents=True, exist_ok=True)
        version = await self._wait_for_runtime()
        if c.pod_cidr_from_node:
            self._network_pending = podcidr.WAITING_MESSAGE  # NotReady until it is made
        else:
            await self._use_network(
                await self.runtime.ensure_network(c.pod_network, self._net_labels(), c.pod_cidr)
            )
        await ensure_sandbox_image(self.runtime, c.sandbox_image)
        await self.pleg.relist()  # the node is Ready from its first report on
        facts = host_facts(c.node_name, c.node_ip, c.port, f"docker://{version}")
        if c.node_labels:
            facts = replace(facts, labels=dict(c.node_labels))
        local_path = str(claims.local_path_dir(c.root_dir))
        facts = replace(facts, annotations={LOCAL_PATH_DIR_ANNOTATION: local_path})
        self.agent = NodeAgent(
            self.api, facts, c.capacity, c.capacity, self._node_readiness, pod_cidr=c.pod_cidr
        )
        delay = 0.5
        while True:
            try:
                await self.agent.register()
                break
            except ApiError as err:
                log.warning("registering node %s: %s; retrying in %.0fs", c.node_name, err, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
        if c.pod_cidr_from_node:
            await self._network_from_node(self.agent)

    async def _network_from_node(self, agent: NodeAgent) -> None:
        """--pod-cidr-from-node (kubelet/podcidr.py): the pod network made with the
        Node's podCIDR once it has one; meanwhile the Lease is renewed and the Node
        reported NotReady (network not ready), not left silent."""
        c = self.config
        heartbeat = asyncio.get_running_loop().create_task(agent.run())
        try:
            cidr = await podcidr.wait_for_pod_cidr(self.api, c.node_name)
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await heartbeat
        network = await self.runtime.ensure_subnet_network(c.pod_network, self._net_labels(), cidr)
        await self._use_network(network)
        log.info("pod network %s: subnet %s (the Node's podCIDR)", c.pod_network, cidr)
        self._network_pending = ""
        await agent.report(force=True)

    def _net_labels(self) -> dict[str, str]:
        return {dockerlabels.NETWORK: self.config.pod_network, "io.minik.managed": "true"}

    async def _use_network(self, network_id: str) -> None:
        c = self.config
        # sandboxes join the network by id: a name could be ambiguous
        self.settings = replace(self.settings, network=network_id)
        self.syncer.settings = self.settings
        # The kubelet gives pod IPs itself (host-local), so one-container pods need
        # no sandbox even when they restart (kubelet/solo.py, kubelet/ipam.py).
        self.syncer.addresses = await PodAddresses.for_network(
            self.runtime, c.pod_network, network_id, c.root_dir, seed=c.node_name
        )
        if self.syncer.addresses is None:
            log.warning("pod network %s has no IPv4 subnet: Docker gives pod IPs", c.pod_network)

    async def _wait_for_runtime(self) -> str:
        """Docker's version, waiting (with back-off) while the engine does not answer."""
        delay = 0.5
        while True:
            try:
                return await self.runtime.version()
            except RuntimeFailure as err:
                log.warning("container runtime is down: %s; retrying in %.0fs", err, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)

    def _node_readiness(self) -> tuple[bool, str]:
        why = self.pleg.runtime_down() or self._network_pending
        return (not why), why

    def _runtime_recovered(self) -> None:
        """Docker answers again: failures while it was away were not the pods' fault,
        so image-pull and restart back-offs start over, every pod is synced, and the
        node's Ready condition is reported now rather than at the next check."""
        self.syncer.backoff.clear()
        self.images.backoff.clear()
        for pod in self.informer.list():
            self.workers.wake((pod.get("metadata") or {}).get("uid", ""))
        if self.agent is not None:
            task = asyncio.get_running_loop().create_task(self._report_now())
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    async def _report_now(self) -> None:
        if self.agent is not None:
            with contextlib.suppress(Exception):
                await self.agent.report()

    async def run(self, stop: asyncio.Event) -> None:
        c = self.config
        self.server = KubeletServer(
            host=c.address,
            port=c.port,
            auth=KubeletAuth(
                DelegatedAuth(self.api),
                c.node_name,
                anonymous=c.anonymous_auth,
                client_ca=bool(c.client_ca_file),
                mode=c.authorization_mode,
            ),
            tls=serving_tls(
                c.tls_cert_file,
                c.tls_private_key_file,
                c.cert_dir or c.root_dir / "pki",
                (c.node_ip, c.address if c.address not in ("0.0.0.0", "::") else "", c.node_name),
                c.client_ca_file,
                c.tls_policy,
            ),
            runtime=self.runtime,
            find_pod=self.find_pod,
            pod_status=self.pod_status,
            stats=StatsCollector(
                c.node_name, self.cache, c.capacity.get("memory"), self.runtime.stats_once
            ),
        )
        self.server.bind()  # a port in use stops us before we touch anything
        await self._prepare()
        assert self.agent is not None
        self.services.start()
        self.informer.start()
        for informer in (self.services, self.informer):
            while not await informer.wait_for_sync(timeout=30):
                log.warning("%s informer not synced yet", informer.res.plural)
        self.ready.set()
        loops = [
            self.pleg.run(),
            self.pleg.watch_events(),
            self.status.run(),
            self.agent.run(),
            self.events.run(),
            self.server.serve(),
            self._housekeeping(),
        ]
        rotator = self._certificate_rotator()
        if rotator is not None:
            loops.append(rotator.run())
        tasks = [asyncio.get_running_loop().create_task(loop) for loop in loops]
        log.info("kubelet %s ready (node IP %s, port %d)", c.node_name, c.node_ip, c.port)
        stopped = asyncio.get_running_loop().create_task(stop.wait())
        done, _ = await asyncio.wait([*tasks, stopped], return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task is not stopped and not task.cancelled() and task.exception():
                log.error("kubelet loop failed", exc_info=task.exception())
        await self.shutdown(tasks)

    def _certificate_rotator(self) -> ClientCertificateRotator | None:
        """--rotate-certificates rotates a certificate the TLS bootstrap stored."""
        c = self.config
        if not c.rotate_certificates:
            return None
        # here: cryptography (~9 MiB resident) loads only in a kubelet that rotates
        from kubelet.certrotation import ClientCertificateRotator, load_current

        cert_dir = c.cert_dir or c.root_dir / "pki"
        if load_current(cert_dir) is None:
            log.warning(
                "--rotate-certificates: no bootstrapped client certificate in %s; "
                "the kubeconfig's own certificate is not rotated",
                cert_dir,
            )
            return None
        return ClientCertificateRotator(self.api, cert_dir, c.node_name)

    async def shutdown(self, tasks: list[asyncio.Task[Any]]) -> None:
        """Stop the kubelet's own work; containers keep running."""
        if self.server is not None:
            self.server.stop()
        await asyncio.sleep(0.1)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.informer.stop()
        await self.services.stop()
        await self.config_cache.stop()
        await self.workers.stop()
        await self.probes.stop()
        await self.probe_runner.aclose()
        await self.api.aclose()
        self.runtime.close()

    async def _housekeeping(self) -> None:
        """Remove containers and directories of pods the API no longer has, and the
        directories of local-path volumes that are gone; check
        that the API still shows the statuses we wrote (someone else, e.g. the node
        controller, may have changed them); resync every pod now and then."""
        last_resync = last_reconcile = time.monotonic()
        while True:
            await asyncio.sleep(HOUSEKEEPING_SECONDS)
            try:
                for uid in self.cache.pod_uids():
                    if uid not in self.workers:
                        log.info("removing containers of unknown pod %s", uid)
                        self.workers.remove_orphan(uid)
                # directories of deleted local-path volumes (an API list only when
                # there are some)
                await claims.remove_stale_volume_dirs(self.api, self.config.root_dir)
                if time.monotonic() - last_reconcile >= STATUS_RECONCILE_SECONDS:
                    last_reconcile = time.monotonic()
                    for pod in self.informer.list():
                        self.status.observe(pod)
                if time.monotonic() - last_resync >= RESYNC_SECONDS:
                    last_resync = time.monotonic()
                    self.workers.wake_all()
                    self.syncer.backoff.gc()
                    self.images.backoff.gc()
                    known = self.cache.pod_uids() | set(self.workers.workers)
                    if self.syncer.addresses is not None:
                        for uid in await self.syncer.addresses.release_unknown(known):
                            log.info("released the pod IP of unknown pod %s", uid)
                    for uid in volumes.pod_uids_on_disk(self.config.root_dir):
                        if uid not in known:
                            await asyncio.to_thread(
                                volumes.remove_pod_dirs,
                                self.config.root_dir,
                                self.config.node_name,
                                uid,
                            )
            except Exception:
                log.exception("housekeeping failed")


def _spec_or_deletion_changed(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """A status-only update (usually our own write) needs no sync."""
    if old.get("spec") != new.get("spec"):
        return True
    old_md, new_md = old.get("metadata") or {}, new.get("metadata") or {}
    return any(
        old_md.get(k) != new_md.get(k)
        for k in ("deletionTimestamp", "deletionGracePeriodSeconds", "labels", "annotations")
    )
