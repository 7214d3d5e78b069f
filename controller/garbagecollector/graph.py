"""The garbage collector's view of ownership: every watched object by uid, and who
depends on whom (Kubernetes' GraphBuilder, without the I/O). Each change to the graph
says which objects now need a look: ("delete", uid) — should it be collected, or is
it a foreground owner whose dependents may be gone — and ("orphan", uid) — an owner
deleted with the orphan finalizer whose dependents must be let go."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from api.resources import Resource

Obj = dict[str, Any]
WorkItem = tuple[str, str]  # ("delete" | "orphan", uid)

FOREGROUND = "foregroundDeletion"
ORPHAN = "orphan"


@dataclass
class GraphNode:
    uid: str
    res: Resource
    namespace: str | None
    name: str
    owners: list[Obj] = field(default_factory=list)
    deleting: bool = False
    finalizers: tuple[str, ...] = ()

    @classmethod
    def of(cls, obj: Obj, res: Resource) -> GraphNode:
        md = obj.get("metadata") or {}
        refs = [r for r in md.get("ownerReferences") or [] if isinstance(r, dict) and r.get("uid")]
        return cls(
            uid=md.get("uid") or "",
            res=res,
            namespace=md.get("namespace"),
            name=md.get("name") or "",
            owners=refs,
            deleting=bool(md.get("deletionTimestamp")),
            finalizers=tuple(md.get("finalizers") or ()),
        )

    @property
    def deleting_dependents(self) -> bool:
        """Foreground deletion: it goes once its blocking dependents are gone."""
        return self.deleting and FOREGROUND in self.finalizers

    @property
    def orphaning(self) -> bool:
        return self.deleting and ORPHAN in self.finalizers

    def owner_uids(self) -> set[str]:
        return {r["uid"] for r in self.owners}

    def blocks(self, owner_uid: str) -> bool:
        return any(r["uid"] == owner_uid and r.get("blockOwnerDeletion") for r in self.owners)


class Graph:
    def __init__(self) -> None:
        self.nodes: dict[str, GraphNode] = {}
        self._dependents: dict[str, set[str]] = {}

    def dependents(self, uid: str) -> list[GraphNode]:
        return [self.nodes[d] for d in self._dependents.get(uid, ()) if d in self.nodes]

    def blocking_dependents(self, uid: str) -> list[GraphNode]:
        return [d for d in self.dependents(uid) if d.blocks(uid)]

    def upsert(self, obj: Obj, res: Resource) -> list[WorkItem]:
        new = GraphNode.of(obj, res)
        if not new.uid:
            return []
        old = self.nodes.get(new.uid)
        self.nodes[new.uid] = new
        old_owners = old.owner_uids() if old else set()
        new_owners = new.owner_uids()
        for owner in old_owners - new_owners:
            self._unlink(owner, new.uid)
        for owner in new_owners - old_owners:
            self._dependents.setdefault(owner, set()).add(new.uid)
        work: list[WorkItem] = []
        if any(o not in self.nodes for o in new_owners):
            work.append(("delete", new.uid))  # an owner we have not seen: is it gone?
        if any(self.nodes[o].deleting_dependents for o in new_owners if o in self.nodes):
            work.append(("delete", new.uid))  # its owner waits for it to go
        if old is not None:
            for ref in old.owners:  # owners it stopped blocking may be free to go
                if ref.get("blockOwnerDeletion") and not new.blocks(ref["uid"]):
                    freed = self.nodes.get(ref["uid"])
                    if freed is not None and freed.deleting_dependents:
                        work.append(("delete", freed.uid))
        if new.orphaning and not (old and old.orphaning):
            work.append(("orphan", new.uid))
        if new.deleting_dependents and not (old and old.deleting_dependents):
            work += [("delete", d.uid) for d in self.dependents(new.uid)]
            work.append(("delete", new.uid))
        return _unique(work)

    def remove(self, obj: Obj) -> list[WorkItem]:
        uid = (obj.get("metadata") or {}).get("uid") or ""
        node = self.nodes.pop(uid, None)
        if node is None:
            return []
        for owner in node.owner_uids():
            self._unlink(owner, uid)
        work: list[WorkItem] = [("delete", d.uid) for d in self.dependents(uid)]
        for owner in node.owner_uids():
            owner_node = self.nodes.get(owner)
            if owner_node is not None and owner_node.deleting_dependents:
                work.append(("delete", owner))
        return _unique(work)

    def initial_work(self) -> list[WorkItem]:
        """What a freshly synced collector must look at: owners mid-deletion, and
        dependents whose owners it has never seen."""
        work: list[WorkItem] = []
        for node in self.nodes.values():
            if node.orphaning:
                work.append(("orphan", node.uid))
            if node.deleting_dependents:
                work.append(("delete", node.uid))
                work += [("delete", d.uid) for d in self.dependents(node.uid)]
            if any(o not in self.nodes for o in node.owner_uids()):
                work.append(("delete", node.uid))
        return _unique(work)

    def _unlink(self, owner: str, dependent: str) -> None:
        deps = self._dependents.get(owner)
        if deps is not None:
            deps.discard(dependent)
            if not deps:
                del self._dependents[owner]


def _unique(items: Iterable[WorkItem]) -> list[WorkItem]:
    return list(dict.fromkeys(items))
