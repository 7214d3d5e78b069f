"""DaemonSets end to end without Docker: a real etcd and apiserver of their own (so
no other test's nodes count), the real scheduler and controller manager as
processes, and fake kubelets (tests/support/fakenode.py) that run what the scheduler
binds (they bind nothing themselves). Then the real kubectl: get, describe, explain,
and `rollout status|history|undo ds`, with the machine's kubectl and 1.27 and 1.33."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.components import private_control_plane
from tests.support.fakenode import FakeCluster
from tests.support.kubectl import MINORS, Kubectl, installed_kubectl
from tests.support.wait import eventually

Obj = dict[str, Any]
DS_PATH = "/apis/apps/v1/namespaces/{ns}/daemonsets"


class Cluster:
    def __init__(self, kubeconfig: Path, workdir: Path, http: httpx.Client) -> None:
        self.kubeconfig = kubeconfig
        self.workdir = workdir
        self.http = http


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with private_control_plane("minik-daemonset-test-") as (server, workdir), server.http() as http:
        yield Cluster(server.kubeconfig, workdir, http)


@pytest.fixture
def ns(cluster: Cluster) -> Iterator[str]:
    name = f"ds-{__import__('secrets').token_hex(3)}"
    r = cluster.http.post("/api/v1/namespaces", json={"metadata": {"name": name}})
    assert r.status_code == 201, r.text
    yield name
    cluster.http.delete(f"/api/v1/namespaces/{name}")


def kubelets(cluster: Cluster, ns: str, names: list[str], **options: Any) -> FakeCluster:
    """Fake kubelets that leave binding to the real scheduler."""
    fake = FakeCluster(cluster.http, ns, names, **options)
    fake.schedulable = set()
    return fake


def daemonset(name: str, image: str = "busybox:1", **spec: Any) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": name},
        "spec": {
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


def pods(cluster: Cluster, ns: str, app: str) -> list[Obj]:
    r = cluster.http.get(f"/api/v1/namespaces/{ns}/pods", params={"labelSelector": f"app={app}"})
    return [p for p in r.json()["items"] if not p["metadata"].get("deletionTimestamp")]


def nodes_running(cluster: Cluster, ns: str, app: str) -> list[str]:
    return sorted(
        p["spec"].get("nodeName", "")
        for p in pods(cluster, ns, app)
        if p.get("status", {}).get("phase") == "Running"
    )


def status(cluster: Cluster, ns: str, name: str) -> Obj:
    return cluster.http.get(f"{DS_PATH.format(ns=ns)}/{name}").json().get("status") or {}


def test_one_pod_per_node_a_joining_node_gets_one_a_tainted_node_none(cluster, ns):
    with kubelets(cluster, ns, ["a", "b", "c"]) as fake:
        r = cluster.http.post(DS_PATH.format(ns=ns), json=daemonset("agent"))
        assert r.status_code == 201, r.text
        created = r.json()
        assert created["spec"]["updateStrategy"] == {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0},
        }
        assert created["spec"]["revisionHistoryLimit"] == 10
        names = sorted(fake.node_name(n) for n in ("a", "b", "c"))
        eventually(lambda: nodes_running(cluster, ns, "agent") == names, timeout=20)
        pod = pods(cluster, ns, "agent")[0]
        assert pod["metadata"]["labels"]["pod-template-generation"] == "1"
        assert pod["metadata"]["labels"]["controller-revision-hash"]
        required = pod["spec"]["affinity"]["nodeAffinity"][
            "requiredDuringSchedulingIgnoredDuringExecution"
        ]
        assert required["nodeSelectorTerms"][0]["matchFields"][0]["values"] == [
            pod["spec"]["nodeName"]
        ]
        keys = {t["key"] for t in pod["spec"]["tolerations"]}
        assert "node.kubernetes.io/unschedulable" in keys
        assert "node.kubernetes.io/not-ready" in keys
        eventually(
            lambda: (
                status(cluster, ns, "agent").get("numberAvailable") == 3
                and status(cluster, ns, "agent").get("desiredNumberScheduled") == 3
            ),
            timeout=20,
        )

        with kubelets(cluster, ns, ["d"]) as joined:
            names4 = sorted([*names, joined.node_name("d")])
            eventually(lambda: nodes_running(cluster, ns, "agent") == names4, timeout=20)

            # cordoning keeps the pod; a NoSchedule taint on a new node keeps it off
            cordon = {"spec": {"unschedulable": True}}
            cluster.http.patch(
                f"/api/v1/nodes/{fake.node_name('a')}",
                json=cordon,
                headers={"Content-Type": "application/merge-patch+json"},
            ).raise_for_status()
            taint = {"key": "dedicated", "value": "db", "effect": "NoSchedule"}
            with kubelets(cluster, ns, ["e"], taints=[taint]) as tainted:
                eventually(
                    lambda: (
                        status(cluster, ns, "agent").get("desiredNumberScheduled") == 4
                        and status(cluster, ns, "agent").get("numberAvailable") == 4
                    ),
                    timeout=20,
                )
                assert nodes_running(cluster, ns, "agent") == names4
                assert tainted.node_name("e") not in nodes_running(cluster, ns, "agent")

            # a node that stops matching the nodeSelector loses its pod
            patch = {"spec": {"template": {"spec": {"nodeSelector": {"daemon": "yes"}}}}}
            for node in ("b", "c"):
                cluster.http.patch(
                    f"/api/v1/nodes/{fake.node_name(node)}",
                    json={"metadata": {"labels": {"daemon": "yes"}}},
                    headers={"Content-Type": "application/merge-patch+json"},
                ).raise_for_status()
            cluster.http.patch(
                f"{DS_PATH.format(ns=ns)}/agent",
                json=patch,
                headers={"Content-Type": "application/strategic-merge-patch+json"},
            ).raise_for_status()
            wanted = sorted(fake.node_name(n) for n in ("b", "c"))
            eventually(lambda: nodes_running(cluster, ns, "agent") == wanted, timeout=30)
            eventually(lambda: status(cluster, ns, "agent").get("updatedNumberScheduled") == 2)


def test_bad_daemonsets_are_refused_with_the_field(cluster, ns):
    bad = daemonset("bad")
    bad["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    r = cluster.http.post(DS_PATH.format(ns=ns), json=bad)
    assert r.status_code == 422
    assert r.json()["details"]["causes"][0]["field"] == "spec.template.metadata.labels"
    surge = daemonset("surge", updateStrategy={"type": "RollingUpdate", "rollingUpdate": {
        "maxUnavailable": 1, "maxSurge": 1}})  # fmt: skip
    r = cluster.http.post(DS_PATH.format(ns=ns), json=surge)
    assert r.status_code == 422
    assert "spec.updateStrategy.rollingUpdate.maxSurge" in r.text
    assert cluster.http.get(f"{DS_PATH.format(ns=ns)}/surge").status_code == 404


@pytest.mark.parametrize("minor", MINORS, ids=lambda m: m or "default")
def test_kubectl_rollout_status_history_undo(cluster, ns, minor, tmp_path):
    kubectl = installed_kubectl(minor, cluster.kubeconfig, tmp_path / "cache")
    with kubelets(cluster, ns, ["a", "b"]):
        manifest = daemonset("web", image="busybox:1")
        kubectl.run("apply", "-n", ns, "-f", "-", input=json.dumps(manifest))
        out = kubectl.run("rollout", "status", "ds/web", "-n", ns, timeout=40).stdout
        assert 'daemon set "web" successfully rolled out' in out
        table = kubectl.run("get", "ds", "-n", ns).stdout.splitlines()
        assert table[0].split() == ["NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE",
                                    "AVAILABLE", "NODE", "SELECTOR", "AGE"]  # fmt: skip
        assert table[1].split()[:7] == ["web", "2", "2", "2", "2", "2", "<none>"]
        wide = kubectl.run("get", "ds", "-n", ns, "-o", "wide").stdout.splitlines()
        assert wide[1].split()[-3:] == ["c", "busybox:1", "app=web"]

        kubectl.run("set", "image", "ds/web", "c=busybox:2", "-n", ns)
        out = kubectl.run("rollout", "status", "ds/web", "-n", ns, timeout=60).stdout
        assert 'daemon set "web" successfully rolled out' in out
        images = {p["spec"]["containers"][0]["image"] for p in pods(cluster, ns, "web")}
        assert images == {"busybox:2"}

        revisions = kubectl.run("get", "controllerrevisions", "-n", ns).stdout.splitlines()
        assert revisions[0].split() == ["NAME", "CONTROLLER", "REVISION", "AGE"]
        assert sorted(line.split()[1:3] for line in revisions[1:]) == [
            ["daemonset.apps/web", "1"],
            ["daemonset.apps/web", "2"],
        ]
        history = kubectl.run("rollout", "history", "ds/web", "-n", ns).stdout
        assert "REVISION" in history and "1 " in history and "2 " in history
        detail = kubectl.run("rollout", "history", "ds/web", "-n", ns, "--revision=1").stdout
        assert "busybox:1" in detail

        kubectl.run("rollout", "undo", "ds/web", "-n", ns)
        out = kubectl.run("rollout", "status", "ds/web", "-n", ns, timeout=60).stdout
        assert "successfully rolled out" in out
        eventually(
            lambda: (
                {p["spec"]["containers"][0]["image"] for p in pods(cluster, ns, "web")}
                == {"busybox:1"}
            ),
            timeout=30,
        )
        revisions = kubectl.run("get", "controllerrevisions", "-n", ns, "-o", "json").stdout
        numbers = sorted(item["revision"] for item in json.loads(revisions)["items"])
        assert numbers == [2, 3]  # revision 1 came back as 3

        described = kubectl.run("describe", "ds/web", "-n", ns).stdout
        assert "Desired Number of Nodes Scheduled: 2" in described
        explained = kubectl.run("explain", "daemonset.spec.updateStrategy").stdout
        assert "rollingUpdate" in explained
        kubectl.run("delete", "ds/web", "-n", ns)
        eventually(lambda: not pods(cluster, ns, "web"), timeout=20)


def test_example_manifest_and_kubectl_create(cluster, ns, tmp_path):
    kubectl = Kubectl(cluster.kubeconfig, tmp_path / "cache")
    example = Path(__file__).resolve().parents[2] / "examples" / "daemonset.yaml"
    out = kubectl.run("apply", "--dry-run=server", "-n", ns, "-f", str(example)).stdout
    assert "daemonset.apps/node-agent created (server dry run)" in out
    out = kubectl.run("create", "-n", ns, "-f", "-", input=json.dumps(daemonset("made"))).stdout
    assert "daemonset.apps/made created" in out
    got = json.loads(kubectl.run("get", "ds/made", "-n", ns, "-o", "json").stdout)
    assert got["metadata"]["annotations"]["deprecated.daemonset.template.generation"] == "1"
    assert kubectl.run("get", "ds", "-n", ns, "-o", "name").stdout.split() == [
        "daemonset.apps/made"
    ]
    assert "daemonset.apps/made" in kubectl.run("get", "all", "-n", ns, "-o", "name").stdout


def test_failed_daemon_pods_are_replaced_with_back_off(cluster, ns):
    """The node's kubelet stops (its pods then only change when we say so): each daemon
    pod we fail is deleted and replaced, the second failure after 1s of back-off, the
    third after 2s, with a FailedDaemonPod event each time."""
    with kubelets(cluster, ns, ["a"]) as fake:
        cluster.http.post(DS_PATH.format(ns=ns), json=daemonset("crashy")).raise_for_status()
        node = fake.node_name("a")
        eventually(lambda: nodes_running(cluster, ns, "crashy") == [node], timeout=20)
        fake.kill("a")
        lifetimes = []
        for _ in range(3):
            [pod] = eventually(lambda: pods(cluster, ns, "crashy"), timeout=20)
            path = f"/api/v1/namespaces/{ns}/pods/{pod['metadata']['name']}/status"

            def fail(path: str = path) -> bool:
                """Failed; a 409 (the scheduler's binding of a fresh pod) means read again."""
                live = cluster.http.get(path).json()
                failed = {**live, "status": {**live["status"], "phase": "Failed"}}
                r = cluster.http.put(path, json=failed)
                if r.status_code == 409:
                    return False
                r.raise_for_status()
                return True

            eventually(fail, timeout=10, message="the pod failed")
            failed_at = time.monotonic()
            uid = pod["metadata"]["uid"]
            eventually(
                lambda uid=uid: (
                    [p["metadata"]["uid"] for p in pods(cluster, ns, "crashy")] not in ([], [uid])
                ),
                timeout=20,
                message="a replacement pod",
            )
            lifetimes.append(time.monotonic() - failed_at)
        # the first goes at once; then 1s and 2s from the previous deletion
        assert lifetimes[0] < 1.0, lifetimes
        assert 0.5 < lifetimes[1] < lifetimes[2], lifetimes
        assert lifetimes[2] > 1.5, lifetimes
        events = cluster.http.get(
            f"/api/v1/namespaces/{ns}/events",
            params={"fieldSelector": "reason=FailedDaemonPod"},
        ).json()["items"]
        assert sum(int(e.get("count") or 1) for e in events) == 3, events
        assert events[0]["message"].startswith(f"Found failed daemon pod {ns}/crashy-")
        assert events[0]["message"].endswith(f" on node {node}, will try to kill it")
