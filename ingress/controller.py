"""The controller half: informers for Ingresses, IngressClasses, Services, Endpoints
and Secrets feed one level-triggered sync that rebuilds the route table and the TLS
contexts (swapped in whole, so a request sees either the old or the new table), and
queues the status writes. While the apiserver is away, the proxy keeps serving what
its caches last knew."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from dataclasses import dataclass, field

from api.errors import NotFound
from api.ingress import MINIK_CLASS, is_default_class
from api.resources import ENDPOINTS, INGRESSCLASSES, INGRESSES, NODES, SECRETS, SERVICES
from client.informer import Informer, key_of
from client.rest import ALL_NAMESPACES, AsyncClient
from client.workqueue import WorkQueue, process
from ingress import status
from ingress.routing import RouteTable, build_table, serves
from ingress.server import ProxyServer
from ingress.tlsstore import TlsStore

log = logging.getLogger(__name__)


@dataclass
class IngressConfig:
    node_name: str | None = None
    bind_address: str = "0.0.0.0"
    http_port: int = 8080
    https_port: int = 8443
    ingress_class: str = MINIK_CLASS
    publish_ips: list[str] = field(default_factory=list)  # empty: found at start
    retry_seconds: float = 2.0  # how often a taken port is tried again


class IngressController:
    def __init__(self, config: IngressConfig, api: AsyncClient) -> None:
        self.config = config
        self.api = api
        self.ingresses = Informer(api, INGRESSES, ALL_NAMESPACES)
        self.classes = Informer(api, INGRESSCLASSES)
        self.services = Informer(api, SERVICES, ALL_NAMESPACES)
        self.endpoints = Informer(api, ENDPOINTS, ALL_NAMESPACES)
        self.secrets = Informer(api, SECRETS, ALL_NAMESPACES)
        self.informers = [self.ingresses, self.classes, self.services, self.endpoints, self.secrets]
        for informer in self.informers:
            informer.add_handler(self._changed, self._changed_update, self._changed)
        self.table = RouteTable()
        self.tls = TlsStore()
        self.proxy = ProxyServer(lambda: self.table)
        self.queue = WorkQueue(name="ingress-status")
        self.serving: set[str] = set()
        self._dirty = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    # ---- lifecycle ----------------------------------------------------------------
    async def run(self) -> None:
        for informer in self.informers:
            informer.start()
        while not all(i.has_synced for i in self.informers):
            await asyncio.gather(*(i.wait_for_sync(timeout=10) for i in self.informers))
            if not all(i.has_synced for i in self.informers):
                log.info("waiting for the apiserver to list what the ingress needs")
        if not self.config.publish_ips:
            self.config.publish_ips = await self._node_addresses()
        self.sync()
        c = self.config
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(process(self.queue, self._write)),
            loop.create_task(self._listen(c.http_port, None)),
            loop.create_task(self._listen(c.https_port, self.tls.server_context)),
        ]
        log.info(
            "serving class %r on %s (http %d, https %d); publishing %s",
            c.ingress_class,
            c.bind_address,
            c.http_port,
            c.https_port,
            ", ".join(c.publish_ips),
        )
        await self._sync_loop()

    async def _listen(self, port: int, tls: ssl.SSLContext | None) -> None:
        """Bind the port; one that is taken is tried again every few seconds (as the
        proxy does), so the ingress comes up whenever the port frees."""
        reported = False
        while True:
            try:
                await self.proxy.listen(self.config.bind_address, port, tls)
            except OSError as err:
                if not reported:
                    log.error(
                        "cannot listen on %s:%d: %s; retrying", self.config.bind_address, port, err
                    )
                    reported = True
                await asyncio.sleep(self.config.retry_seconds)
                continue
            if reported:
                log.info("listening on %s:%d now", self.config.bind_address, port)
            return

    async def stop(self) -> None:
        self.queue.shutdown()
        for task in self._tasks:
            task.cancel()
        await self.proxy.close()
        await self._withdraw_addresses()
        for informer in self.informers:
            await informer.stop()

    async def _withdraw_addresses(self, seconds: float = 3.0) -> None:
        """On a graceful stop, take this node's addresses out of the Ingresses' status
        (ingress-nginx's --update-status-on-shutdown): nothing answers there now.
        Best effort, bounded: an apiserver that is gone does not hold the exit up."""
        self.serving = set()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(seconds):
                for ing in self.ingresses.list():
                    if status.needs_update(ing, self.config.publish_ips, False):
                        await self._write(key_of(ing))

    async def _node_addresses(self) -> list[str]:
        """The node's InternalIP (else ExternalIP), else the bind address, else
        loopback: what `kubectl get ingress` shows as ADDRESS."""
        if self.config.node_name:
            with contextlib.suppress(NotFound):
                node = await self.api.get(NODES, self.config.node_name)
                addresses = (node.get("status") or {}).get("addresses") or []
                for kind in ("InternalIP", "ExternalIP"):
                    found = [a["address"] for a in addresses if a.get("type") == kind]
                    if found:
                        return found[:1]
        if self.config.bind_address not in ("0.0.0.0", "::", ""):
            return [self.config.bind_address]
        return ["127.0.0.1"]

    # ---- watching -----------------------------------------------------------------
    def _changed(self, obj: dict) -> None:
        self._dirty.set()

    def _changed_update(self, old: dict, new: dict) -> None:
        self._dirty.set()

    async def _sync_loop(self) -> None:
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            try:
                self.sync()
            except Exception:
                log.exception("sync failed; trying again")
                await asyncio.sleep(0.5)
                self._dirty.set()

    def ours(self) -> list[dict]:
        ingress_class = self.classes.get(self.config.ingress_class)
        default = ingress_class is not None and is_default_class(ingress_class)
        return [i for i in self.ingresses.list() if serves(i, self.config.ingress_class, default)]

    def sync(self) -> None:
        ours = self.ours()
        services = {key_of(s): s for s in self.services.list()}
        endpoints = {key_of(e): e for e in self.endpoints.list()}
        table = build_table(ours, services, endpoints)
        self.tls.update(ours, {key_of(s): s for s in self.secrets.list()})
        self.table = table
        self.proxy.prune(table.backends())
        self.serving = {key_of(i) for i in ours}
        for ing in self.ingresses.list():
            if status.needs_update(ing, self.config.publish_ips, key_of(ing) in self.serving):
                self.queue.add(key_of(ing))

    async def _write(self, key: object) -> None:
        ing = self.ingresses.get(str(key))
        if ing is None:
            return
        serving = str(key) in self.serving
        ips = self.config.publish_ips
        if not status.needs_update(ing, ips, serving):
            return
        entries = status.desired(ing, ips, serving)
        meta = ing["metadata"]
        patch = {"status": {"loadBalancer": {"ingress": entries or None}}}
        try:
            await self.api.patch(
                INGRESSES, meta["name"], patch, "merge", meta["namespace"], subresource="status"
            )
        except NotFound:
            return
        log.info("ingress %s: address %s", key, ",".join(e["ip"] for e in entries) or "<none>")
