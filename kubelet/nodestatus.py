"""The node agent: registers the Node, renews its Lease, reports its status.

The Lease in kube-node-lease is the cheap heartbeat (every 10 s); the Node's status
is written when it changes (readiness, capacity, addresses) and otherwise once a
minute, as Kubernetes' kubelet does with leases enabled.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from typing import Any

from api.errors import AlreadyExists, ApiError, Conflict, NotFound
from api.resources import LEASES, NODES
from client.rest import AsyncClient
from kubelet import node as nodes

log = logging.getLogger(__name__)
LEASE_RENEW_SECONDS = 10.0
STATUS_CHECK_SECONDS = 10.0
STATUS_REPORT_SECONDS = 60.0

Readiness = Callable[[], tuple[bool, str]]  # (ready, why not)


class NodeAgent:
    def __init__(
        self,
        api: AsyncClient,
        facts: nodes.NodeFacts,
        capacity: Mapping[str, str],
        allocatable: Mapping[str, str],
        readiness: Readiness,
        pod_cidr: str | None = None,
    ) -> None:
        self.api = api
        self.pod_cidr = pod_cidr
        self.facts = facts
        self.capacity = dict(capacity)
        self.allocatable = dict(allocatable)
        self.readiness = readiness
        self.uid: str | None = None
        self._conditions: list[dict[str, Any]] = []
        self._reported: dict[str, Any] | None = None
        self._reported_at = 0.0
        self._lease: dict[str, Any] | None = None

    def _status(self) -> dict[str, Any]:
        ready, why = self.readiness()
        self._conditions = nodes.node_conditions(
            ready, self._conditions, message="" if ready else why
        )
        return nodes.node_status(self.facts, self.capacity, self.allocatable, self._conditions)

    async def register(self) -> dict[str, Any]:
        """Create our Node, or take over the existing one (a restarted kubelet)."""
        status = self._status()
        node = nodes.node_object(
            self.facts, self.capacity, self.allocatable, self._conditions, self.pod_cidr
        )
        try:
            created = await self.api.create(NODES, node)
            self.uid = created["metadata"]["uid"]
            self._reported, self._reported_at = nodes.comparable_status(status), time.monotonic()
            return created
        except AlreadyExists:
            pass
        existing = await self.api.get(NODES, self.facts.name)
        self.uid = existing["metadata"]["uid"]
        self._conditions = nodes.node_conditions(
            self.readiness()[0], (existing.get("status") or {}).get("conditions")
        )
        existing_md = existing.get("metadata") or {}
        labels = existing_md.get("labels") or {}
        annotations = existing_md.get("annotations") or {}
        wanted = nodes.node_labels(self.facts)
        patch: dict[str, Any] = {}
        if any(labels.get(k) != v for k, v in wanted.items()):
            patch["metadata"] = {"labels": wanted}
        if any(annotations.get(k) != v for k, v in self.facts.annotations.items()):
            patch.setdefault("metadata", {})["annotations"] = dict(self.facts.annotations)
        if self.pod_cidr and not (existing.get("spec") or {}).get("podCIDR"):
            patch["spec"] = {"podCIDR": self.pod_cidr, "podCIDRs": [self.pod_cidr]}
        if patch:
            await self.api.patch(NODES, self.facts.name, patch)
        await self.report(force=True)
        return existing

    async def report(self, force: bool = False) -> None:
        status = self._status()
        comparable = nodes.comparable_status(status)
        stale = time.monotonic() - self._reported_at >= STATUS_REPORT_SECONDS
        if not force and not stale and comparable == self._reported:
            if await self._api_agrees():
                return
            status = self._status()  # from the API's conditions: a transition now
        try:
            await self.api.patch(NODES, self.facts.name, {"status": status}, subresource="status")
        except NotFound:
            await self.register()  # someone deleted our Node: register again
            return
        self._reported = nodes.comparable_status(status)
        self._reported_at = time.monotonic()

    async def _api_agrees(self) -> bool:
        """Whether the Node's conditions in the API are still the ones we wrote. The
        node lifecycle controller marks a node it has not heard from Unknown (a cut
        link, a hung kubelet): what we last wrote has not changed, yet the API's copy
        has. As Kubernetes' kubelet, which GETs its Node before every status update:
        when they differ, take the API's conditions as the previous ones, so the next
        status is a transition. NotFound: the next patch registers again."""
        try:
            node = await self.api.get(NODES, self.facts.name)
        except NotFound:
            return False
        ours = {c.get("type") for c in self._conditions}  # others' conditions are theirs
        conditions = (node.get("status") or {}).get("conditions") or []
        shown = [c for c in conditions if c.get("type") in ours]
        if _essence(shown) == _essence(self._conditions):
            return True
        self._conditions = shown
        return False

    async def renew_lease(self) -> None:
        """PUT the Lease we last saw with a new renewTime (one request per renewal);
        fetch or create it again when that fails."""
        for _attempt in range(2):
            if self._lease is None:
                self._lease = await self._get_or_create_lease()
                return
            wanted = nodes.lease_object(self.facts.name, self.uid)
            body = {**self._lease, "spec": {**(self._lease.get("spec") or {}), **wanted["spec"]}}
            if self.uid:
                body["metadata"] = {
                    **body["metadata"],
                    "ownerReferences": wanted["metadata"]["ownerReferences"],
                }
            try:
                self._lease = await self.api.update(LEASES, body)
                return
            except (Conflict, NotFound):
                self._lease = None

    async def _get_or_create_lease(self) -> dict[str, Any]:
        lease = nodes.lease_object(self.facts.name, self.uid)
        try:
            return await self.api.create(LEASES, lease, nodes.LEASE_NAMESPACE)
        except AlreadyExists:
            current = await self.api.get(LEASES, self.facts.name, nodes.LEASE_NAMESPACE)
            current["spec"] = {**(current.get("spec") or {}), **lease["spec"]}
            return await self.api.update(LEASES, current)

    async def run(self) -> None:
        await asyncio.gather(self._lease_loop(), self._status_loop())

    async def _lease_loop(self) -> None:
        while True:
            try:
                await self.renew_lease()
            except ApiError as err:
                log.warning("lease renewal failed: %s", err)
            await asyncio.sleep(LEASE_RENEW_SECONDS)

    async def _status_loop(self) -> None:
        while True:
            await asyncio.sleep(STATUS_CHECK_SECONDS)
            try:
                await self.report()
            except ApiError as err:
                log.warning("node status update failed: %s", err)


def _essence(conditions: list[dict[str, Any]]) -> dict[Any, tuple[Any, ...]]:
    """Each condition's type → (status, reason, message), without the times."""
    return {c.get("type"): (c.get("status"), c.get("reason"), c.get("message")) for c in conditions}
