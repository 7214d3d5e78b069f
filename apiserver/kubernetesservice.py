"""The `kubernetes` Service in `default`, its Endpoints and EndpointSlice, kept as
kube-apiserver's kubernetesservice controller keeps them.

Issue 11: they were created once at start, so deleting the Service was permanent
until a restart, and a restart could then fail ("provided IP is already allocated")
when its ClusterIP was held. Now, as in Kubernetes:

- every `ENDPOINT_INTERVAL` (10 s, kube-apiserver's endpoint reconciler interval)
  the Service is created if missing, at the first address of the service range with
  port 443 `https` → the secure port, and so are the Endpoints and EndpointSlice
  pointing at this apiserver (`--advertise-address`);
- at start, the Service's ports and type are corrected ("ports and type will be
  corrected only during start", as Kubernetes), and so are the endpoints' ports;
- the endpoints list every apiserver, as Kubernetes' `lease` endpoint reconciler
  (--endpoint-reconciler-type=lease, its default) keeps them: at every turn this
  apiserver renews its lease (apiserver/masterleases: a 15 s TTL under
  /registry/masterleases/<advertise-address>) and, when the set of addresses with a
  live lease is not the one the Endpoints list, writes that set (sorted) into the
  Endpoints and the EndpointSlice. So a dead apiserver leaves them within its lease's
  TTL plus a turn; one stopping deletes its lease and leaves them at once. Several
  apiservers on one address (the tests' throwaway ones, each on its own port) share a
  lease and so do not rewrite each other's endpoints;
- a failure is logged ("unable to sync kubernetes service") and retried: it never
  stops the apiserver from starting.

Beyond Kubernetes' loop, a deletion is repaired at once: the apiserver's watch cache
tells it when one of the three objects is deleted (and, while the Service is
missing, when any Service is, which may free its address). An address held by an
allocation whose Service is gone (a leak) is released and taken again, as
Kubernetes' ClusterIP repair controller would. The cost is three reads every 10 s
and a look at the name of each deleted Service, Endpoints and EndpointSlice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

from api import errors
from api.resources import ENDPOINTS, ENDPOINTSLICES, SERVICES, Resource
from apiserver.allocator import Allocator, ip_key
from apiserver.config import Config
from apiserver.masterleases import MasterLeases
from apiserver.options import WriteOptions
from apiserver.registry import Registry
from apiserver.requestinfo import RequestInfo
from apiserver.storage import Compacted
from apiserver.watchcache import WatchCache

log = logging.getLogger(__name__)

NAMESPACE, NAME = "default", "kubernetes"
PORT_NAME = "https"
SERVICE_PORT = 443
ENDPOINT_INTERVAL = 10.0  # seconds, kube-apiserver's DefaultEndpointReconcilerInterval
FIELD_MANAGER = "kube-apiserver"
WATCHED = (SERVICES, ENDPOINTS, ENDPOINTSLICES)
STOP_SECONDS = 3.0  # how long a stopping apiserver tries to take itself out

Obj = dict[str, Any]
Differs = Callable[[Obj, Obj], bool]


def advertised_address(config: Config) -> str:
    """The address the Endpoints point at: `--advertise-address`, else the bind
    address, else loopback."""
    if config.advertise_address:
        return config.advertise_address
    return "127.0.0.1" if config.bind_address in ("0.0.0.0", "::", "") else config.bind_address


def service_ports(target_port: int) -> list[Obj]:
    return [{"name": PORT_NAME, "port": SERVICE_PORT, "protocol": "TCP", "targetPort": target_port}]


def kubernetes_service(cluster_ip: str, target_port: int) -> Obj:
    return {
        "metadata": {
            "name": NAME,
            "namespace": NAMESPACE,
            "labels": {"component": "apiserver", "provider": "kubernetes"},
        },
        "spec": {
            "clusterIP": cluster_ip,
            "type": "ClusterIP",
            "sessionAffinity": "None",
            "ports": service_ports(target_port),
        },
    }


def endpoint_ports(port: int) -> list[Obj]:
    return [{"name": PORT_NAME, "port": port, "protocol": "TCP"}]


def kubernetes_endpoints(addresses: list[str], ports: list[Obj]) -> Obj:
    return {
        "metadata": {
            "name": NAME,
            "namespace": NAMESPACE,
            "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"},
        },
        "subsets": [{"addresses": [{"ip": a} for a in addresses], "ports": ports}],
    }


def kubernetes_endpoint_slice(addresses: list[str], ports: list[Obj]) -> Obj:
    """The slice the Endpoints adapter writes beside them: one endpoint per address."""
    return {
        "metadata": {
            "name": NAME,
            "namespace": NAMESPACE,
            "labels": {"kubernetes.io/service-name": NAME},
        },
        "addressType": "IPv6" if addresses and ":" in addresses[0] else "IPv4",
        "endpoints": [{"addresses": [a], "conditions": {"ready": True}} for a in addresses],
        "ports": ports,
    }


def reconciled_endpoints(
    current: Obj | None, addresses: list[str], ports: list[Obj], fix_ports: bool
) -> Obj:
    """The lease reconciler's checkEndpointSubsetFormatWithLease: one subset whose
    addresses are exactly the leased ones, else that subset rewritten (with our ports);
    the ports themselves are corrected only when `fix_ports` (at start)."""
    if current is None:
        return kubernetes_endpoints(addresses, ports)
    subsets = current.get("subsets") or []
    listed = [a.get("ip") for a in (subsets[0].get("addresses") or [])] if subsets else []
    if len(subsets) != 1 or sorted(listed) != addresses or subsets[0].get("notReadyAddresses"):
        return {**current, "subsets": kubernetes_endpoints(addresses, ports)["subsets"]}
    if fix_ports and subsets[0].get("ports") != ports:
        return {**current, "subsets": [{**subsets[0], "ports": ports}]}
    return current


def service_needs_update(current: Obj, desired: Obj) -> bool:
    """Kubernetes' getMasterServiceUpdateIfNeeded: the ports and the type."""
    spec, want = current.get("spec") or {}, desired["spec"]
    ports = [
        {k: p.get(k) for k in ("name", "port", "protocol", "targetPort")}
        for p in spec.get("ports") or []
    ]
    return ports != want["ports"] or spec.get("type") != want["type"]


def slice_differs(current: Obj, desired: Obj) -> bool:
    return any(current.get(k) != desired[k] for k in ("addressType", "endpoints", "ports"))


def _ours(obj: Obj) -> bool:
    meta = obj.get("metadata") or {}
    return meta.get("name") == NAME and meta.get("namespace") == NAMESPACE


class KubernetesService:
    """Keeps default/kubernetes; `start` reconciles once (never raising), then loops."""

    def __init__(
        self,
        registry: Registry,
        cache: WatchCache,
        allocator: Allocator,
        config: Config,
        interval: float = ENDPOINT_INTERVAL,
    ) -> None:
        self.registry = registry
        self.cache = cache
        self.allocator = allocator
        self.interval = interval
        self.cluster_ip = allocator.kubernetes_ip
        self.port = config.port
        self.address = advertised_address(config)
        self.leases = MasterLeases(registry.storage)
        self.service_missing = False
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._warned_ip: str | None = None

    # ---- lifecycle ------------------------------------------------------------------
    async def start(self) -> None:
        revision = await self.registry.storage.revision()
        await self.sync(fix_spec=True)
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self._run(), name="kubernetes service")]
        self._tasks += [
            loop.create_task(self._follow(res, revision), name=f"kubernetes service {res.plural}")
            for res in WATCHED
        ]

    async def stop(self) -> None:
        started = bool(self._tasks)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        if started:
            try:
                async with asyncio.timeout(STOP_SECONDS):
                    await self.remove_own_lease()
            except Exception as err:  # the lease ends by itself within its TTL
                log.warning("could not remove this apiserver's endpoint lease: %s", err)

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.interval):
                    await self._wake.wait()
            self._wake.clear()
            await self.sync()

    async def _follow(self, res: Resource, revision: int) -> None:
        """Wakes the loop when one of ours is deleted (or any Service while ours is
        missing: its address may be free again)."""
        while True:
            try:
                async for ev, _progress in self.cache.events(res.plural, revision):
                    revision = ev.revision
                    if ev.type != "DELETED":
                        continue
                    if _ours(ev.obj) or (res is SERVICES and self.service_missing):
                        self._wake.set()
            except asyncio.CancelledError:
                raise
            except Compacted:
                revision = await self.registry.storage.revision()
                self._wake.set()  # what happened meanwhile is seen by a sync
            except Exception as err:
                log.warning("kubernetes service: following %s failed: %s", res.plural, err)
                await asyncio.sleep(1)
                with contextlib.suppress(Exception):
                    revision = await self.registry.storage.revision()
                self._wake.set()

    # ---- the sync --------------------------------------------------------------------
    async def sync(self, fix_spec: bool = False) -> None:
        """Kubernetes' UpdateKubernetesService: the Service, then (ReconcileEndpoints)
        this apiserver's lease renewed and the endpoints set to every leased address;
        what exists of the Service and the ports is corrected only when `fix_spec`."""
        try:
            await self._sync_service(fix_spec)
            # renewed first, whatever happens below: at least the others list us
            await self.leases.update(self.address)
            await self._sync_endpoints(await self.leases.addresses(), fix_spec)
        except asyncio.CancelledError:
            raise
        except Exception as err:
            log.error("unable to sync kubernetes service: %s", err)

    async def _sync_endpoints(self, addresses: list[str], fix_ports: bool) -> None:
        if not addresses:
            raise RuntimeError(
                "no API server IP addresses were listed in storage, refusing to erase all "
                "endpoints for the kubernetes Service"
            )
        ports = endpoint_ports(self.port)
        current = await self._get(ENDPOINTS)
        wanted = reconciled_endpoints(current, addresses, ports, fix_ports)
        if current is None:
            with contextlib.suppress(errors.AlreadyExists):
                await self._write(ENDPOINTS, wanted)
                log.info("created Endpoints default/kubernetes: %s", addresses)
        elif wanted is not current:
            log.info("resetting endpoints for the kubernetes service to %s", addresses)
            wanted = await self._write(ENDPOINTS, wanted, update=True)
        subset = (wanted.get("subsets") or [{}])[0]
        listed = [a["ip"] for a in subset.get("addresses") or []]
        await self._sync_object(
            ENDPOINTSLICES,
            kubernetes_endpoint_slice(listed, subset.get("ports") or ports),
            slice_differs,
            True,
        )

    async def remove_own_lease(self) -> None:
        """At shutdown (Kubernetes' RemoveEndpoints): our lease deleted and the
        endpoints set to the others at once, rather than after our TTL."""
        await self.leases.remove(self.address)
        others = await self.leases.addresses()
        if others:
            await self._sync_endpoints(others, False)

    async def _get(self, res: Resource) -> Obj | None:
        try:
            return await self.registry.get(RequestInfo(res, NAMESPACE, NAME, None))
        except errors.NotFound:
            return None

    async def _sync_service(self, fix_spec: bool) -> None:
        desired = kubernetes_service(self.cluster_ip, self.port)
        current = await self._get(SERVICES)
        self.service_missing = current is None
        if current is None:
            await self._create_service(desired)
            return
        held = (current.get("spec") or {}).get("clusterIP")
        if held != self.cluster_ip and held != self._warned_ip:
            self._warned_ip = held
            log.warning(
                "the kubernetes service has clusterIP %s, not %s (the first address of the "
                "service range); delete it to have it made again",
                held,
                self.cluster_ip,
            )
        if fix_spec and service_needs_update(current, desired):
            log.warning("resetting the kubernetes service's ports and type to %s", desired["spec"])
            updated = {**current, "spec": {**current["spec"], **desired["spec"]}}
            updated["spec"]["clusterIP"] = held
            updated["spec"].pop("clusterIPs", None)
            await self._write(SERVICES, updated, update=True)

    async def _create_service(self, desired: Obj) -> None:
        for _attempt in range(2):
            try:
                await self._write(SERVICES, desired)
                self.service_missing = False
                log.info("created the kubernetes service at %s", self.cluster_ip)
                return
            except errors.AlreadyExists:
                self.service_missing = False
                return
            except errors.Invalid as err:
                if "already allocated" not in str(err):
                    raise
                released = await self.registry.storage.release_orphan(ip_key(self.cluster_ip))
                if not released:
                    raise RuntimeError(
                        f"{err.message}: held by another Service (the kubernetes service is "
                        "made again once that Service is deleted)"
                    ) from err
                log.warning(
                    "released %s: it was allocated to a Service that no longer exists",
                    self.cluster_ip,
                )

    async def _sync_object(self, res: Resource, desired: Obj, differs: Differs, fix: bool) -> None:
        current = await self._get(res)
        if current is None:
            with contextlib.suppress(errors.AlreadyExists):
                await self._write(res, desired)
                log.info("created %s default/kubernetes", res.kind)
            return
        if fix and differs(current, desired):
            updated = {**current, **{k: v for k, v in desired.items() if k != "metadata"}}
            await self._write(res, updated, update=True)

    async def _write(self, res: Resource, obj: Obj, update: bool = False) -> Obj:
        opts = WriteOptions(field_manager=FIELD_MANAGER)
        if update:
            return await self.registry.update(RequestInfo(res, NAMESPACE, NAME, None), obj, opts)
        return await self.registry.create(RequestInfo(res, NAMESPACE, None, None), obj, opts)
