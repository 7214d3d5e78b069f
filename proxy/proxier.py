"""The proxier: informers for Services and Endpoints feed one level-triggered sync
that makes the host match them.

Every change marks the state dirty; `sync` rebuilds the desired `ServiceMap` from
the caches (pure logic) and applies the difference, in an order that never leaves
a listener without its address: balancers first (new connections see new
endpoints at once), then stale listeners closed, addresses added and removed,
new listeners bound, the DNS zone swapped. API writes (LoadBalancer status,
Events, the kube-dns Service) go through a rate-limited work queue so a slow or
absent apiserver never holds up the data path: while the apiserver is away the
proxy keeps serving what its caches last knew.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from api.clusterdefaults import DEFAULT_CLUSTER_DNS
from api.resources import ENDPOINTS, SERVICES
from client.events import EventRecorder
from client.informer import Informer
from client.rest import ALL_NAMESPACES, AsyncClient
from client.workqueue import WorkQueue, process
from proxy import clusterdns
from proxy.addresses import LoAddresses
from proxy.balancer import Balancer, Target
from proxy.dns import Address, DnsServer, Forwarder
from proxy.dnsacl import cluster_acl
from proxy.dnsrecords import DEFAULT_DOMAIN, build_zone
from proxy.loadbalancer import StatusWriter, current_ingress, needs_update
from proxy.servicemap import (
    WILDCARD,
    Listener,
    ServiceMap,
    ServicePortName,
    build_service_map,
    node_listen_addresses,
)
from proxy.tcp import TcpListener
from proxy.udp import UdpListener

log = logging.getLogger(__name__)

DNS_PORT = 53


@dataclass
class ProxyConfig:
    node_name: str
    bind_address: str = WILDCARD
    cluster_dns: str = DEFAULT_CLUSTER_DNS
    cluster_domain: str = DEFAULT_DOMAIN
    upstream_dns: Address | None = None
    node_ips: list[str] = field(default_factory=list)
    cluster_cidrs: list[str] = field(default_factory=list)  # pod networks beyond this host's
    retry_seconds: float = 2.0  # how often ports that were taken are tried again


@dataclass
class _Running:
    server: TcpListener | UdpListener
    target: Target
    owner: ServicePortName


class Proxier:
    def __init__(self, config: ProxyConfig, api: AsyncClient) -> None:
        self.config = config
        self.api = api
        self.addresses = LoAddresses()
        self.dns = DnsServer(
            config.cluster_dns,
            DNS_PORT,
            config.cluster_domain,
            Forwarder(config.upstream_dns),
            cluster_acl(config.cluster_cidrs, [*config.node_ips, config.cluster_dns]),
        )
        self.services = Informer(api, SERVICES, ALL_NAMESPACES)
        self.endpoints = Informer(api, ENDPOINTS, ALL_NAMESPACES)
        for informer in (self.services, self.endpoints):
            informer.add_handler(self._changed, self._changed_update, self._changed)
        self.services.add_handler(on_delete=self._service_deleted)
        recorder = EventRecorder(api, "minik-proxy", config.node_name)
        self.status = StatusWriter(api, recorder, config.node_ips)
        self.queue = WorkQueue(name="proxy-status")
        self.balancers: dict[ServicePortName, Balancer] = {}
        self.listeners: dict[Listener, _Running] = {}
        self.failed: dict[Listener, ServicePortName] = {}  # ports we could not bind
        self.desired = ServiceMap()
        self._unreported: dict[str, set[str]] = {}  # service key -> ports to report taken
        self._dns_running = self._dns_failed = False
        self._dirty = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    # ---- lifecycle ----------------------------------------------------------------
    async def start(self) -> None:
        """Hold the DNS address and answer on it, then start watching."""
        adopted = await self.addresses.refresh()
        if adopted:
            log.info("found our addresses from an earlier run: %s", ", ".join(sorted(adopted)))
        await self.addresses.add([self.config.cluster_dns])
        await self._start_dns()
        self.services.start()
        self.endpoints.start()

    async def run(self) -> None:
        """Serve until cancelled."""
        await self.start()
        while not (self.services.has_synced and self.endpoints.has_synced):
            await asyncio.gather(
                self.services.wait_for_sync(timeout=10), self.endpoints.wait_for_sync(timeout=10)
            )
            if not (self.services.has_synced and self.endpoints.has_synced):
                log.info("waiting for the apiserver to list Services and Endpoints")
        self._tasks = [asyncio.get_running_loop().create_task(process(self.queue, self._write))]
        self.queue.add(clusterdns.KEY)
        await self._sync_loop()

    async def _start_dns(self) -> None:
        """Answer on the cluster DNS address; a port taken there is retried, not fatal."""
        if self._dns_running:
            return
        try:
            await self.dns.start()
        except OSError as err:
            if not self._dns_failed:
                log.error("cannot serve DNS on %s:%d: %s", self.config.cluster_dns, DNS_PORT, err)
            self._dns_failed = True
            return
        self._dns_running = True
        log.info("serving cluster DNS on %s:%d", self.config.cluster_dns, DNS_PORT)

    async def stop(self) -> None:
        """Close every listener and give back every address we hold."""
        self.queue.shutdown()
        for task in self._tasks:
            task.cancel()
        for running in self.listeners.values():
            running.server.close()
        self.listeners.clear()
        self.dns.close()
        await self.services.stop()
        await self.endpoints.stop()
        with contextlib.suppress(Exception):
            await self.addresses.sync(())

    # ---- watching -----------------------------------------------------------------
    def _changed(self, obj: dict) -> None:
        self._dirty.set()

    def _changed_update(self, old: dict, new: dict) -> None:
        self._dirty.set()

    def _service_deleted(self, obj: dict) -> None:
        meta = obj.get("metadata") or {}
        if f"{meta.get('namespace')}/{meta.get('name')}" == clusterdns.KEY:
            self.queue.add(clusterdns.KEY)  # put it back

    async def _sync_loop(self) -> None:
        while True:
            # Changes wake us at once; ports that were taken (and a DNS server that
            # could not bind) are retried every `retry_seconds`.
            retry = self.failed or not self._dns_running
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.config.retry_seconds if retry else None):
                    await self._dirty.wait()
            self._dirty.clear()
            try:
                await self.sync()
            except Exception:
                log.exception("sync failed; trying again")
                await asyncio.sleep(0.5)
                self._dirty.set()

    # ---- the sync -----------------------------------------------------------------
    async def sync(self) -> None:
        services, endpoints = self.services.list(), self.endpoints.list()
        desired = build_service_map(
            services, endpoints, self.config.bind_address, reserved_ips=[self.config.cluster_dns]
        )
        self.desired = desired
        self._update_balancers(desired)
        self._close_stale_listeners(desired)
        await self.addresses.sync(desired.cluster_ips | {self.config.cluster_dns})
        self.dns.acl.refresh()  # the host's addresses and networks as they are now
        await self._open_listeners(desired)
        await self._start_dns()
        self.dns.zone = build_zone(services, endpoints, self.config.cluster_domain)
        self._queue_status_writes(services)

    def _update_balancers(self, desired: ServiceMap) -> None:
        for name, sp in desired.ports.items():
            balancer = self.balancers.get(name)
            if balancer is None:
                self.balancers[name] = Balancer(sp.backends, sp.affinity_seconds)
            else:
                balancer.update(sp.backends, sp.affinity_seconds)
                balancer.expire()
        for name in [n for n in self.balancers if n not in desired.ports]:
            del self.balancers[name]

    def _close_stale_listeners(self, desired: ServiceMap) -> None:
        for listener, running in list(self.listeners.items()):
            owner = desired.listeners.get(listener)
            if owner is None:
                running.server.close()
                del self.listeners[listener]
                log.info("stopped listening on %s (%s)", listener, running.owner)
                continue
            if owner != running.owner:  # the port now belongs to another service port
                running.owner = owner
                running.target.name = str(owner)
                self.failed.pop(listener, None)
            running.target.balancer = self.balancers[owner]
            if isinstance(running.server, UdpListener):
                running.server.backends_changed()
        for listener in [lst for lst in self.failed if lst not in desired.listeners]:
            del self.failed[listener]

    async def _open_listeners(self, desired: ServiceMap) -> None:
        for listener, owner in desired.listeners.items():
            if listener in self.listeners:
                continue
            target = Target(str(owner), self.balancers[owner])
            server_cls = TcpListener if listener.protocol == "TCP" else UdpListener
            server = server_cls(listener.ip, listener.port, target)
            try:
                await server.start()
            except OSError as err:
                if self.failed.get(listener) != owner:
                    log.warning("%s: cannot listen on %s: %s", owner, listener, err)
                    self._report_taken(owner.service_key, listener)
                self.failed[listener] = owner
                continue
            self.listeners[listener] = _Running(server, target, owner)
            if self.failed.pop(listener, None) is not None:
                log.info("%s: %s is free again, listening", owner, listener)
            else:
                log.info("listening on %s for %s", listener, owner)
        for listener, (loser, winner) in desired.conflicts.items():
            if self.failed.get(listener) != loser:
                log.warning("%s: %s is already used by %s", loser, listener, winner)
                self._report_taken(loser.service_key, listener)
                self.failed[listener] = loser

    def _report_taken(self, service_key: str, listener: Listener) -> None:
        self._unreported.setdefault(service_key, set()).add(
            f"{listener.port}/{listener.protocol} on {listener.ip}"
        )
        self.queue.add(service_key)

    # ---- API writes (through the work queue) ---------------------------------------
    def serving(self, service_key: str) -> bool:
        """Whether this node serves every LoadBalancer port of the Service."""
        addresses = node_listen_addresses(self.config.bind_address)
        ports = [sp for sp in self.desired.ports.values() if sp.name.service_key == service_key]
        if not ports or not all(sp.load_balancer for sp in ports):
            return False
        for sp in ports:
            for address in addresses:
                running = self.listeners.get(Listener(sp.name.protocol, address, sp.port))
                if running is None or running.owner.service_key != service_key:
                    return False
        return True

    def _queue_status_writes(self, services: list[dict]) -> None:
        for service in services:
            is_lb = (service.get("spec") or {}).get("type") == "LoadBalancer"
            if not is_lb and not current_ingress(service):
                continue
            key = _key(service)
            if needs_update(service, self.config.node_ips, self.serving(key)):
                self.queue.add(key)

    async def _write(self, key: object) -> None:
        key = str(key)
        service = self.services.get(key)
        if key == clusterdns.KEY:
            await clusterdns.ensure_kube_dns_service(self.api, self.config.cluster_dns, service)
            return
        if service is None:
            self._unreported.pop(key, None)
            return
        taken = self._unreported.pop(key, None)
        if taken:
            await self.status.port_in_use(service, sorted(taken), self.config.node_name)
        await self.status.publish(service, self.serving(key))


def _key(obj: dict) -> str:
    meta = obj.get("metadata") or {}
    return f"{meta.get('namespace')}/{meta.get('name')}"
