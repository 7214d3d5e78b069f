"""Taint-based eviction (Kubernetes' NoExecute taint manager): a pod on a node with a
NoExecute taint it does not tolerate is deleted at once; one it tolerates for
`tolerationSeconds` is deleted when that time, counted from the taint's `timeAdded`,
runs out. Deletion is graceful; the pod's controller makes a replacement, and the
pod GC finishes off pods stuck terminating on a dead node."""

from __future__ import annotations

import logging
import time
from typing import Any

from api.errors import Conflict, NotFound
from api.resources import NODES, PODS
from client.events import NORMAL
from controller.tainteviction.deadline import eviction_deadline, no_execute_taints
from controller.util.base import Context, Controller
from controller.util.controllerref import meta
from controller.util.pods import is_terminating, node_name

log = logging.getLogger(__name__)

Obj = dict[str, Any]


class TaintEvictionController(Controller):
    name = "tainteviction"
    default_workers = 4

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        informers = ctx.informers
        self.nodes = informers.informer(NODES)
        self.pods = informers.informer(PODS)
        self.pods_by_node = informers.index(PODS, "node", lambda p: node_name(p) or None)
        self.nodes.add_handler(self._node_added, self._node_updated)
        self.pods.add_handler(self._pod_added, self._pod_updated)
        self.watched = [self.nodes, self.pods]
        self._first_seen: dict[tuple[str, str], float] = {}  # (node, taint key) → time

    def _node_added(self, node: Obj) -> None:
        if no_execute_taints(node):
            self._enqueue_pods_on(node)

    def _node_updated(self, old: Obj, new: Obj) -> None:
        if no_execute_taints(old) != no_execute_taints(new):
            self._enqueue_pods_on(new)

    def _enqueue_pods_on(self, node: Obj) -> None:
        name = meta(node).get("name") or ""
        now = time.time()
        keys = {t.get("key", "") for t in no_execute_taints(node)}
        for key in keys:
            self._first_seen.setdefault((name, key), now)
        for stale in [k for k in self._first_seen if k[0] == name and k[1] not in keys]:
            del self._first_seen[stale]
        for pod in self.pods_by_node.list(name):
            self.enqueue(pod)

    def _pod_added(self, pod: Obj) -> None:
        if node_name(pod):
            self.enqueue(pod)

    def _pod_updated(self, old: Obj, new: Obj) -> None:
        old_spec, new_spec = old.get("spec") or {}, new.get("spec") or {}
        if node_name(new) and (
            node_name(old) != node_name(new)
            or old_spec.get("tolerations") != new_spec.get("tolerations")
        ):
            self.enqueue(new)

    async def reconcile(self, key: str) -> None:
        pod = self.pods.get(key)
        if pod is None or is_terminating(pod) or not node_name(pod):
            return
        node = self.nodes.get(node_name(pod))
        taints = no_execute_taints(node) if node is not None else []
        if not taints:
            return
        first_seen = {k: t for (n, k), t in self._first_seen.items() if n == node_name(pod)}
        now = time.time()
        tolerations = (pod.get("spec") or {}).get("tolerations") or []
        deadline = eviction_deadline(tolerations, taints, first_seen, now)
        if deadline is None:
            return
        if deadline > now:
            self.enqueue_after(key, deadline - now + 0.05)
            return
        md = meta(pod)
        log.info("evicting pod %s/%s from node %s", md.get("namespace"), md.get("name"),
                 node_name(pod))  # fmt: skip
        await self.events.record(
            pod,
            NORMAL,
            "TaintManagerEviction",
            f"Marking for deletion Pod {md.get('namespace')}/{md.get('name')}",
        )
        try:
            await self.api.delete(
                PODS, md["name"], md.get("namespace"), preconditions={"uid": md.get("uid")}
            )
        except (NotFound, Conflict):
            pass
