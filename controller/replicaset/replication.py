"""The replication manager: core/v1 ReplicationControllers kept by the ReplicaSet
controller's own code, as Kubernetes' pkg/controller/replication is a thin adapter
over the ReplicaSet controller. The only differences are the resource (its
ownerReferences, events and status writes name a ReplicationController) and the
selector, a plain equality map instead of a metav1.LabelSelector."""

from __future__ import annotations

from typing import Any

from api.labels import LabelSelector, selector_from_set
from api.resources import REPLICATIONCONTROLLERS, Resource
from controller.replicaset.controller import ReplicaSetController

Obj = dict[str, Any]


class ReplicationManager(ReplicaSetController):
    name = "replicationcontroller"
    resource: Resource = REPLICATIONCONTROLLERS

    @staticmethod
    def selector_of(rs: Obj) -> LabelSelector:
        """labels.SelectorFromSet(spec.selector); validation refuses an empty map, so
        an empty one (never stored) would select nothing rather than every pod."""
        selector = (rs.get("spec") or {}).get("selector")
        if not isinstance(selector, dict) or not selector:
            return LabelSelector(nothing=True)
        return selector_from_set(selector)
