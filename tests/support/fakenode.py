"""Playing the kubelets' (and the scheduler's) part in controller tests, through the
real API only: there is no kubelet or scheduler there, so without this every pod
would stay Pending.

`FakeCluster` registers Nodes with Leases and, in a background thread:
- renews each live node's Lease (as a kubelet's heartbeat);
- binds pending pods of its namespace (`pods/{name}/binding`) to live nodes that
  carry no taint and are in `schedulable`, round robin;
- makes each pod bound to a live node Running with a pod IP, and Ready once
  `ready_delay` has passed and `ready(pod)` says so (`pods/{name}/status`);
- finishes pods being deleted on a live node (delete with gracePeriodSeconds=0),
  as a kubelet confirms a stopped pod.
Nodes may register with `taints`. `kill(node)` stops all of that for one node, as if
its kubelet died; `revive(node)` brings it back Ready."""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx

log = logging.getLogger(__name__)

Obj = dict[str, Any]
_subnets = itertools.count(1)


def _now(micro: bool = False) -> str:
    fmt = "%Y-%m-%dT%H:%M:%S.%fZ" if micro else "%Y-%m-%dT%H:%M:%SZ"
    return datetime.now(UTC).strftime(fmt)


def _condition(kind: str, status: str, reason: str = "") -> Obj:
    now = _now()
    cond: Obj = {"type": kind, "status": status, "lastProbeTime": None, "lastTransitionTime": now}
    if reason:
        cond["reason"] = reason
    return cond


class FakeNode:
    def __init__(self, name: str, subnet: int, labels: dict[str, str] | None = None) -> None:
        self.name = name
        self.subnet = subnet
        self.labels = labels or {}
        self.alive = True
        self.next_ip = itertools.count(2)
        self.last_renew = 0.0

    def node_object(self) -> Obj:
        now = _now()
        return {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": self.name,
                "labels": {"kubernetes.io/hostname": self.name, **self.labels},
            },
            "spec": {},
            "status": {
                "conditions": [self.ready_condition(now)],
                "addresses": [{"type": "InternalIP", "address": f"10.250.{self.subnet}.1"}],
                "capacity": {"cpu": "8", "memory": "16Gi", "pods": "110"},
            },
        }

    @staticmethod
    def ready_condition(now: str) -> Obj:
        return {
            "type": "Ready",
            "status": "True",
            "lastHeartbeatTime": now,
            "lastTransitionTime": now,
            "reason": "KubeletReady",
            "message": "kubelet is posting ready status",
        }


class FakeCluster:
    """Nodes named `<namespace>-<name>` that run the pods of one namespace."""

    def __init__(
        self,
        http: httpx.Client,
        namespace: str,
        nodes: list[str],
        ready_delay: float = 0.3,
        ready: Callable[[Obj], bool] = lambda pod: True,
        finish_delay: float = 0.2,
        lease_interval: float = 0.5,
        taints: list[Obj] | None = None,
        zone: str | None = None,
    ) -> None:
        self.http = http
        self.taints = taints or []
        self.namespace = namespace
        # A zone of their own keeps other tests' dead nodes out of the node lifecycle
        # controller's zone states (a mostly-dead zone is not evicted from).
        labels = {"topology.kubernetes.io/zone": zone} if zone else None
        self.nodes = {n: FakeNode(f"{namespace}-{n}", next(_subnets) % 250, labels) for n in nodes}
        self.schedulable = set(nodes)
        self.ready_delay = ready_delay
        self.ready = ready
        self.finish_delay = finish_delay
        self.lease_interval = lease_interval
        self._bound_at: dict[str, float] = {}  # pod uid -> when we first ran it
        self._terminating_at: dict[str, float] = {}
        self._ips: dict[str, str] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._rr = itertools.count()

    def node_name(self, short: str) -> str:
        return self.nodes[short].name

    # ---- lifecycle -----------------------------------------------------------------
    def __enter__(self) -> FakeCluster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        for node in self.nodes.values():
            self._register(node)
        self._thread = threading.Thread(target=self._loop, name="fake-cluster", daemon=True)
        self._thread.start()

    def stop(self, delete_nodes: bool = True) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        if delete_nodes:
            for node in self.nodes.values():
                self.http.delete(f"/api/v1/nodes/{node.name}")
                self.http.delete(
                    f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{node.name}"
                )

    def kill(self, short: str) -> None:
        """The node's kubelet stops: no more heartbeats, pods left as they are."""
        with self._lock:
            self.nodes[short].alive = False

    def revive(self, short: str) -> None:
        """The kubelet is back: it reports Ready and renews its Lease again."""
        node = self.nodes[short]
        # The node lifecycle controller writes the same status: retry a conflicting
        # write on a fresh read, as the kubelet does (nodeStatusUpdateRetry, 5 tries).
        for _attempt in range(5):
            current = self.http.get(f"/api/v1/nodes/{node.name}").json()
            status = current.get("status") or {}
            now = _now()
            conditions = [c for c in status.get("conditions") or [] if c.get("type") != "Ready"]
            conditions = [
                {**c, "status": "False", "lastHeartbeatTime": now, "lastTransitionTime": now,
                 "reason": f"KubeletHasNo{c['type']}", "message": ""}
                for c in conditions
            ]  # fmt: skip
            status["conditions"] = [*conditions, node.ready_condition(now)]
            r = self.http.put(
                f"/api/v1/nodes/{node.name}/status", json={**current, "status": status}
            )
            if r.status_code != 409:
                break
        r.raise_for_status()
        with self._lock:
            node.alive = True
            node.last_renew = 0.0

    # ---- the loop ------------------------------------------------------------------
    def _register(self, node: FakeNode) -> None:
        body = node.node_object()
        if self.taints:
            body["spec"]["taints"] = self.taints
        r = self.http.post("/api/v1/nodes", json=body)
        r.raise_for_status()
        lease = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {
                "name": node.name,
                "namespace": "kube-node-lease",
                "ownerReferences": [
                    {"apiVersion": "v1", "kind": "Node", "name": node.name,
                     "uid": r.json()["metadata"]["uid"]}
                ],
            },
            "spec": {"holderIdentity": node.name, "leaseDurationSeconds": 40,
                     "renewTime": _now(micro=True)},
        }  # fmt: skip
        self.http.post(
            "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases", json=lease
        ).raise_for_status()
        node.last_renew = time.monotonic()

    def _loop(self) -> None:
        while not self._stop.wait(0.1):
            try:
                self._step()
            except Exception as err:  # keep playing; the test judges the outcome
                log.debug("fake cluster step failed: %s", err)

    def _step(self) -> None:
        with self._lock:
            live = {short: n for short, n in self.nodes.items() if n.alive}
        for node in live.values():
            if time.monotonic() - node.last_renew >= self.lease_interval:
                self.http.patch(
                    f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{node.name}",
                    json={"spec": {"renewTime": _now(micro=True)}},
                    headers={"Content-Type": "application/merge-patch+json"},
                )
                node.last_renew = time.monotonic()
        pods = self.http.get(f"/api/v1/namespaces/{self.namespace}/pods").json()["items"]
        by_name = {n.name: n for n in live.values()}
        targets = self._schedulable_nodes(live)
        for pod in pods:
            spec, md = pod.get("spec") or {}, pod["metadata"]
            bound = spec.get("nodeName")
            if not bound:
                if targets and not md.get("deletionTimestamp"):
                    self._bind(pod, targets[next(self._rr) % len(targets)])
                continue
            target = by_name.get(bound)
            if target is None:
                continue  # bound elsewhere, or to a dead node
            if md.get("deletionTimestamp"):
                self._finish(pod)
            else:
                self._run(pod, target)

    def _schedulable_nodes(self, live: dict[str, FakeNode]) -> list[str]:
        names = []
        for short in sorted(live):
            if short not in self.schedulable:
                continue
            node = self.http.get(f"/api/v1/nodes/{live[short].name}").json()
            if not (node.get("spec") or {}).get("taints"):
                names.append(live[short].name)
        return names

    def _bind(self, pod: Obj, node_name: str) -> None:
        name = pod["metadata"]["name"]
        body = {
            "apiVersion": "v1",
            "kind": "Binding",
            "metadata": {"name": name, "namespace": self.namespace},
            "target": {"apiVersion": "v1", "kind": "Node", "name": node_name},
        }
        self.http.post(f"/api/v1/namespaces/{self.namespace}/pods/{name}/binding", json=body)

    def _finish(self, pod: Obj) -> None:
        uid = pod["metadata"]["uid"]
        first = self._terminating_at.setdefault(uid, time.monotonic())
        if time.monotonic() - first >= self.finish_delay:
            name = pod["metadata"]["name"]
            self.http.request(
                "DELETE",
                f"/api/v1/namespaces/{self.namespace}/pods/{name}",
                json={"gracePeriodSeconds": 0, "preconditions": {"uid": uid}},
            )

    def _run(self, pod: Obj, node: FakeNode) -> None:
        uid = pod["metadata"]["uid"]
        started = self._bound_at.setdefault(uid, time.monotonic())
        if uid not in self._ips:
            self._ips[uid] = f"10.244.{node.subnet}.{next(node.next_ip) % 250}"
        status = pod.get("status") or {}
        ready = time.monotonic() - started >= self.ready_delay and self.ready(pod)
        was_ready = any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in status.get("conditions") or []
        )
        if status.get("phase") == "Running" and was_ready == ready:
            return
        if status.get("phase") == "Running" and was_ready and not ready:
            return  # readiness only ever goes up here
        word = "True" if ready else "False"
        containers = (pod.get("spec") or {}).get("containers") or []
        new_status = {
            **status,
            "phase": "Running",
            "hostIP": f"10.250.{node.subnet}.1",
            "podIP": self._ips[uid],
            "podIPs": [{"ip": self._ips[uid]}],
            "startTime": status.get("startTime") or _now(),
            "conditions": [
                _condition("PodScheduled", "True"),
                _condition("Initialized", "True"),
                _condition("ContainersReady", word),
                _condition("Ready", word),
            ],
            "containerStatuses": [
                {
                    "name": c["name"],
                    "image": c.get("image", ""),
                    "imageID": "",
                    "ready": ready,
                    "restartCount": 0,
                    "started": True,
                    "state": {"running": {"startedAt": _now()}},
                }
                for c in containers
            ],
        }
        name = pod["metadata"]["name"]
        with contextlib.suppress(httpx.HTTPError):
            self.http.put(
                f"/api/v1/namespaces/{self.namespace}/pods/{name}/status",
                json={**pod, "status": new_status},
            )
