"""What the HA chaos tests watch (tests/e2e/test_ha_control_plane.py on loopback,
test_hosts_ha.py on namespace hosts): a client writing through the load balancer,
who holds a leader Lease, which etcd member leads, whether every member is healthy.
A cluster here is anything with the data dir `minik up` used and its pids.json."""

from __future__ import annotations

import itertools
import re
import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import httpx

from api.resources import CONFIGMAPS, DEPLOYMENTS, LEASES, PODS
from client.rest import Client
from deploy import processes, readiness


class ChaosCluster(Protocol):
    data_dir: Path

    def records(self) -> dict[str, dict]: ...


class Writer:
    """Patches a ConfigMap through `connect()`'s client every `interval`, recording
    each outcome."""

    def __init__(
        self, connect: Callable[..., Client], namespace: str = "default", interval: float = 0.05
    ) -> None:
        self.connect, self.namespace, self.interval = connect, namespace, interval
        self.results: list[tuple[float, bool]] = []
        self.errors: list[tuple[float, str]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Writer:
        with self.connect() as api:
            body = {"metadata": {"name": "ha-probe"}, "data": {"n": "0"}}
            if not _exists(api, "ha-probe", self.namespace):
                api.create(CONFIGMAPS, body, self.namespace)
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _run(self) -> None:
        n = 0
        with self.connect(timeout=3.0) as api:
            while not self._stop.is_set():
                n += 1
                try:
                    patch = {"data": {"n": str(n)}}
                    api.patch(CONFIGMAPS, "ha-probe", patch, namespace=self.namespace)
                    ok = True
                except Exception as error:
                    ok = False
                    self.errors.append((time.monotonic(), f"{type(error).__name__}: {error}"))
                self.results.append((time.monotonic(), ok))
                self._stop.wait(self.interval)

    def summary(self, since: float) -> tuple[float, float, int]:
        """Seconds from `since` until writes succeeded again after the last failure (0:
        none failed), the longest gap between successes, and the failed count."""
        after = [(t, ok) for t, ok in self.results if t >= since - 1.0]
        failures = [t for t, ok in after if not ok]
        recovered = 0.0
        if failures:
            last = failures[-1]
            ok_after = [t for t, ok in after if ok and t > last]
            recovered = (ok_after[0] if ok_after else float("inf")) - since
        oks = [t for t, ok in after if ok]
        gap = max((b - a for a, b in itertools.pairwise(oks)), default=float("inf"))
        return recovered, gap, len(failures)

    def failures_since(self, since: float) -> str:
        """Each failed write's time after `since` and why it failed, for a report."""
        return "; ".join(f"+{t - since:.2f}s {why[:160]}" for t, why in self.errors if t >= since)


def _exists(api: Client, name: str, namespace: str) -> bool:
    try:
        api.get(CONFIGMAPS, name, namespace)
    except Exception:
        return False
    return True


def lease_holder(api: Client, name: str) -> str:
    return (api.get(LEASES, name, "kube-system").get("spec") or {}).get("holderIdentity") or ""


def leader_component(cluster: ChaosCluster, prefix: str, lease: str, identity: str) -> str:
    """Which supervised replica (`scheduler-2`) holds `identity`: the one whose log says
    it acquired the Lease as that identity (the last such acquisition wins)."""
    pattern = re.compile(rf"acquired lease kube-system/{lease} as {re.escape(identity)}\b")
    found: list[tuple[str, str]] = []
    for name in cluster.records():
        if name.startswith(prefix):
            log = (cluster.data_dir / "logs" / f"{name}.log").read_text(errors="replace")
            for line in log.splitlines():
                if pattern.search(line):
                    found.append((line[:23], name))
    if not found:
        raise AssertionError(f"no {prefix}* log shows {identity} acquiring {lease}")
    return max(found)[1]


def etcd_client_cert(cluster: ChaosCluster) -> tuple[str, str]:
    """The health checks' client certificate (etcd asks every caller for one)."""
    stem = cluster.data_dir / "pki" / "etcd" / processes.ETCD_HEALTHCHECK_USER
    return f"{stem}.crt", f"{stem}.key"


def etcd_status(cluster: ChaosCluster, url: str, timeout: float = 2) -> dict:
    """One member's /v3/maintenance/status (member_id, leader, …)."""
    ctx = ssl.create_default_context(cafile=str(cluster.data_dir / "pki" / "etcd" / "ca.crt"))
    ctx.load_cert_chain(*etcd_client_cert(cluster))
    r = httpx.post(f"{url}/v3/maintenance/status", json={}, verify=ctx, timeout=timeout)
    return r.raise_for_status().json()


def etcd_leader(cluster: ChaosCluster) -> str:
    """The etcd member (`etcd-2`) that is raft leader, from each member's status."""
    for name, rec in cluster.records().items():
        if not name.startswith("etcd-"):
            continue
        status = etcd_status(cluster, rec["url"])
        if status["header"]["member_id"] == status["leader"]:
            return name
    raise AssertionError("no etcd member says it is the leader")


def etcd_healthy(cluster: ChaosCluster) -> bool:
    ca = str(cluster.data_dir / "pki" / "etcd" / "ca.crt")
    return all(
        readiness.http_ok(f"{rec['url']}/health", ca, etcd_client_cert(cluster))
        for name, rec in cluster.records().items()
        if name.startswith("etcd-")
    )


def rollout_complete(api: Client, name: str, namespace: str, generation: int) -> bool:
    """True once Deployment `name` has rolled out `generation` (observed, every replica
    updated and available, no old one left); else an AssertionError saying what the
    status and the pods are, which `eventually` reports when time runs out."""
    d = api.get(DEPLOYMENTS, name, namespace)
    status, want = d.get("status") or {}, d["spec"]["replicas"]
    done = (
        d["metadata"]["generation"] >= generation
        and status.get("observedGeneration", 0) >= d["metadata"]["generation"]
        and status.get("updatedReplicas") == want
        and status.get("availableReplicas") == want
        and status.get("replicas") == want
    )
    if done:
        return True
    selector = ",".join(f"{k}={v}" for k, v in d["spec"]["selector"]["matchLabels"].items())
    pods = api.list(PODS, namespace=namespace, label_selector=selector)["items"]
    seen = [
        (
            p["metadata"]["name"],
            p["metadata"].get("labels", {}).get("pod-template-hash"),
            p["spec"].get("nodeName"),
            (p.get("status") or {}).get("phase"),
            "deleting" if p["metadata"].get("deletionTimestamp") else "",
        )
        for p in pods
    ]
    counts = {k: status.get(k) for k in ("replicas", "updatedReplicas", "availableReplicas")}
    raise AssertionError(
        f"generation {d['metadata']['generation']} observed "
        f"{status.get('observedGeneration')}, {counts} of {want}; conditions "
        f"{[(c['type'], c['status'], c.get('reason')) for c in status.get('conditions', [])]}; "
        f"pods {seen}"
    )
