"""PodDisruptionBudgets, the eviction API and ReplicationControllers against the real
apiserver, the real controller manager (disruption, replicaset, replicationcontroller,
deployment controllers) and the real kubectl; `FakeCluster` plays the kubelets."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.fakenode import FakeCluster
from tests.support.kubectl import MINORS, Kubectl, Stream, binary_for, installed_kubectl
from tests.support.wait import eventually

Obj = dict[str, Any]
POLICY = "/apis/policy/v1"
REFUSED = "Cannot evict pod as it would violate the pod's disruption budget."


@pytest.fixture
def cluster(apiserver, namespace, manager) -> Iterator[FakeCluster]:
    with apiserver.http() as client, FakeCluster(client, namespace, ["a", "b"]) as fake:
        yield fake


def deployment(name: str, replicas: int) -> Obj:
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
                    "terminationGracePeriodSeconds": 0,
                    "containers": [{"name": "c", "image": "busybox:1"}],
                },
            },
        },
    }


def pdb(name: str, app: str, **spec: Any) -> Obj:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name},
        "spec": {"selector": {"matchLabels": {"app": app}}, **spec},
    }


def pdb_path(namespace: str, name: str = "") -> str:
    base = f"{POLICY}/namespaces/{namespace}/poddisruptionbudgets"
    return f"{base}/{name}" if name else base


def ready_pods(http: httpx.Client, namespace: str, app: str, count: int) -> list[Obj]:
    def check() -> list[Obj]:
        pods = http.get(
            f"/api/v1/namespaces/{namespace}/pods", params={"labelSelector": f"app={app}"}
        ).json()["items"]
        live = [p for p in pods if not p["metadata"].get("deletionTimestamp")]
        ready = [
            p
            for p in live
            if any(
                c["type"] == "Ready" and c["status"] == "True"
                for c in p["status"].get("conditions") or []
            )
        ]
        assert len(ready) == count == len(live), [p["metadata"]["name"] for p in live]
        return ready

    return eventually(check, timeout=30, message=f"{count} ready pods of {app}")


def budget_status(http: httpx.Client, namespace: str, name: str, **want: Any) -> Obj:
    def check() -> Obj:
        status = http.get(pdb_path(namespace, name)).json().get("status") or {}
        for key, value in want.items():
            assert status.get(key) == value, status
        return status

    return eventually(check, timeout=20, message=f"pdb {name} status {want}")


def evict(http: httpx.Client, namespace: str, pod: str, **options: Any) -> httpx.Response:
    body = {
        "apiVersion": "policy/v1",
        "kind": "Eviction",
        "metadata": {"name": pod, "namespace": namespace},
        "deleteOptions": options,
    }
    return http.post(f"/api/v1/namespaces/{namespace}/pods/{pod}/eviction", json=body)


def test_budget_status_and_eviction(apiserver, namespace, cluster):
    with apiserver.http() as http:
        http.post(
            f"/apis/apps/v1/namespaces/{namespace}/deployments", json=deployment("web", 2)
        ).raise_for_status()
        http.post(pdb_path(namespace), json=pdb("web", "web", minAvailable=2)).raise_for_status()
        pods = ready_pods(http, namespace, "web", 2)
        status = budget_status(
            http,
            namespace,
            "web",
            currentHealthy=2,
            desiredHealthy=2,
            expectedPods=2,
            disruptionsAllowed=0,
            observedGeneration=1,
        )
        [cond] = status["conditions"]
        assert (cond["type"], cond["status"], cond["reason"]) == (
            "DisruptionAllowed",
            "False",
            "InsufficientPods",
        )

        victim = pods[0]["metadata"]["name"]
        refused = evict(http, namespace, victim)
        assert refused.status_code == 429
        body = refused.json()
        assert body["reason"] == "TooManyRequests"
        assert body["message"] == REFUSED
        assert body["details"]["causes"] == [
            {
                "reason": "DisruptionBudget",
                "message": "The disruption budget web needs 2 healthy pods and has 2 currently",
            }
        ]

        # relax the budget: one disruption allowed; a dry run spends nothing
        http.patch(
            pdb_path(namespace, "web"),
            json={"spec": {"minAvailable": 1}},
            headers={"Content-Type": "application/merge-patch+json"},
        ).raise_for_status()
        budget_status(
            http, namespace, "web", disruptionsAllowed=1, desiredHealthy=1, observedGeneration=2
        )
        dry = http.post(
            f"/api/v1/namespaces/{namespace}/pods/{victim}/eviction",
            params={"dryRun": "All"},
            json={"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": victim}},
        )
        assert dry.status_code == 201, dry.text
        assert http.get(f"/api/v1/namespaces/{namespace}/pods/{victim}").status_code == 200
        assert http.get(pdb_path(namespace, "web")).json()["status"]["disruptionsAllowed"] == 1

        done = evict(http, namespace, victim)
        assert done.status_code == 201, done.text
        assert done.json()["status"] == "Success"
        # the second pod is protected until the replacement is ready
        other = pods[1]["metadata"]["name"]
        assert evict(http, namespace, other).status_code == 429
        ready_pods(http, namespace, "web", 2)
        budget_status(http, namespace, "web", currentHealthy=2, disruptionsAllowed=1)


def test_eviction_with_two_budgets_is_a_500(apiserver, namespace, cluster):
    with apiserver.http() as http:
        http.post(
            f"/apis/apps/v1/namespaces/{namespace}/deployments", json=deployment("api", 1)
        ).raise_for_status()
        http.post(pdb_path(namespace), json=pdb("one", "api", minAvailable=0)).raise_for_status()
        http.post(pdb_path(namespace), json=pdb("two", "api", maxUnavailable=1)).raise_for_status()
        [pod] = ready_pods(http, namespace, "api", 1)
        response = evict(http, namespace, pod["metadata"]["name"])
        assert response.status_code == 500
        assert response.json()["message"] == (
            "This pod has more than one PodDisruptionBudget, which the eviction subresource "
            "does not support."
        )


def test_pending_pod_is_evicted_without_a_budget_check(apiserver, namespace, manager):
    with apiserver.http() as http:
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "waiting", "labels": {"app": "lonely"}},
            "spec": {"containers": [{"name": "c", "image": "busybox:1"}]},
        }
        created = http.post(f"/api/v1/namespaces/{namespace}/pods", json=pod)
        created.raise_for_status()
        http.post(pdb_path(namespace), json=pdb("all", "lonely", minAvailable=5)).raise_for_status()
        dry = evict(http, namespace, "waiting", dryRun=["All"])
        assert dry.status_code == 201
        assert (
            http.get(f"/api/v1/namespaces/{namespace}/pods/waiting").json()["metadata"][
                "resourceVersion"
            ]
            == created.json()["metadata"]["resourceVersion"]
        )  # a dry run writes nothing
        assert evict(http, namespace, "waiting").status_code == 201
        assert http.get(f"/api/v1/namespaces/{namespace}/pods/waiting").status_code == 404
        # the pod got Kubernetes' DisruptionTarget condition before it went
        params = {"watch": "true", "timeoutSeconds": "5",
                  "resourceVersion": created.json()["metadata"]["resourceVersion"],
                  "fieldSelector": "metadata.name=waiting"}  # fmt: skip
        seen = []
        with http.stream("GET", f"/api/v1/namespaces/{namespace}/pods", params=params) as events:
            for line in events.iter_lines():
                event = json.loads(line)
                conditions = event["object"]["status"].get("conditions") or []
                seen.append((event["type"], [c["type"] for c in conditions]))
                if event["type"] == "DELETED":
                    break
        assert seen[0] == ("MODIFIED", ["DisruptionTarget"]), seen
        assert seen[-1][0] == "DELETED"
        target = next(c for c in conditions if c["type"] == "DisruptionTarget")
        assert (target["status"], target["reason"], target["message"]) == (
            "True",
            "EvictionByEvictionAPI",
            "Eviction API: evicting",
        )


@pytest.mark.parametrize("minor", MINORS)
def test_kubectl_pdb(apiserver, namespace, tmp_path, manager, minor):
    kubectl = installed_kubectl(minor, apiserver.kubeconfig, tmp_path / "cache")
    kubectl.run(
        "create", "pdb", "web", "-n", namespace, "--selector=app=web", "--min-available=50%"
    )
    kubectl.run("create", "pdb", "db", "-n", namespace, "--selector=app=db", "--max-unavailable=1")
    out = kubectl.run("get", "pdb", "-n", namespace).stdout.splitlines()
    assert out[0].split() == ["NAME", "MIN", "AVAILABLE", "MAX", "UNAVAILABLE", "ALLOWED",
                              "DISRUPTIONS", "AGE"]  # fmt: skip
    rows = {line.split()[0]: line.split()[1:4] for line in out[1:]}
    assert rows == {"db": ["N/A", "1", "0"], "web": ["50%", "N/A", "0"]}
    described = kubectl.run("describe", "pdb", "web", "-n", namespace).stdout
    assert "Min available:  50%" in described
    assert "Selector:       app=web" in described
    assert "Allowed disruptions:  0" in described
    explained = kubectl.run("explain", "pdb.spec.minAvailable").stdout
    assert "KIND:" in explained and "PodDisruptionBudget" in explained
    assert "FIELD:" in explained and "minAvailable" in explained
    bad = kubectl.fails(
        "create", "pdb", "bad", "-n", namespace, "--selector=app=x", "--min-available=150%"
    )
    assert "spec.minAvailable: Invalid value" in bad.stderr
    assert "must not be greater than 100%" in bad.stderr


RC = """
apiVersion: v1
kind: ReplicationController
metadata:
  name: legacy
spec:
  replicas: 2
  template:
    metadata:
      labels:
        app: legacy
    spec:
      terminationGracePeriodSeconds: 0
      containers:
      - name: c
        image: busybox:1
"""


def test_replication_controller(apiserver, namespace, kubectl: Kubectl, cluster):
    kubectl.run("apply", "-n", namespace, "-f", "-", input=RC)
    with apiserver.http() as http:
        rc = http.get(f"/api/v1/namespaces/{namespace}/replicationcontrollers/legacy").json()
        assert rc["spec"]["selector"] == {"app": "legacy"}  # defaulted from the template
        assert rc["metadata"]["labels"] == {"app": "legacy"}
        pods = ready_pods(http, namespace, "legacy", 2)
        [owner] = pods[0]["metadata"]["ownerReferences"]
        assert (owner["kind"], owner["uid"], owner["controller"]) == (
            "ReplicationController",
            rc["metadata"]["uid"],
            True,
        )

    def rc_row(desired: str) -> list[str]:
        out = kubectl.run("get", "rc", "-n", namespace).stdout.splitlines()
        assert out[0].split() == ["NAME", "DESIRED", "CURRENT", "READY", "AGE"]
        row = out[1].split()
        assert row[:4] == ["legacy", desired, desired, desired], out
        return row

    eventually(lambda: rc_row("2"), timeout=20, message="rc legacy 2/2/2")
    kubectl.run("scale", "rc", "legacy", "--replicas=3", "-n", namespace)
    eventually(lambda: rc_row("3"), timeout=30, message="rc legacy 3/3/3")
    described = kubectl.run("describe", "rc", "legacy", "-n", namespace).stdout
    assert "Replicas:     3 current / 3 desired" in described
    assert "Pods Status:  3 Running / 0 Waiting / 0 Succeeded / 0 Failed" in described
    assert "SuccessfulCreate" in described
    wide = kubectl.run("get", "rc", "legacy", "-n", namespace, "-o", "wide").stdout
    assert "app=legacy" in wide.splitlines()[1]
    # its pods go with it (the garbage collector follows their ownerReferences)
    kubectl.run("delete", "rc", "legacy", "-n", namespace)
    with apiserver.http() as http:
        eventually(
            lambda: (
                not http.get(
                    f"/api/v1/namespaces/{namespace}/pods", params={"labelSelector": "app=legacy"}
                ).json()["items"]
            ),
            timeout=30,
            message="the rc's pods deleted",
        )


# ---- drain waits for the budget ---------------------------------------------------------


def drain_command(client: str, apiserver: Any, tmp_path: Path, *args: str) -> list[str]:
    """kubectl 1.27 or 1.32, or minikctl, draining with `args`."""
    if client == "minikctl":
        return [sys.executable, "-m", "minikctl.main", "--kubeconfig", str(apiserver.kubeconfig),
                "drain", *args]  # fmt: skip
    binary = binary_for(None if client == "kubectl" else client.removeprefix("kubectl-"))
    if not binary.exists():
        pytest.skip(f"{binary} is not installed")
    return Kubectl(apiserver.kubeconfig, tmp_path / "cache", binary).command("drain", *args)


@pytest.mark.parametrize("client", ["kubectl", "kubectl-1.27", "minikctl"])
def test_drain_waits_for_the_budget(apiserver, namespace, cluster, tmp_path, client):
    node = cluster.node_name("a")
    with apiserver.http() as http:
        http.post(
            f"/apis/apps/v1/namespaces/{namespace}/deployments", json=deployment("web", 2)
        ).raise_for_status()
        http.post(pdb_path(namespace), json=pdb("web", "web", minAvailable=2)).raise_for_status()
        pods = ready_pods(http, namespace, "web", 2)
        budget_status(http, namespace, "web", currentHealthy=2, disruptionsAllowed=0)
        [victim] = [p["metadata"]["name"] for p in pods if p["spec"]["nodeName"] == node]

        # blocked: kubectl retries every 5s, then gives up at --timeout
        blocked = subprocess.run(
            drain_command(client, apiserver, tmp_path, node, "--timeout=6s"),
            capture_output=True, text=True, timeout=60, env={**os.environ, "KUBECONFIG": ""},
        )  # fmt: skip
        assert blocked.returncode == 1, blocked
        retry = (
            f'error when evicting pods/"{victim}" -n "{namespace}" (will retry after 5s): {REFUSED}'
        )
        assert blocked.stderr.count(retry) == 2, blocked.stderr
        assert (
            f'error when evicting pods/"{victim}" -n "{namespace}": global timeout reached: 6s'
            in blocked.stderr
        )
        assert blocked.stdout.count(f"evicting pod {namespace}/{victim}") == 3, blocked.stdout
        assert http.get(f"/api/v1/namespaces/{namespace}/pods/{victim}").status_code == 200

        # relaxed while the drain waits: it evicts and finishes
        with Stream(drain_command(client, apiserver, tmp_path, node)) as drain:
            drain.wait_for(lambda line: line == f"evicting pod {namespace}/{victim}")
            eventually(
                lambda: any(line.startswith(retry) for line in drain.stderr),
                timeout=10,
                message="a refused eviction",
            )
            http.patch(
                pdb_path(namespace, "web"),
                json={"spec": {"minAvailable": 1}},
                headers={"Content-Type": "application/merge-patch+json"},
            ).raise_for_status()
            drain.wait_for(lambda line: line == f"pod/{victim} evicted", timeout=20)
            drain.wait_for(lambda line: line == f"node/{node} drained", timeout=10)
            assert drain.popen.wait(10) == 0


EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_examples_pass_a_server_dry_run(namespace, kubectl: Kubectl, apiserver):
    out = kubectl.run(
        "apply", "--dry-run=server", "-n", namespace,
        "-f", str(EXAMPLES / "replicationcontroller.yaml"), "-f", str(EXAMPLES / "pdb.yaml"),
    ).stdout  # fmt: skip
    assert out.splitlines() == [
        "replicationcontroller/hello-rc created (server dry run)",
        "deployment.apps/web created (server dry run)",
        "poddisruptionbudget.policy/web-pdb created (server dry run)",
    ]
    with apiserver.http() as http:
        assert http.get(pdb_path(namespace, "web-pdb")).status_code == 404


def test_racing_evictions_spend_the_one_allowed_disruption_once(apiserver, namespace, cluster):
    """Two evictions at once against a budget allowing one: the resourceVersion-guarded
    status write lets exactly one through; the budget's watch shows the spent
    disruption with the evicted pod in disruptedPods."""
    with apiserver.http() as http:
        http.post(
            f"/apis/apps/v1/namespaces/{namespace}/deployments", json=deployment("race", 3)
        ).raise_for_status()
        http.post(pdb_path(namespace), json=pdb("race", "race", minAvailable=2)).raise_for_status()
        pods = [p["metadata"]["name"] for p in ready_pods(http, namespace, "race", 3)]
        before = budget_status(http, namespace, "race", currentHealthy=3, disruptionsAllowed=1)
        assert "disruptedPods" not in before
        version = http.get(pdb_path(namespace, "race")).json()["metadata"]["resourceVersion"]
        codes: dict[str, int] = {}

        def attempt(name: str) -> None:
            with apiserver.http() as own:
                codes[name] = evict(own, namespace, name).status_code

        workers = [threading.Thread(target=attempt, args=(name,)) for name in pods[:2]]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(30)
        assert sorted(codes.values()) == [201, 429], codes
        [evicted] = [name for name, code in codes.items() if code == 201]

        spent = None
        params = {"watch": "true", "resourceVersion": version, "timeoutSeconds": "5",
                  "fieldSelector": "metadata.name=race"}  # fmt: skip
        with http.stream("GET", pdb_path(namespace), params=params) as stream:
            for line in stream.iter_lines():
                status = json.loads(line)["object"].get("status") or {}
                if evicted in (status.get("disruptedPods") or {}):
                    spent = status
                    break
        assert spent is not None, "no budget update recorded the eviction"
        assert spent["disruptionsAllowed"] == 0
        assert list(spent["disruptedPods"]) == [evicted]


def test_a_stale_disruption_target_is_reset(apiserver, namespace, manager):
    """A pod marked DisruptionTarget by an eviction more than two minutes ago, and
    still not being deleted, gets the mark set back to False by the controller."""
    with apiserver.http() as http:
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "spared"},
            "spec": {"containers": [{"name": "c", "image": "busybox:1"}]},
        }
        created = http.post(f"/api/v1/namespaces/{namespace}/pods", json=pod).json()
        mark = {
            "type": "DisruptionTarget",
            "status": "True",
            "reason": "EvictionByEvictionAPI",
            "message": "Eviction API: evicting",
            "lastTransitionTime": "2020-01-01T00:00:00Z",
        }
        created["status"]["conditions"] = [mark]
        path = f"/api/v1/namespaces/{namespace}/pods/spared"
        http.put(f"{path}/status", json=created).raise_for_status()

        def reset() -> Obj:
            [cond] = http.get(path).json()["status"]["conditions"]
            assert (cond["type"], cond["status"]) == ("DisruptionTarget", "False"), cond
            return cond

        cond = eventually(reset, timeout=20, message="the mark reset")
        assert cond["lastTransitionTime"] != "2020-01-01T00:00:00Z"


def test_official_client_reads_budgets_and_is_refused_an_eviction(apiserver, namespace, cluster):
    from kubernetes import client, config
    from kubernetes.client.rest import ApiException

    configuration = client.Configuration()
    config.load_kube_config(
        config_file=str(apiserver.kubeconfig), client_configuration=configuration
    )
    with apiserver.http() as http, client.ApiClient(configuration) as api:
        http.post(
            f"/apis/apps/v1/namespaces/{namespace}/deployments", json=deployment("sdk", 1)
        ).raise_for_status()
        budget = client.V1PodDisruptionBudget(
            metadata=client.V1ObjectMeta(name="sdk"),
            spec=client.V1PodDisruptionBudgetSpec(
                min_available=1, selector=client.V1LabelSelector(match_labels={"app": "sdk"})
            ),
        )
        policy = client.PolicyV1Api(api)
        policy.create_namespaced_pod_disruption_budget(namespace, budget)
        [pod] = ready_pods(http, namespace, "sdk", 1)
        budget_status(http, namespace, "sdk", currentHealthy=1, expectedPods=1)
        read = policy.read_namespaced_pod_disruption_budget("sdk", namespace)
        assert (read.status.disruptions_allowed, read.status.desired_healthy) == (0, 1)
        assert read.status.conditions[0].reason == "InsufficientPods"
        name = pod["metadata"]["name"]
        eviction = client.V1Eviction(metadata=client.V1ObjectMeta(name=name, namespace=namespace))
        with pytest.raises(ApiException) as refused:
            client.CoreV1Api(api).create_namespaced_pod_eviction(name, namespace, eviction)
        assert refused.value.status == 429
        assert json.loads(refused.value.body)["message"] == REFUSED
