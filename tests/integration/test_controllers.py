"""The controller manager as a real process (`python -m controller`) against the real
apiserver: ReplicaSets, Deployments (rolling update, Recreate, undo, restart, pause,
progress deadline, history), the garbage collector's three propagation policies,
Endpoints and EndpointSlices, node lifecycle with taint eviction and pod GC, and a
SIGKILL mid-rollout.

There is no kubelet or scheduler here: `tests.support.fakenode.FakeCluster` binds
pods, reports them Running and Ready, and renews node Leases through the API."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.support.controllermanager import GRACE
from tests.support.fakenode import FakeCluster
from tests.support.wait import eventually

Obj = dict[str, Any]
REVISION = "deployment.kubernetes.io/revision"
PATCH_TYPES = {
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "json": "application/json-patch+json",
}


@pytest.fixture
def cluster(apiserver, namespace) -> Iterator[FakeCluster]:
    with apiserver.http() as client, FakeCluster(client, namespace, ["a", "b"]) as fake:
        yield fake


# ---- helpers ---------------------------------------------------------------------------


def deployment(name: str, replicas: int = 3, image: str = "busybox:1", **spec: Any) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "terminationGracePeriodSeconds": 1,
                    "containers": [{"name": "c", "image": image}],
                },
            },
            **spec,
        },
    }


def replicaset(name: str, replicas: int = 2, labels: dict[str, str] | None = None) -> Obj:
    labels = labels or {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "image": "busybox:1"}]},
            },
        },
    }


GROUPS = {
    "deployments": "/apis/apps/v1",
    "replicasets": "/apis/apps/v1",
    "endpointslices": "/apis/discovery.k8s.io/v1",
}


class Api:
    """Short paths for one namespace."""

    def __init__(self, http: httpx.Client, namespace: str) -> None:
        self.http = http
        self.ns = namespace

    def path(self, plural: str, name: str = "") -> str:
        group = GROUPS.get(plural, "/api/v1")
        base = f"{group}/namespaces/{self.ns}/{plural}"
        return f"{base}/{name}" if name else base

    def create(self, plural: str, body: Obj) -> Obj:
        r = self.http.post(self.path(plural), json=body)
        assert r.status_code == 201, r.text
        return r.json()

    def get(self, plural: str, name: str) -> Obj | None:
        r = self.http.get(self.path(plural, name))
        return r.json() if r.status_code == 200 else None

    def items(self, plural: str, selector: str | None = None) -> list[Obj]:
        params = {"labelSelector": selector} if selector else {}
        r = self.http.get(self.path(plural), params=params)
        r.raise_for_status()
        return r.json()["items"]

    def patch(self, plural: str, name: str, body: Any, kind: str = "merge") -> Obj:
        r = self.http.patch(
            self.path(plural, name),
            json=body,
            headers={"Content-Type": PATCH_TYPES[kind]},
        )
        assert r.status_code == 200, r.text
        return r.json()

    def delete(self, plural: str, name: str, **options: Any) -> None:
        r = self.http.request("DELETE", self.path(plural, name), json=options or None)
        assert r.status_code in (200, 202), r.text

    def active_pods(self, selector: str | None = None) -> list[Obj]:
        return [
            p for p in self.items("pods", selector) if not p["metadata"].get("deletionTimestamp")
        ]


@pytest.fixture
def api(http, namespace) -> Api:
    return Api(http, namespace)


def is_ready(pod: Obj) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


def rollout_done(api: Api, name: str) -> Callable[[], Obj | None]:
    """kubectl rollout status' rule, read from the deployment."""

    def check() -> Obj | None:
        d = api.get("deployments", name) or {}
        status, want = d.get("status") or {}, (d.get("spec") or {}).get("replicas")
        done = (
            status.get("observedGeneration", 0) >= d["metadata"]["generation"]
            and status.get("updatedReplicas", 0) == want
            and status.get("replicas", 0) == want
            and status.get("availableReplicas", 0) == want
        )
        return d if done else None

    return check


def controller_of(obj: Obj) -> Obj | None:
    return next(
        (r for r in obj["metadata"].get("ownerReferences") or [] if r.get("controller")), None
    )


class PodCensus:
    """Watches a namespace's pods and records, after every event, how many are active
    (not being deleted) and how many of those are ready."""

    def __init__(self, http: httpx.Client, namespace: str, selector: str) -> None:
        self.http, self.namespace, self.selector = http, namespace, selector
        self.pods: dict[str, Obj] = {}
        self.samples: list[tuple[int, int]] = []  # (active, ready)
        self._stop = threading.Event()
        listing = http.get(
            f"/api/v1/namespaces/{namespace}/pods", params={"labelSelector": selector}
        ).json()
        for pod in listing["items"]:
            self.pods[pod["metadata"]["name"]] = pod
        self._rv = listing["metadata"]["resourceVersion"]
        self._record()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _record(self) -> None:
        active = [p for p in self.pods.values() if not p["metadata"].get("deletionTimestamp")]
        self.samples.append((len(active), sum(1 for p in active if is_ready(p))))

    def _watch(self) -> None:
        import json

        while not self._stop.is_set():
            params = {
                "watch": "true",
                "resourceVersion": self._rv,
                "labelSelector": self.selector,
                "timeoutSeconds": "1",
            }
            url = f"/api/v1/namespaces/{self.namespace}/pods"
            with self.http.stream("GET", url, params=params, timeout=None) as resp:
                for line in resp.iter_lines():
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    obj = event["object"]
                    if event["type"] in ("ADDED", "MODIFIED"):
                        self.pods[obj["metadata"]["name"]] = obj
                    elif event["type"] == "DELETED":
                        self.pods.pop(obj["metadata"]["name"], None)
                    else:
                        continue
                    self._rv = obj["metadata"]["resourceVersion"]
                    self._record()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)

    @property
    def max_active(self) -> int:
        return max(a for a, _ in self.samples)

    def min_ready_after(self, index: int) -> int:
        return min(r for _, r in self.samples[index:])


# ---- ReplicaSets -----------------------------------------------------------------------


def test_deployment_creates_a_replicaset_with_three_pods(manager, api, cluster):
    api.create("deployments", deployment("web"))
    d = eventually(rollout_done(api, "web"), timeout=20, message="3 available replicas")
    rss = api.items("replicasets")
    assert len(rss) == 1
    rs = rss[0]
    pod_hash = rs["metadata"]["labels"]["pod-template-hash"]
    assert rs["metadata"]["name"] == f"web-{pod_hash}"
    assert rs["spec"]["selector"]["matchLabels"] == {"app": "web", "pod-template-hash": pod_hash}
    assert rs["spec"]["template"]["metadata"]["labels"]["pod-template-hash"] == pod_hash
    ref = controller_of(rs)
    assert ref["kind"] == "Deployment" and ref["uid"] == d["metadata"]["uid"]
    notes = rs["metadata"]["annotations"]
    assert notes[REVISION] == "1"
    assert notes["deployment.kubernetes.io/desired-replicas"] == "3"
    assert notes["deployment.kubernetes.io/max-replicas"] == "4"  # 25% of 3, rounded up
    assert d["metadata"]["annotations"][REVISION] == "1"
    pods = api.items("pods")
    assert len(pods) == 3
    for pod in pods:
        assert pod["metadata"]["name"].startswith(f"web-{pod_hash}-")
        assert len(pod["metadata"]["name"]) == len(f"web-{pod_hash}-") + 5
        ref = controller_of(pod)
        assert ref == {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "name": rs["metadata"]["name"],
            "uid": rs["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }
    status = d["status"]
    assert status["readyReplicas"] == 3 and "unavailableReplicas" not in status
    conditions = {c["type"]: c for c in status["conditions"]}
    assert conditions["Available"]["reason"] == "MinimumReplicasAvailable"
    assert conditions["Progressing"]["reason"] == "NewReplicaSetAvailable"
    rs = api.get("replicasets", rs["metadata"]["name"])
    assert rs["status"] == {
        "replicas": 3,
        "fullyLabeledReplicas": 3,
        "readyReplicas": 3,
        "availableReplicas": 3,
        "observedGeneration": 1,
    }


def test_scaling_up_and_down(manager, api, cluster, kubectl, namespace):
    api.create("deployments", deployment("web", replicas=2))
    eventually(rollout_done(api, "web"), timeout=20)
    kubectl.run("scale", "deployment/web", "--replicas=5", "-n", namespace)
    eventually(
        lambda: rollout_done(api, "web")() and len(api.active_pods()) == 5,
        timeout=20,
        message="5 pods",
    )
    kubectl.run("scale", "deployment/web", "--replicas=1", "-n", namespace)
    eventually(lambda: len(api.items("pods")) == 1, timeout=20, message="1 pod left")
    (rs,) = api.items("replicasets")
    assert rs["spec"]["replicas"] == 1
    assert rs["metadata"]["annotations"]["deployment.kubernetes.io/desired-replicas"] == "1"
    eventually(rollout_done(api, "web"), timeout=20)


def test_deleted_pod_is_replaced(manager, api, cluster):
    api.create("replicasets", replicaset("rs", replicas=2))
    first = eventually(
        lambda: len(api.active_pods()) == 2 and api.active_pods(), timeout=20, message="2 pods"
    )
    victim = first[0]["metadata"]["name"]
    api.delete("pods", victim)
    pods = eventually(
        lambda: (
            len(p := api.active_pods()) == 2
            and victim not in {x["metadata"]["name"] for x in p}
            and p
        ),
        timeout=20,
        message="a replacement pod",
    )
    assert all(controller_of(p)["name"] == "rs" for p in pods)
    time.sleep(0.5)
    assert len(api.active_pods()) == 2  # exactly one replacement


def test_replicaset_adopts_orphans_and_releases_pods_that_stop_matching(manager, api, cluster):
    orphan = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "orphan", "labels": {"app": "rs"}},
        "spec": {"containers": [{"name": "c", "image": "busybox:1"}]},
    }
    api.create("pods", orphan)
    eventually(
        lambda: is_ready(api.get("pods", "orphan")), timeout=20, message="the orphan running"
    )
    rs = api.create("replicasets", replicaset("rs", replicas=2))
    eventually(
        lambda: (
            (controller_of(api.get("pods", "orphan")) or {}).get("uid") == rs["metadata"]["uid"]
        ),
        timeout=20,
        message="the orphan adopted",
    )
    eventually(lambda: len(api.active_pods()) == 2, timeout=20, message="2 pods")
    time.sleep(0.5)
    pods = api.active_pods()  # the adopted pod counts: only one was created
    assert len(pods) == 2 and "orphan" in {p["metadata"]["name"] for p in pods}
    api.patch("pods", "orphan", {"metadata": {"labels": {"app": "other"}}})
    released = eventually(
        lambda: (p := api.get("pods", "orphan")) and controller_of(p) is None and p,
        timeout=20,
        message="the relabelled pod released",
    )
    assert not released["metadata"].get("ownerReferences")
    eventually(
        lambda: len(api.active_pods("app=rs")) == 2, timeout=20, message="a replacement for it"
    )
    eventually(
        lambda: api.get("replicasets", "rs")["status"].get("replicas") == 2,
        timeout=20,
        message="status of 2 replicas",
    )


# ---- Deployments -----------------------------------------------------------------------


def test_rolling_update_stays_within_surge_and_unavailability(
    manager, api, cluster, kubectl, http, namespace
):
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    api.create("deployments", deployment("web", replicas=3, strategy=strategy))
    eventually(rollout_done(api, "web"), timeout=20)
    census = PodCensus(http, namespace, "app=web")
    try:
        start = len(census.samples)
        api.patch(
            "deployments",
            "web",
            {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox:2"}]}}}},
            "strategic",
        )
        kubectl.run(
            "rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s", timeout=70
        )
        time.sleep(0.3)
    finally:
        census.stop()
    assert census.max_active <= 4, census.samples  # replicas + maxSurge
    assert census.min_ready_after(start) >= 3, census.samples  # replicas - maxUnavailable
    rss = sorted(api.items("replicasets"), key=lambda rs: rs["metadata"]["annotations"][REVISION])
    assert [rs["metadata"]["annotations"][REVISION] for rs in rss] == ["1", "2"]
    assert [rs["spec"]["replicas"] for rs in rss] == [0, 3]
    assert api.get("deployments", "web")["metadata"]["annotations"][REVISION] == "2"
    images = {p["spec"]["containers"][0]["image"] for p in api.items("pods")}
    assert images == {"busybox:2"}


def test_rollout_undo_returns_to_the_old_replicaset(manager, api, cluster, kubectl, namespace):
    api.create("deployments", deployment("web", replicas=2))
    eventually(rollout_done(api, "web"), timeout=20)
    (first,) = api.items("replicasets")
    kubectl.run("set", "image", "deployment/web", "c=busybox:2", "-n", namespace)
    kubectl.run("rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s", timeout=70)
    kubectl.run("rollout", "undo", "deployment/web", "-n", namespace)
    kubectl.run("rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s", timeout=70)
    rss = {rs["metadata"]["name"]: rs for rs in api.items("replicasets")}
    assert len(rss) == 2  # the old set came back; no third one
    back = rss[first["metadata"]["name"]]
    assert back["spec"]["replicas"] == 2
    assert back["metadata"]["annotations"][REVISION] == "3"
    assert back["metadata"]["annotations"]["deployment.kubernetes.io/revision-history"] == "1"
    assert api.get("deployments", "web")["metadata"]["annotations"][REVISION] == "3"
    assert {p["spec"]["containers"][0]["image"] for p in api.active_pods()} == {"busybox:1"}
    # --to-revision picks the image-2 set (now revision 2) by number.
    kubectl.run("rollout", "undo", "deployment/web", "--to-revision=2", "-n", namespace)
    kubectl.run("rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s", timeout=70)
    assert len(api.items("replicasets")) == 2
    assert {p["spec"]["containers"][0]["image"] for p in api.active_pods()} == {"busybox:2"}


def test_rollout_restart_makes_a_new_replicaset(manager, api, cluster, kubectl, namespace):
    api.create("deployments", deployment("web", replicas=2))
    eventually(rollout_done(api, "web"), timeout=20)
    (before,) = api.items("replicasets")
    kubectl.run("rollout", "restart", "deployment/web", "-n", namespace)
    kubectl.run("rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s", timeout=70)
    rss = api.items("replicasets")
    assert len(rss) == 2
    (new,) = [rs for rs in rss if rs["metadata"]["name"] != before["metadata"]["name"]]
    notes = new["spec"]["template"]["metadata"]["annotations"]
    assert "kubectl.kubernetes.io/restartedAt" in notes
    assert all(controller_of(p)["name"] == new["metadata"]["name"] for p in api.active_pods())


def test_paused_deployment_scales_but_does_not_roll(manager, api, cluster, kubectl, namespace):
    api.create("deployments", deployment("web", replicas=2))
    eventually(rollout_done(api, "web"), timeout=20)
    kubectl.run("rollout", "pause", "deployment/web", "-n", namespace)
    kubectl.run("set", "image", "deployment/web", "c=busybox:2", "-n", namespace)
    kubectl.run("scale", "deployment/web", "--replicas=3", "-n", namespace)
    eventually(lambda: len(api.active_pods()) == 3, timeout=20, message="scaled to 3 while paused")
    d = eventually(
        lambda: (
            (d := api.get("deployments", "web"))["status"].get("observedGeneration")
            == d["metadata"]["generation"]
            and d
        ),
        timeout=20,
    )
    progressing = next(c for c in d["status"]["conditions"] if c["type"] == "Progressing")
    assert progressing["reason"] == "DeploymentPaused" and progressing["status"] == "Unknown"
    time.sleep(1)
    assert len(api.items("replicasets")) == 1
    assert {p["spec"]["containers"][0]["image"] for p in api.items("pods")} == {"busybox:1"}
    kubectl.run("rollout", "resume", "deployment/web", "-n", namespace)
    kubectl.run("rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s", timeout=70)
    assert {p["spec"]["containers"][0]["image"] for p in api.active_pods()} == {"busybox:2"}
    assert len(api.active_pods()) == 3


def test_scaling_mid_rollout_is_proportional(manager, api, apiserver, namespace):
    """A rollout stuck on pods that never get ready, then scaled from 4 to 8: both
    ReplicaSets grow in proportion to their size (3:2 of 5 becomes 5:4 of 9)."""
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 1}}
    with (
        apiserver.http() as client,
        FakeCluster(
            client, namespace, ["a"], ready=lambda p: p["spec"]["containers"][0]["image"] != "bad"
        ),
    ):
        api.create("deployments", deployment("web", replicas=4, strategy=strategy))
        eventually(rollout_done(api, "web"), timeout=20)
        (old,) = api.items("replicasets")
        old_name = old["metadata"]["name"]
        containers = [{"name": "c", "image": "bad"}]
        api.patch(
            "deployments",
            "web",
            {"spec": {"template": {"spec": {"containers": containers}}}},
            "strategic",
        )

        def sizes() -> dict[str, int]:
            return {
                ("old" if rs["metadata"]["name"] == old_name else "new"): rs["spec"]["replicas"]
                for rs in api.items("replicasets")
            }

        eventually(
            lambda: sizes() == {"old": 3, "new": 2}, timeout=20, message="a rollout stuck at 3 + 2"
        )
        time.sleep(0.5)
        assert sizes() == {"old": 3, "new": 2}
        api.patch("deployments", "web", {"spec": {"replicas": 8}})
        eventually(
            lambda: sizes() == {"old": 5, "new": 4}, timeout=20, message="proportional 5 + 4"
        )
        for rs in api.items("replicasets"):
            notes = rs["metadata"]["annotations"]
            assert notes["deployment.kubernetes.io/desired-replicas"] == "8"
            assert notes["deployment.kubernetes.io/max-replicas"] == "9"


def test_progress_deadline_exceeded(manager, api, apiserver, namespace, kubectl):
    with apiserver.http() as client, FakeCluster(client, namespace, ["a"], ready=lambda p: False):
        api.create("deployments", deployment("stuck", replicas=1, progressDeadlineSeconds=3))

        def timed_out() -> bool:
            conditions = (api.get("deployments", "stuck").get("status") or {}).get("conditions")
            return any(
                c["type"] == "Progressing"
                and c["status"] == "False"
                and c["reason"] == "ProgressDeadlineExceeded"
                for c in conditions or []
            )

        eventually(timed_out, timeout=15, message="ProgressDeadlineExceeded")
        result = kubectl.fails(
            "rollout", "status", "deployment/stuck", "-n", namespace, "--timeout=20s"
        )
        assert "exceeded its progress deadline" in result.stderr


def test_recreate_never_runs_old_and_new_pods_together(manager, api, cluster, http, namespace):
    api.create("deployments", deployment("web", replicas=2, strategy={"type": "Recreate"}))
    eventually(rollout_done(api, "web"), timeout=20)
    census = PodCensus(http, namespace, "app=web")
    mixed: list[set[str]] = []
    try:
        api.patch(
            "deployments",
            "web",
            {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox:2"}]}}}},
            "strategic",
        )

        def check() -> bool:
            images = {p["spec"]["containers"][0]["image"] for p in census.pods.values()}
            if len(images) > 1:
                mixed.append(images)
            return bool(rollout_done(api, "web")()) and images == {"busybox:2"}

        eventually(check, timeout=20, message="the recreated rollout")
    finally:
        census.stop()
    assert not mixed
    assert len(api.items("replicasets")) == 2


def test_revision_history_limit_deletes_old_replicasets(manager, api, cluster, kubectl, namespace):
    api.create("deployments", deployment("web", replicas=1, revisionHistoryLimit=1))
    eventually(rollout_done(api, "web"), timeout=20)
    for image in ("busybox:2", "busybox:3", "busybox:4"):
        kubectl.run("set", "image", "deployment/web", f"c={image}", "-n", namespace)
        kubectl.run(
            "rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s", timeout=70
        )
    rss = eventually(
        lambda: len(r := api.items("replicasets")) == 2 and r, timeout=20, message="history of 1"
    )
    assert sorted(rs["metadata"]["annotations"][REVISION] for rs in rss) == ["3", "4"]


# ---- garbage collection ----------------------------------------------------------------


def test_background_deletion_removes_replicasets_and_pods(manager, api, cluster):
    api.create("deployments", deployment("web", replicas=2))
    eventually(rollout_done(api, "web"), timeout=20)
    api.delete("deployments", "web", propagationPolicy="Background")
    eventually(
        lambda: not api.items("replicasets") and not api.items("pods"),
        timeout=20,
        message="cascade",
    )


def test_foreground_deletion_waits_for_dependents(manager, api, cluster, http, namespace):
    api.create("deployments", deployment("web", replicas=2))
    eventually(rollout_done(api, "web"), timeout=20)
    api.delete("deployments", "web", propagationPolicy="Foreground")
    d = api.get("deployments", "web")
    assert d is not None and "foregroundDeletion" in d["metadata"]["finalizers"]
    seen_waiting, early = [], []

    def gone() -> bool:
        owner = api.get("deployments", "web")  # read first: then pods seen later outlived it
        pods, rss = api.items("pods"), api.items("replicasets")
        if owner is not None and pods:
            seen_waiting.append(True)  # the owner is still there while pods exist
        if owner is None and (pods or rss):
            early.append([p["metadata"]["name"] for p in pods + rss])
        return owner is None and not rss and not pods

    eventually(gone, timeout=20, message="foreground cascade")
    assert seen_waiting and not early


def test_orphan_deletion_leaves_dependents_running(manager, api, cluster):
    api.create("deployments", deployment("web", replicas=2))
    eventually(rollout_done(api, "web"), timeout=20)
    api.delete("deployments", "web", propagationPolicy="Orphan")
    eventually(
        lambda: api.get("deployments", "web") is None, timeout=20, message="the deployment gone"
    )
    (rs,) = api.items("replicasets")
    assert not rs["metadata"].get("ownerReferences")
    time.sleep(1)
    pods = api.active_pods()
    assert len(pods) == 2 and all(controller_of(p)["name"] == rs["metadata"]["name"] for p in pods)


# ---- endpoints -------------------------------------------------------------------------


def _web_pod(name: str, port: int, ready: bool, app: str = "svc") -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": app, "ready": str(ready).lower()}},
        "spec": {
            "containers": [
                {
                    "name": "c",
                    "image": "busybox:1",
                    "ports": [{"name": "http", "containerPort": port}],
                }
            ]
        },
    }


def test_endpoints_track_ready_and_not_ready_pods(manager, api, apiserver, namespace):
    ready = {"p1": True, "p2": False, "p3": True}
    with (
        apiserver.http() as client,
        FakeCluster(client, namespace, ["a"], ready=lambda pod: ready[pod["metadata"]["name"]]),
    ):
        api.create("pods", _web_pod("p1", 8080, True))
        api.create("pods", _web_pod("p2", 8080, False))
        api.create("pods", _web_pod("p3", 9090, True))  # same port name, another number
        api.create(
            "services",
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": {"name": "svc", "labels": {"tier": "web"}},
                "spec": {
                    "selector": {"app": "svc"},
                    "ports": [{"name": "web", "port": 80, "targetPort": "http"}],
                },
            },
        )

        def by_port() -> dict[int, Obj]:
            ep = api.get("endpoints", "svc") or {}
            return {s["ports"][0]["port"]: s for s in ep.get("subsets") or []}

        def names() -> dict[int, tuple[list[str], list[str]]]:
            return {
                port: (
                    [a["targetRef"]["name"] for a in s.get("addresses", [])],
                    [a["targetRef"]["name"] for a in s.get("notReadyAddresses", [])],
                )
                for port, s in by_port().items()
            }

        expected = {8080: (["p1"], ["p2"]), 9090: (["p3"], [])}
        eventually(lambda: names() == expected, timeout=20, message=f"endpoints {expected}")
        ep = api.get("endpoints", "svc")
        assert ep["metadata"]["labels"] == {"tier": "web"}
        ports = by_port()
        assert ports[8080]["ports"] == [{"name": "web", "port": 8080, "protocol": "TCP"}]
        address = ports[9090]["addresses"][0]
        p3 = api.get("pods", "p3")
        assert address["ip"] == p3["status"]["podIP"]
        assert address["nodeName"] == p3["spec"]["nodeName"]
        assert address["targetRef"] == {
            "kind": "Pod",
            "namespace": namespace,
            "name": "p3",
            "uid": p3["metadata"]["uid"],
        }
        # A change that does not matter to the endpoints writes nothing.
        version = ep["metadata"]["resourceVersion"]
        api.patch("pods", "p1", {"metadata": {"annotations": {"note": "x"}}})
        time.sleep(0.5)
        assert api.get("endpoints", "svc")["metadata"]["resourceVersion"] == version
        # p2 turns ready; p1 is deleted (terminating pods leave at once).
        ready["p2"] = True
        api.delete("pods", "p1")
        expected = {8080: (["p2"], []), 9090: (["p3"], [])}
        eventually(lambda: names() == expected, timeout=20, message="p2 ready, p1 gone")
        # publishNotReadyAddresses lists a not-ready pod among the ready ones.
        ready["p4"] = False
        api.create("pods", _web_pod("p4", 9090, False))
        expected = {8080: (["p2"], []), 9090: (["p3"], ["p4"])}
        eventually(lambda: names() == expected, timeout=20, message="p4 not ready")
        api.patch("services", "svc", {"spec": {"publishNotReadyAddresses": True}})
        expected = {8080: (["p2"], []), 9090: (["p3", "p4"], [])}
        eventually(lambda: names() == expected, timeout=20, message="p4 published")
        api.delete("services", "svc")
        eventually(
            lambda: api.get("endpoints", "svc") is None, timeout=20, message="endpoints deleted"
        )


# ---- endpoint slices -------------------------------------------------------------------

SERVICE_NAME = "kubernetes.io/service-name"
MANAGED_BY = "endpointslice.kubernetes.io/managed-by"


def _slices(api: Api, service: str) -> list[Obj]:
    return api.items("endpointslices", f"{SERVICE_NAME}={service}")


def _slice_service(name: str, port: Obj) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "labels": {"tier": "web"}},
        "spec": {"selector": {"app": name}, "ports": [port]},
    }


def test_endpointslices_follow_ready_and_not_ready_pods(manager, api, apiserver, namespace):
    ready = {"p1": True, "p2": True, "p3": True, "p4": False}
    with (
        apiserver.http() as client,
        FakeCluster(client, namespace, ["a"], ready=lambda pod: ready[pod["metadata"]["name"]]),
    ):
        for name, is_ready_ in ready.items():
            api.create("pods", _web_pod(name, 8080, is_ready_))
        svc = api.create("services", _slice_service("svc", {"port": 80, "targetPort": "http"}))

        def conditions() -> dict[str, Obj]:
            return {
                e["targetRef"]["name"]: e["conditions"]
                for s in _slices(api, "svc")
                for e in s.get("endpoints") or []
            }

        up = {"ready": True, "serving": True, "terminating": False}
        down = {"ready": False, "serving": False, "terminating": False}
        expected = {"p1": up, "p2": up, "p3": up, "p4": down}
        eventually(
            lambda: conditions() == expected, timeout=20, message=f"slice endpoints {expected}"
        )
        (eps,) = _slices(api, "svc")
        md = eps["metadata"]
        assert md["name"].startswith("svc-") and len(md["name"]) == len("svc-") + 5
        assert md["generateName"] == "svc-"
        assert md["labels"] == {
            "tier": "web",
            SERVICE_NAME: "svc",
            MANAGED_BY: "endpointslice-controller.k8s.io",
        }
        assert md["ownerReferences"] == [
            {
                "apiVersion": "v1",
                "kind": "Service",
                "name": "svc",
                "uid": svc["metadata"]["uid"],
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ]
        assert eps["addressType"] == "IPv4"
        assert eps["ports"] == [{"name": "", "port": 8080, "protocol": "TCP"}]
        p1 = api.get("pods", "p1")
        (endpoint,) = [e for e in eps["endpoints"] if e["targetRef"]["name"] == "p1"]
        assert endpoint["addresses"] == [p1["status"]["podIP"]]
        assert endpoint["nodeName"] == p1["spec"]["nodeName"]
        assert endpoint["targetRef"] == {
            "kind": "Pod",
            "namespace": namespace,
            "name": "p1",
            "uid": p1["metadata"]["uid"],
        }
        # Scaling: p5 comes, p1 goes, p4 turns ready; the same slice is rewritten.
        ready["p4"] = ready["p5"] = True
        api.create("pods", _web_pod("p5", 8080, True))
        api.delete("pods", "p1")
        expected = {"p2": up, "p3": up, "p4": up, "p5": up}
        eventually(lambda: conditions() == expected, timeout=20, message="p5 in, p1 out, p4 ready")
        (after,) = _slices(api, "svc")
        assert after["metadata"]["name"] == md["name"]
        assert after["metadata"]["generation"] > md["generation"]
        # Deleting the Service deletes its slices (ownerReference + garbage collector).
        api.delete("services", "svc")
        eventually(
            lambda: not _slices(api, "svc"),
            timeout=20,
            message="the slices deleted with the service",
        )


def test_more_than_100_pods_are_split_into_slices(manager, api, apiserver, namespace):
    with apiserver.http() as client, FakeCluster(client, namespace, ["a", "b"], ready_delay=0):
        for i in range(105):
            api.create("pods", _web_pod(f"p{i:03d}", 8080, True, app="many"))
        eventually(
            lambda: sum(is_ready(p) for p in api.items("pods")) == 105,
            timeout=60,
            message="105 ready pods",
        )
        # With every pod ready before the Service exists, one reconcile lays them out.
        port = {"name": "web", "port": 80, "targetPort": 8080}
        api.create("services", _slice_service("many", port))

        def sizes() -> list[int]:
            return sorted(len(s.get("endpoints") or []) for s in _slices(api, "many"))

        eventually(lambda: sizes() == [5, 100], timeout=20, message="slices of 100 and 5")
        slices = _slices(api, "many")
        names = {s["metadata"]["name"] for s in slices}
        pods = {e["targetRef"]["name"] for s in slices for e in s["endpoints"]}
        assert len(pods) == 105
        assert all(s["ports"] == [{"name": "web", "port": 8080, "protocol": "TCP"}] for s in slices)
        # Ten pods of the full slice go: it shrinks in place; nothing is rebalanced.
        full = next(s for s in slices if len(s["endpoints"]) == 100)
        for endpoint in full["endpoints"][:10]:
            api.delete("pods", endpoint["targetRef"]["name"])
        eventually(lambda: sizes() == [5, 90], timeout=20, message="the full slice down to 90")
        assert {s["metadata"]["name"] for s in _slices(api, "many")} == names
        api.delete("services", "many")
        eventually(
            lambda: not _slices(api, "many"),
            timeout=20,
            message="the slices deleted with the service",
        )


def test_kubectl_describe_service_shows_slice_endpoints(
    manager, api, apiserver, namespace, kubectl
):
    ready = {"r1": True, "r2": True, "n1": False}
    with (
        apiserver.http() as client,
        FakeCluster(client, namespace, ["a"], ready=lambda pod: ready[pod["metadata"]["name"]]),
    ):
        for name, is_ready_ in ready.items():
            api.create("pods", _web_pod(name, 8080, is_ready_))
        port = {"name": "web", "port": 80, "targetPort": "http"}
        api.create("services", _slice_service("svc", port))
        eventually(
            lambda: (
                sorted(
                    e["conditions"]["ready"] for s in _slices(api, "svc") for e in s["endpoints"]
                )
                == [False, True, True]
            ),
            timeout=20,
            message="two ready endpoints and one not ready",
        )
        ips = {n: api.get("pods", n)["status"]["podIP"] for n in ready}
        out = kubectl.run("-n", namespace, "describe", "service", "svc").stdout
        (line,) = [x for x in out.splitlines() if x.startswith("Endpoints:")]
        listed = line.split(None, 1)[1].split(",")
        assert sorted(listed) == sorted(f"{ips[n]}:8080" for n in ("r1", "r2")), out
        table = kubectl.run("-n", namespace, "get", "endpointslices").stdout
        header, row = table.splitlines()
        assert header.split() == ["NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"]
        name, address_type, ports, endpoints, _age = row.split()
        assert (name[:4], address_type, ports) == ("svc-", "IPv4", "8080")
        assert sorted(endpoints.split(",")) == sorted(ips.values())


def test_services_without_selector_are_left_alone(manager, api):
    api.create(
        "services",
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": "manual"},
            "spec": {"ports": [{"port": 80}]},
        },
    )
    manual = {
        "apiVersion": "v1",
        "kind": "Endpoints",
        "metadata": {"name": "manual"},
        "subsets": [{"addresses": [{"ip": "10.1.2.3"}], "ports": [{"port": 80}]}],
    }
    api.create("endpoints", manual)
    time.sleep(1)
    ep = api.get("endpoints", "manual")
    assert ep["subsets"][0]["addresses"] == [{"ip": "10.1.2.3"}]
    assert _slices(api, "manual") == []  # no managed EndpointSlices either


# ---- nodes -----------------------------------------------------------------------------


def test_unreachable_node_is_tainted_its_pods_evicted_and_it_recovers(
    manager, api, http, apiserver, namespace
):
    tolerate_2s = [
        {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute",
         "tolerationSeconds": 2},
    ]  # fmt: skip
    body = deployment("web", replicas=2)
    body["spec"]["template"]["spec"]["tolerations"] = tolerate_2s
    with (
        apiserver.http() as client,
        FakeCluster(client, namespace, ["a", "b"], zone=namespace) as fake,
    ):
        fake.schedulable = {"a"}
        api.create("deployments", body)
        eventually(rollout_done(api, "web"), timeout=20)
        node_a = fake.node_name("a")
        first = {p["metadata"]["name"] for p in api.active_pods()}
        assert {p["spec"]["nodeName"] for p in api.active_pods()} == {node_a}
        fake.schedulable = {"a", "b"}
        fake.kill("a")
        killed_at = time.monotonic()

        def tainted() -> Obj | None:
            node = http.get(f"/api/v1/nodes/{node_a}").json()
            taints = {(t["key"], t["effect"]) for t in node["spec"].get("taints") or []}
            return node if ("node.kubernetes.io/unreachable", "NoExecute") in taints else None

        node = eventually(tainted, timeout=GRACE + 6, message="the unreachable taint")
        assert time.monotonic() - killed_at >= GRACE - 0.5
        ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
        assert ready["status"] == "Unknown" and ready["reason"] == "NodeStatusUnknown"
        assert ready["message"] == "Kubelet stopped posting node status."
        # Pods on it are marked not ready, then evicted after their 2 s toleration,
        # replaced on node b, and (stuck terminating there) force-deleted.
        eventually(
            lambda: (
                not any(is_ready(p) for p in api.items("pods") if p["spec"]["nodeName"] == node_a)
            ),
            timeout=20,
            message="pods marked not ready",
        )

        def replaced() -> bool:
            pods = api.items("pods")
            names = {p["metadata"]["name"] for p in pods}
            on_b = [p for p in pods if p["spec"].get("nodeName") == fake.node_name("b")]
            return not (names & first) and len(on_b) == 2 and all(is_ready(p) for p in on_b)

        eventually(replaced, timeout=15, message="pods evicted, replaced on b, old ones gone")
        fake.revive("a")

        def untainted() -> bool:
            node = http.get(f"/api/v1/nodes/{node_a}").json()
            return not node["spec"].get("taints")

        eventually(untainted, timeout=10, message="taints removed")


def test_pods_of_a_deleted_node_are_garbage_collected(manager, api, http, namespace):
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "lost"},
        "spec": {"containers": [{"name": "c", "image": "busybox:1"}]},
    }
    api.create("pods", pod)
    binding = {
        "apiVersion": "v1",
        "kind": "Binding",
        "metadata": {"name": "lost"},
        "target": {"apiVersion": "v1", "kind": "Node", "name": f"{namespace}-ghost"},
    }
    r = http.post(f"/api/v1/namespaces/{namespace}/pods/lost/binding", json=binding)
    assert r.status_code == 201, r.text
    eventually(
        lambda: api.get("pods", "lost") is None, timeout=10, message="the orphaned pod deleted"
    )


# ---- crash safety ----------------------------------------------------------------------


def test_killed_mid_rollout_finishes_after_restart_without_duplicates(
    manager, api, cluster, http, namespace, kubectl
):
    strategy = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    api.create("deployments", deployment("web", replicas=4, strategy=strategy))
    eventually(rollout_done(api, "web"), timeout=20)
    cluster.ready_delay = 1.0
    census = PodCensus(http, namespace, "app=web")
    try:
        api.patch(
            "deployments",
            "web",
            {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "busybox:2"}]}}}},
            "strategic",
        )
        eventually(
            lambda: (
                len(api.items("replicasets")) == 2
                and any(
                    p["spec"]["containers"][0]["image"] == "busybox:2" for p in api.active_pods()
                )
            ),
            timeout=20,
            message="the rollout under way",
        )
        manager.kill()
        time.sleep(1.5)  # the fake kubelets carry on; nothing reconciles
        manager.start()
        kubectl.run(
            "rollout", "status", "deployment/web", "-n", namespace, "--timeout=60s", timeout=70
        )
        time.sleep(0.5)
    finally:
        census.stop()
        if not manager.alive():
            manager.start()
    assert census.max_active <= 5, census.samples
    assert len(api.items("replicasets")) == 2
    pods = api.active_pods()
    assert len(pods) == 4 and {p["spec"]["containers"][0]["image"] for p in pods} == {"busybox:2"}
