"""StatefulSets without Docker: a real etcd and apiserver of their own, the real
scheduler and controller manager (with the local-path provisioner) as processes, and
fake kubelets (tests/support/fakenode.py) on nodes that advertise a local-path
directory. Then the real kubectl: get, describe, scale and `rollout
status|history|undo sts`."""

from __future__ import annotations

import json
import secrets
import threading
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
STS_PATH = "/apis/apps/v1/namespaces/{ns}/statefulsets"
MERGE = {"Content-Type": "application/merge-patch+json"}


class Cluster:
    def __init__(self, kubeconfig: Path, workdir: Path, http: httpx.Client) -> None:
        self.kubeconfig = kubeconfig
        self.workdir = workdir
        self.http = http


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with private_control_plane("minik-sts-test-") as (server, workdir), server.http() as http:
        yield Cluster(server.kubeconfig, workdir, http)


@pytest.fixture
def ns(cluster: Cluster) -> Iterator[str]:
    name = f"sts-{secrets.token_hex(3)}"
    r = cluster.http.post("/api/v1/namespaces", json={"metadata": {"name": name}})
    assert r.status_code == 201, r.text
    yield name
    cluster.http.delete(f"/api/v1/namespaces/{name}")


def kubelets(cluster: Cluster, ns: str, tmp: Path, **options: Any) -> FakeCluster:
    """Two fake kubelets with local-path directories; the real scheduler binds."""
    fake = FakeCluster(cluster.http, ns, ["a", "b"], **options)
    fake.schedulable = set()
    fake.start()
    for short in ("a", "b"):
        r = cluster.http.patch(
            f"/api/v1/nodes/{fake.node_name(short)}",
            json={"metadata": {"annotations": {"minik.io/local-path-dir": str(tmp / short)}}},
            headers=MERGE,
        )
        assert r.status_code == 200, r.text
    return fake


def statefulset(name: str, replicas: int = 3, image: str = "busybox:1", **spec: Any) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "serviceName": name,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name}},
                "spec": {
                    "terminationGracePeriodSeconds": 1,
                    "containers": [{"name": "c", "image": image}],
                },
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data"},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": "1Gi"}},
                    },
                }
            ],
            **spec,
        },
    }


def pods(cluster: Cluster, ns: str, app: str) -> dict[str, Obj]:
    r = cluster.http.get(f"/api/v1/namespaces/{ns}/pods", params={"labelSelector": f"app={app}"})
    return {
        p["metadata"]["name"]: p
        for p in r.json()["items"]
        if not p["metadata"].get("deletionTimestamp")
    }


def claims(cluster: Cluster, ns: str) -> dict[str, Obj]:
    r = cluster.http.get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims")
    return {c["metadata"]["name"]: c for c in r.json()["items"]}


def status(cluster: Cluster, ns: str, name: str) -> Obj:
    return cluster.http.get(f"{STS_PATH.format(ns=ns)}/{name}").json().get("status") or {}


def ready(pod: Obj) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod.get("status") or {}).get("conditions") or []
    )


def test_ordered_pods_with_identity_and_claims_that_survive(cluster, ns, tmp_path):
    allowed = {"web-0"}
    lock = threading.Lock()

    def may_be_ready(pod: Obj) -> bool:
        with lock:
            return pod["metadata"]["name"] in allowed

    fake = kubelets(cluster, ns, tmp_path, ready=may_be_ready)
    try:
        svc = {
            "metadata": {"name": "web"},
            "spec": {"clusterIP": "None", "selector": {"app": "web"}, "ports": [{"port": 80}]},
        }
        assert cluster.http.post(f"/api/v1/namespaces/{ns}/services", json=svc).is_success
        r = cluster.http.post(STS_PATH.format(ns=ns), json=statefulset("web"))
        assert r.status_code == 201, r.text
        created = r.json()
        assert created["spec"]["podManagementPolicy"] == "OrderedReady"
        assert created["status"] == {"replicas": 0, "availableReplicas": 0}

        # web-1 waits while web-0 is Running but not Ready
        with lock:
            allowed.clear()

        def web0_running_alone() -> bool:
            got = pods(cluster, ns, "web")
            assert list(got) == ["web-0"], list(got)
            assert got["web-0"].get("status", {}).get("phase") == "Running"
            assert status(cluster, ns, "web").get("replicas") == 1
            return True

        eventually(web0_running_alone, timeout=30)
        assert "web-1" not in pods(cluster, ns, "web")
        with lock:
            allowed.update({"web-0", "web-1", "web-2"})
        eventually(lambda: status(cluster, ns, "web").get("readyReplicas") == 3, timeout=40)
        got = pods(cluster, ns, "web")
        assert sorted(got) == ["web-0", "web-1", "web-2"]
        stamps = [got[f"web-{i}"]["metadata"]["creationTimestamp"] for i in range(3)]
        assert stamps == sorted(stamps)
        web1 = got["web-1"]
        assert (web1["spec"]["hostname"], web1["spec"]["subdomain"]) == ("web-1", "web")
        labels = web1["metadata"]["labels"]
        assert labels["statefulset.kubernetes.io/pod-name"] == "web-1"
        assert labels["apps.kubernetes.io/pod-index"] == "1"
        st = status(cluster, ns, "web")
        assert labels["controller-revision-hash"] == st["currentRevision"] == st["updateRevision"]
        assert st["observedGeneration"] == 1 and st["availableReplicas"] == 3
        assert web1["spec"]["volumes"][0] == {
            "name": "data",
            "persistentVolumeClaim": {"claimName": "data-web-1"},
        }
        pvcs = claims(cluster, ns)
        assert sorted(pvcs) == ["data-web-0", "data-web-1", "data-web-2"]
        assert pvcs["data-web-0"]["metadata"]["labels"] == {"app": "web"}
        eventually(
            lambda: all(c["status"]["phase"] == "Bound" for c in claims(cluster, ns).values()),
            timeout=30,
        )

        # the headless Service's endpoints name each pod by its hostname
        def endpoint_hostnames() -> list[str]:
            ep = cluster.http.get(f"/api/v1/namespaces/{ns}/endpoints/web").json()
            names = sorted(
                a.get("hostname", "")
                for s in ep.get("subsets") or []
                for a in s.get("addresses") or []
            )
            assert names == ["web-0", "web-1", "web-2"], names
            return True

        eventually(endpoint_hostnames, timeout=20)

        # a deleted pod comes back under its name, with its claim
        old_uid = got["web-1"]["metadata"]["uid"]
        volume = pvcs["data-web-1"]["spec"].get("volumeName") or claims(cluster, ns)["data-web-1"][
            "spec"
        ].get("volumeName")
        cluster.http.delete(f"/api/v1/namespaces/{ns}/pods/web-1")

        def recreated() -> bool:
            p = pods(cluster, ns, "web").get("web-1")
            assert p is not None and p["metadata"]["uid"] != old_uid and ready(p)
            return True

        eventually(recreated, timeout=30)
        assert claims(cluster, ns)["data-web-1"]["spec"]["volumeName"] == volume
    finally:
        fake.stop()


def test_scale_down_highest_first_and_claim_retention(cluster, ns, tmp_path):
    fake = kubelets(cluster, ns, tmp_path)
    try:
        sts = statefulset(
            "db",
            podManagementPolicy="Parallel",
            persistentVolumeClaimRetentionPolicy={"whenDeleted": "Retain", "whenScaled": "Delete"},
        )
        assert cluster.http.post(STS_PATH.format(ns=ns), json=sts).status_code == 201
        eventually(lambda: status(cluster, ns, "db").get("readyReplicas") == 3, timeout=40)
        r = cluster.http.patch(
            f"{STS_PATH.format(ns=ns)}/db/scale", json={"spec": {"replicas": 1}}, headers=MERGE
        )
        assert r.status_code == 200, r.text
        assert r.json()["kind"] == "Scale" and r.json()["status"]["selector"] == "app=db"
        eventually(lambda: sorted(pods(cluster, ns, "db")) == ["db-0"], timeout=30)
        # whenScaled=Delete: the claims of the pods scaled away go with them
        eventually(lambda: sorted(claims(cluster, ns)) == ["data-db-0"], timeout=30)
        assert not claims(cluster, ns)["data-db-0"]["metadata"].get("ownerReferences")
        eventually(lambda: status(cluster, ns, "db").get("replicas") == 1, timeout=20)
    finally:
        fake.stop()


def image_of(cluster: Cluster, ns: str, app: str) -> dict[str, str]:
    return {n: p["spec"]["containers"][0]["image"] for n, p in pods(cluster, ns, app).items()}


def test_partitioned_rolling_update_and_on_delete(cluster, ns, tmp_path):
    kubectl = Kubectl(cluster.kubeconfig, tmp_path / "cache")
    fake = kubelets(cluster, ns, tmp_path)
    try:
        part = statefulset(
            "part",
            podManagementPolicy="Parallel",
            updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 2}},
        )
        manual = statefulset("manual", 2, updateStrategy={"type": "OnDelete"})
        for body in (part, manual):
            assert cluster.http.post(STS_PATH.format(ns=ns), json=body).status_code == 201
        for name, count in (("part", 3), ("manual", 2)):
            eventually(
                lambda n=name, c=count: status(cluster, ns, n).get("readyReplicas") == c,
                timeout=40,
            )
            kubectl.run("set", "image", f"sts/{name}", "c=busybox:2", "-n", ns)

        # only the ordinals at or above the partition move to the new revision
        def partitioned() -> bool:
            assert image_of(cluster, ns, "part") == {
                "part-0": "busybox:1",
                "part-1": "busybox:1",
                "part-2": "busybox:2",
            }
            st = status(cluster, ns, "part")
            assert st.get("updatedReplicas") == 1 and st.get("readyReplicas") == 3, st
            assert st["currentRevision"] != st["updateRevision"]
            return True

        eventually(partitioned, timeout=40)
        out = kubectl.run("rollout", "status", "sts/part", "-n", ns, timeout=30).stdout
        assert "partitioned roll out complete: 1 new pods have been updated..." in out

        # OnDelete: nothing moves until a pod is deleted by hand
        eventually(lambda: status(cluster, ns, "manual").get("observedGeneration") == 2)
        assert image_of(cluster, ns, "manual") == {"manual-0": "busybox:1", "manual-1": "busybox:1"}
        cluster.http.delete(f"/api/v1/namespaces/{ns}/pods/manual-1")
        eventually(
            lambda: (
                image_of(cluster, ns, "manual")
                == {"manual-0": "busybox:1", "manual-1": "busybox:2"}
            ),
            timeout=30,
        )
    finally:
        fake.stop()


def test_bad_and_immutable_statefulsets_are_refused(cluster, ns):
    bad = statefulset("bad")
    bad["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    r = cluster.http.post(STS_PATH.format(ns=ns), json=bad)
    assert r.status_code == 422
    assert r.json()["details"]["causes"][0]["field"] == "spec.template.metadata.labels"
    assert cluster.http.get(f"{STS_PATH.format(ns=ns)}/bad").status_code == 404
    assert cluster.http.post(STS_PATH.format(ns=ns), json=statefulset("ok", 0)).is_success
    r = cluster.http.patch(
        f"{STS_PATH.format(ns=ns)}/ok", json={"spec": {"serviceName": "other"}}, headers=MERGE
    )
    assert r.status_code == 422
    body = r.json()
    assert '"ok" is invalid: spec: Forbidden: ' in body["message"]
    assert "updates to statefulset spec for fields other than 'replicas'" in body["message"]


@pytest.mark.parametrize("minor", MINORS, ids=lambda m: m or "default")
def test_kubectl_get_scale_rollout_status_history_undo(cluster, ns, minor, tmp_path):
    kubectl = installed_kubectl(minor, cluster.kubeconfig, tmp_path / "cache")
    fake = kubelets(cluster, ns, tmp_path)
    try:
        manifest = statefulset("web", replicas=2, podManagementPolicy="Parallel")
        kubectl.run("apply", "-n", ns, "-f", "-", input=json.dumps(manifest))
        out = kubectl.run("rollout", "status", "sts/web", "-n", ns, timeout=60).stdout
        assert "partitioned roll out complete: 2 new pods have been updated..." in out
        table = kubectl.run("get", "sts", "-n", ns).stdout.splitlines()
        assert table[0].split() == ["NAME", "READY", "AGE"]
        assert table[1].split()[:2] == ["web", "2/2"]
        wide = kubectl.run("get", "statefulsets", "-n", ns, "-o", "wide").stdout.splitlines()
        assert wide[0].split() == ["NAME", "READY", "AGE", "CONTAINERS", "IMAGES"]
        assert wide[1].split()[-2:] == ["c", "busybox:1"]

        out = kubectl.run("scale", "sts/web", "--replicas=3", "-n", ns).stdout
        assert "statefulset.apps/web scaled" in out
        eventually(lambda: status(cluster, ns, "web").get("readyReplicas") == 3, timeout=40)

        kubectl.run("set", "image", "sts/web", "c=busybox:2", "-n", ns)
        out = kubectl.run("rollout", "status", "sts/web", "-n", ns, timeout=90).stdout
        assert "partitioned roll out complete: 3 new pods have been updated..." in out
        images = {p["spec"]["containers"][0]["image"] for p in pods(cluster, ns, "web").values()}
        assert images == {"busybox:2"}

        revisions = kubectl.run("get", "controllerrevisions", "-n", ns).stdout.splitlines()
        assert sorted(line.split()[1:3] for line in revisions[1:]) == [
            ["statefulset.apps/web", "1"],
            ["statefulset.apps/web", "2"],
        ]
        history = kubectl.run("rollout", "history", "sts/web", "-n", ns).stdout
        assert "REVISION" in history and "1 " in history and "2 " in history
        detail = kubectl.run("rollout", "history", "sts/web", "-n", ns, "--revision=1").stdout
        assert "busybox:1" in detail

        kubectl.run("rollout", "undo", "sts/web", "-n", ns)
        out = kubectl.run("rollout", "status", "sts/web", "-n", ns, timeout=90).stdout
        assert "roll out complete" in out
        eventually(
            lambda: (
                {p["spec"]["containers"][0]["image"] for p in pods(cluster, ns, "web").values()}
                == {"busybox:1"}
            ),
            timeout=40,
        )

        def revision_numbers() -> list[int]:
            listed = kubectl.run("get", "controllerrevisions", "-n", ns, "-o", "json").stdout
            return sorted(item["revision"] for item in json.loads(listed)["items"])

        # revision 1 came back as 3 (the renumbering may land after the pods changed)
        eventually(lambda: revision_numbers() == [2, 3], timeout=20, message="revisions 2 and 3")

        described = kubectl.run("describe", "sts/web", "-n", ns).stdout
        assert "Replicas:" in described and "Pods Status:" in described
        assert "Volume Claims:" in described and "data" in described
        assert "sts" in kubectl.run("api-resources", "--api-group=apps").stdout
        kubectl.run("delete", "sts/web", "-n", ns)
        eventually(lambda: not pods(cluster, ns, "web"), timeout=30)
        assert sorted(claims(cluster, ns)) == ["data-web-0", "data-web-1", "data-web-2"]
    finally:
        fake.stop()


def test_example_manifest_server_dry_run(cluster, ns, tmp_path):
    kubectl = Kubectl(cluster.kubeconfig, tmp_path / "cache")
    example = Path(__file__).resolve().parents[2] / "examples" / "statefulset.yaml"
    out = kubectl.run("apply", "--dry-run=server", "-n", ns, "-f", str(example)).stdout
    assert "statefulset.apps/web created (server dry run)" in out
    assert "service/nginx created (server dry run)" in out
