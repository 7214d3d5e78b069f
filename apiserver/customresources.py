"""The dynamic part of the served API: the resources of every CustomResourceDefinition.

Each apiserver process (and each worker of one) learns the CRDs from etcd with its own
list + watch, so all of them agree within a watch round trip, whoever wrote the CRD.
Request routing, discovery, tables and OpenAPI read `CustomResources.resources()`.

It also runs the CRD's cleanup, as kube-apiextensions-apiserver's finalizer controller:
a CRD marked for deletion first has every object of its kind deleted, then its
`customresourcecleanup` finalizer removed, which lets the store delete it."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import logging
import re

from api import apiextensions, errors
from api.apiextensions import CLEANUP_FINALIZER, CustomResource
from api.resources import CUSTOMRESOURCEDEFINITIONS, Resource
from apiserver.options import DeleteOptions, WriteOptions
from apiserver.registry import Registry
from apiserver.requestinfo import RequestInfo
from apiserver.storage import Compacted, Storage, prefix_key

log = logging.getLogger(__name__)

_VERSION = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")


def version_priority(version: str) -> tuple:
    """Kubernetes' version order: GA before beta before alpha, higher numbers first,
    anything else last (alphabetically)."""
    m = _VERSION.match(version)
    if m is None:
        return (3, 0, 0, version)
    major, stage, minor = int(m.group(1)), m.group(2), int(m.group(3) or 0)
    rank = {None: 0, "beta": 1, "alpha": 2}[stage]
    return (rank, -major, -minor, version)


class CustomResources:
    """What this process currently serves for CRDs, kept current by a watch."""

    def __init__(self, storage: Storage, registry: Registry) -> None:
        self.storage = storage
        self.registry = registry
        self._crds: dict[str, dict] = {}
        self._served: dict[tuple[str, str, str], CustomResource] = {}
        self._ordered: tuple[CustomResource, ...] = ()
        self._task: asyncio.Task | None = None
        self._cleanups: dict[str, asyncio.Task] = {}
        self.changed = asyncio.Event()  # set on every change (tests, OpenAPI caches)
        self.generation = 0

    # ---- reads -------------------------------------------------------------------

    def resources(self) -> tuple[CustomResource, ...]:
        return self._ordered

    def find(self, group: str, version: str, plural: str) -> CustomResource | None:
        return self._served.get((group, version, plural))

    def terminating(self, resource: Resource) -> bool:
        """Whether the resource's CRD is being deleted (its objects are going)."""
        if not isinstance(resource, CustomResource):
            return False
        crd = self._crds.get(resource.crd_name)
        return bool(crd and crd["metadata"].get("deletionTimestamp"))

    def storage_resource(self, resource: Resource) -> CustomResource | None:
        """The storage version's resource of a served custom resource."""
        if not isinstance(resource, CustomResource):
            return None
        crd = self._crds.get(resource.crd_name)
        if crd is None:
            return None
        for r in apiextensions.resources_for(crd):
            if r.version == r.storage_version:
                return r
        return None

    # ---- learning ----------------------------------------------------------------

    def learn(self, crd: dict) -> None:
        """Serve (or stop serving) what `crd` now says; called from the watch and,
        for this process' own writes, at once."""
        name = crd["metadata"]["name"]
        old = self._crds.get(name)
        if old is not None and int(old["metadata"].get("resourceVersion", 0)) > int(
            crd["metadata"].get("resourceVersion", 0)
        ):
            return  # an older state than what we know
        self._crds[name] = crd
        self._rebuild()
        if crd["metadata"].get("deletionTimestamp") and CLEANUP_FINALIZER in (
            crd["metadata"].get("finalizers") or []
        ):
            self._start_cleanup(name)

    def forget(self, name: str) -> None:
        if self._crds.pop(name, None) is not None:
            self._rebuild()

    def _rebuild(self) -> None:
        served: dict[tuple[str, str, str], CustomResource] = {}
        ordered: list[CustomResource] = []
        for name in sorted(self._crds):
            crd = self._crds[name]
            if not apiextensions.is_condition_true(crd, apiextensions.ESTABLISHED):
                continue
            found = sorted(
                apiextensions.resources_for(crd), key=lambda r: version_priority(r.version)
            )
            for r in found:
                served[(r.group, r.version, r.plural)] = r
                ordered.append(r)
        self._served, self._ordered = served, tuple(ordered)
        self.generation += 1
        self.changed.set()
        self.changed = asyncio.Event()

    # ---- the watch ---------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="crd watch")

    async def ready(self) -> None:
        """Wait (briefly) until the first list is in."""
        for _ in range(50):
            if self.generation:
                return
            await asyncio.sleep(0.05)

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *self._cleanups.values()) if t is not None]
        for t in tasks:
            t.cancel()
        for t in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await t

    async def _run(self) -> None:
        prefix = prefix_key(CUSTOMRESOURCEDEFINITIONS.storage_resource)
        delay = 0.2
        while True:
            try:
                items, revision = await self.storage.list(prefix)
                names = {o["metadata"]["name"] for o in items}
                for gone in set(self._crds) - names:
                    self._crds.pop(gone)
                for crd in items:
                    self._crds.pop(crd["metadata"]["name"], None)
                    self.learn(crd)
                if not items:
                    self._rebuild()
                delay = 0.2
                async for ev in self.storage.watch(prefix, revision + 1):
                    if ev.type == "DELETED":
                        self.forget(ev.obj["metadata"]["name"])
                    else:
                        self.learn(ev.obj)
            except asyncio.CancelledError:
                raise
            except Compacted:
                continue
            except Exception as err:  # etcd away: relist after a pause
                log.warning("CRD watch failed (%s); relisting in %.1fs", err, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    # ---- cleanup of a deleted CRD ------------------------------------------------

    def _start_cleanup(self, name: str) -> None:
        task = self._cleanups.get(name)
        if task is None or task.done():
            self._cleanups[name] = asyncio.create_task(
                self._cleanup(name), name=f"crd cleanup {name}"
            )

    async def _cleanup(self, name: str) -> None:
        crd_info = RequestInfo(CUSTOMRESOURCEDEFINITIONS, None, name, None)
        for _attempt in range(600):  # bounded: objects with finalizers may take a while
            try:
                crd = await self.registry.get(crd_info)
            except errors.NotFound:
                return
            if CLEANUP_FINALIZER not in (crd["metadata"].get("finalizers") or []):
                return
            if not apiextensions.is_condition_true(crd, apiextensions.TERMINATING):
                crd = await self._mark_terminating(crd) or crd
            storage_res = next(
                (r for r in apiextensions.resources_for(crd) if r.version == r.storage_version),
                None,
            )
            remaining = 0
            if storage_res is not None:
                remaining = await self._delete_objects(storage_res)
            if remaining == 0:
                new = copy.deepcopy(crd)
                new["metadata"]["finalizers"] = [
                    f for f in crd["metadata"]["finalizers"] if f != CLEANUP_FINALIZER
                ]
                try:
                    await self.registry.write_update(crd_info, new, crd, None, WriteOptions())
                except errors.NotFound:
                    return
                except errors.Conflict:
                    continue
                return
            await asyncio.sleep(1.0)

    async def _mark_terminating(self, crd: dict) -> dict | None:
        """The Terminating condition Kubernetes shows while the objects go."""
        status = copy.deepcopy(crd.get("status") or {})
        apiextensions.set_condition(
            status,
            apiextensions.condition(
                apiextensions.TERMINATING,
                "True",
                "InstanceDeletionInProgress",
                "CustomResource deletion is in progress",
            ),
        )
        info = RequestInfo(CUSTOMRESOURCEDEFINITIONS, None, crd["metadata"]["name"], "status")
        try:
            return await self.registry.write_update(
                info, {**crd, "status": status}, crd, None, WriteOptions()
            )
        except (errors.NotFound, errors.Conflict):
            return None

    async def _delete_objects(self, res: CustomResource) -> int:
        items, _ = await self.storage.list(prefix_key(res.storage_resource))
        for item in items:
            md = item["metadata"]
            if md.get("deletionTimestamp"):
                continue
            info = RequestInfo(res, md.get("namespace"), md["name"], None)
            with contextlib.suppress(errors.NotFound):
                await self.registry.delete(info, DeleteOptions())
        left, _ = await self.storage.list(prefix_key(res.storage_resource))
        return len(left)
