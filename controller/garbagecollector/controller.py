"""The garbage collector: ownerReferences cascade, as Kubernetes' GC does.

- Background (the default): the owner goes first; then each dependent whose owners
  are all gone is deleted.
- Foreground: the owner stays with the `foregroundDeletion` finalizer while its
  dependents are deleted; once no dependent with `blockOwnerDeletion` remains, the
  finalizer is removed and the owner goes.
- Orphan: the owner's reference is removed from each dependent, then the `orphan`
  finalizer, and the dependents live on.

The graph (graph.py) comes from informers on every kind that can be owned; before
deleting anything the collector re-reads the object and confirms absent owners
with the API, so a lagging cache never causes a deletion."""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Any

from api import apiextensions
from api.errors import Conflict, NotFound
from api.resources import CUSTOMRESOURCEDEFINITIONS, RESOURCES, Resource
from client.discovery import find_resource
from controller.garbagecollector.graph import FOREGROUND, ORPHAN, Graph, GraphNode, WorkItem
from controller.util.base import Context, Controller
from controller.util.controllerref import meta, uid_of

log = logging.getLogger(__name__)

Obj = dict[str, Any]
# Kinds the collector does not watch: events come and go in bulk and own nothing;
# namespaces are finalized by the apiserver itself.
IGNORED = {"events", "namespaces"}
ABSENT_CACHE_SIZE = 1024


def collected_resources() -> list[Resource]:
    return [
        r
        for r in RESOURCES
        if r.plural not in IGNORED and {"list", "watch", "delete"} <= set(r.verbs)
    ]


class GarbageCollector(Controller):
    name = "garbagecollector"
    default_workers = 10

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.graph = Graph()
        self._synced = False
        self._absent: OrderedDict[str, None] = OrderedDict()  # owner uids known gone
        for res in collected_resources():
            informer = ctx.informers.informer(res)
            informer.add_handler(
                lambda obj, res=res: self._observe(obj, res),
                lambda _old, new, res=res: self._observe(new, res),
                self._forget,
            )
            self.watched.append(informer)
        # Objects of custom kinds own and are owned too: watch each CRD's storage
        # version as it appears (Kubernetes' collector follows discovery likewise).
        self._custom: set[str] = set()
        crds = ctx.informers.informer(CUSTOMRESOURCEDEFINITIONS)
        crds.add_handler(self._crd_seen, lambda _old, new: self._crd_seen(new), lambda _o: None)

    def _crd_seen(self, crd: Obj) -> None:
        for res in apiextensions.resources_for(crd):
            if res.version != res.storage_version or res.storage_resource in self._custom:
                continue
            self._custom.add(res.storage_resource)
            informer = self.ctx.informers.informer(res)
            informer.add_handler(
                lambda obj, res=res: self._observe(obj, res),
                lambda _old, new, res=res: self._observe(new, res),
                self._forget,
            )

    # ---- graph events --------------------------------------------------------
    def _observe(self, obj: Obj, res: Resource) -> None:
        self._queue_all(self.graph.upsert(obj, res))

    def _forget(self, obj: Obj) -> None:
        self._queue_all(self.graph.remove(obj))

    def _queue_all(self, work: list[WorkItem]) -> None:
        if self._synced:  # before that, started() looks at the whole graph once
            for item in work:
                self.queue.add(item)

    async def started(self) -> None:
        self._synced = True
        self._queue_all(self.graph.initial_work())

    # ---- work ----------------------------------------------------------------
    async def reconcile(self, item: WorkItem) -> None:
        action, uid = item
        node = self.graph.nodes.get(uid)
        if node is None:
            return
        if action == "orphan":
            await self._orphan_dependents(node)
        else:
            await self._attempt_to_delete(node)

    async def _attempt_to_delete(self, node: GraphNode) -> None:
        if node.deleting and not node.deleting_dependents:
            return  # already on its way out
        try:
            latest = await self.api.get(node.res, node.name, node.namespace)
        except NotFound:
            return
        if uid_of(latest) != node.uid:
            return
        fresh = GraphNode.of(latest, node.res)
        if fresh.deleting_dependents:
            await self._finish_foreground(fresh)
            return
        if not fresh.owners:
            return
        solid, dangling, waiting = await self._classify(fresh)
        if solid:
            if dangling or waiting:  # keep the live owners, drop the rest
                await self._remove_owner_refs(fresh, [r["uid"] for r in dangling + waiting])
            return
        if waiting and self.graph.dependents(fresh.uid):
            # Its owner waits for it, and it has dependents of its own: delete it in
            # the foreground too, so the wait covers the whole tree.
            if any(d.deleting_dependents for d in self.graph.dependents(fresh.uid)):
                await self._unblock_owners(fresh)
            await self._delete(fresh, "Foreground")
            return
        if ORPHAN in fresh.finalizers:
            policy = "Orphan"
        elif FOREGROUND in fresh.finalizers:
            policy = "Foreground"
        else:
            policy = "Background"
        await self._delete(fresh, policy)

    async def _classify(self, node: GraphNode) -> tuple[list[Obj], list[Obj], list[Obj]]:
        """Owner references split into solid (owner exists), dangling (owner gone) and
        waiting (owner in foreground deletion)."""
        solid: list[Obj] = []
        dangling: list[Obj] = []
        waiting: list[Obj] = []
        for ref in node.owners:
            owner = self.graph.nodes.get(ref["uid"])
            if owner is not None:
                (waiting if owner.deleting_dependents else solid).append(ref)
                continue
            state = await self._owner_state(node, ref)
            {"solid": solid, "dangling": dangling, "waiting": waiting}[state].append(ref)
        return solid, dangling, waiting

    async def _owner_state(self, node: GraphNode, ref: Obj) -> str:
        """Ask the API about an owner the graph does not know (the cache may lag)."""
        uid = ref["uid"]
        if uid in self._absent:
            return "dangling"
        res = await find_resource(self.api, str(ref.get("apiVersion")), str(ref.get("kind")))
        if res is None:
            log.warning("%s %s/%s: owner kind %s/%s is not served; keeping it",
                        node.res.kind, node.namespace, node.name,
                        ref.get("apiVersion"), ref.get("kind"))  # fmt: skip
            return "solid"
        namespace = node.namespace if res.namespaced else None
        if res.namespaced and not namespace:
            return "solid"  # a namespaced owner of a cluster-scoped object: invalid, leave it
        try:
            owner = await self.api.get(res, str(ref.get("name")), namespace)
        except NotFound:
            self._remember_absent(uid)
            return "dangling"
        if uid_of(owner) != uid:
            self._remember_absent(uid)
            return "dangling"
        return "waiting" if GraphNode.of(owner, res).deleting_dependents else "solid"

    def _remember_absent(self, uid: str) -> None:
        self._absent[uid] = None
        while len(self._absent) > ABSENT_CACHE_SIZE:
            self._absent.popitem(last=False)

    async def _finish_foreground(self, node: GraphNode) -> None:
        """A foreground owner goes once nothing blocks it; until then, push its blocking
        dependents along."""
        blocking = self.graph.blocking_dependents(node.uid)
        if not blocking:
            await self._remove_finalizer(node, FOREGROUND)
            return
        for dep in blocking:
            if not dep.deleting_dependents:
                self.queue.add(("delete", dep.uid))

    async def _orphan_dependents(self, node: GraphNode) -> None:
        if not node.orphaning:
            return
        for dep in self.graph.dependents(node.uid):
            await self._remove_owner_refs(dep, [node.uid])
        await self._remove_finalizer(node, ORPHAN)

    # ---- writes --------------------------------------------------------------
    async def _delete(self, node: GraphNode, policy: str) -> None:
        log.info("deleting %s %s/%s (propagation %s)", node.res.kind, node.namespace,
                 node.name, policy)  # fmt: skip
        try:
            await self.api.delete(
                node.res,
                node.name,
                node.namespace,
                propagation_policy=policy,
                preconditions={"uid": node.uid},
            )
        except (NotFound, Conflict):
            pass  # gone, or a namesake now: nothing of ours to delete

    async def _remove_owner_refs(self, node: GraphNode, owner_uids: list[str]) -> None:
        patch = {
            "metadata": {
                "ownerReferences": [{"$patch": "delete", "uid": u} for u in owner_uids],
                "uid": node.uid,
            }
        }
        try:
            await self.api.patch(node.res, node.name, patch, "strategic", node.namespace)
        except NotFound:
            pass

    async def _unblock_owners(self, node: GraphNode) -> None:
        """Clear blockOwnerDeletion on its references, breaking a foreground cycle."""
        refs = [
            {"uid": r["uid"], "blockOwnerDeletion": False}
            for r in node.owners
            if r.get("blockOwnerDeletion")
        ]
        if refs:
            patch = {"metadata": {"ownerReferences": refs, "uid": node.uid}}
            try:
                await self.api.patch(node.res, node.name, patch, "strategic", node.namespace)
            except NotFound:
                pass

    async def _remove_finalizer(self, node: GraphNode, finalizer: str) -> None:
        for attempt in range(5):
            try:
                obj = await self.api.get(node.res, node.name, node.namespace)
            except NotFound:
                return
            md = meta(obj)
            if md.get("uid") != node.uid or finalizer not in (md.get("finalizers") or []):
                return
            md["finalizers"] = [f for f in md["finalizers"] if f != finalizer]
            try:
                await self.api.update(node.res, obj)
                log.info("removed %s from %s %s/%s", finalizer, node.res.kind, node.namespace,
                         node.name)  # fmt: skip
                return
            except NotFound:
                return
            except Conflict:
                if attempt == 4:
                    raise
