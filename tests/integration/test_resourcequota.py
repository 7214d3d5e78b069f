"""ResourceQuota and LimitRange against a real etcd and apiserver, with the real
controller manager running only the resource quota controller, and the real kubectl:
`create quota` (a protobuf body on 1.32+), a pod beyond the quota refused with
Kubernetes' exact message, usage given back when pods go, concurrent creates that never
overshoot, LimitRange defaults and bounds, `get`/`describe` output, and the examples."""

from __future__ import annotations

import concurrent.futures
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.controllermanager import ManagerProcess
from tests.support.kubectl import MINORS, Kubectl, installed_kubectl
from tests.support.wait import eventually

Obj = dict[str, Any]
EXAMPLES = Path(__file__).parents[2] / "examples"


@pytest.fixture(scope="module")
def manager(apiserver, tmp_path_factory) -> Iterator[ManagerProcess]:
    workdir = tmp_path_factory.mktemp("quota-cm")
    proc = ManagerProcess(
        apiserver, workdir, "--controllers", "resourcequota", "--resource-quota-sync-period", "1m"
    ).start()
    yield proc
    proc.stop()


@pytest.fixture
def http(apiserver) -> Iterator[httpx.Client]:
    with apiserver.http() as client:
        yield client


@pytest.fixture
def kubectl(apiserver, tmp_path: Path) -> Kubectl:
    return Kubectl(apiserver.kubeconfig, tmp_path / "cache")


def pod(name: str, **resources: Any) -> Obj:
    container: Obj = {"name": "c", "image": "busybox:1"}
    if resources:
        container["resources"] = resources
    return {"metadata": {"name": name}, "spec": {"containers": [container]}}


def pods_path(ns: str) -> str:
    return f"/api/v1/namespaces/{ns}/pods"


def quota_path(ns: str, name: str = "") -> str:
    return f"/api/v1/namespaces/{ns}/resourcequotas" + (f"/{name}" if name else "")


def create_quota(http: httpx.Client, ns: str, name: str, hard: dict, **spec: Any) -> Obj:
    r = http.post(quota_path(ns), json={"metadata": {"name": name}, "spec": {"hard": hard, **spec}})
    assert r.status_code == 201, r.text
    return wait_status(http, ns, name)


def wait_status(http: httpx.Client, ns: str, name: str, **used: str) -> Obj:
    """The quota once the controller has filled its status (and `used` matches)."""

    def check() -> Obj:
        rq = http.get(quota_path(ns, name)).json()
        status = rq.get("status") or {}
        assert status.get("hard") and set(status.get("used") or {}) == set(status["hard"]), rq
        for key, value in used.items():
            assert status["used"][key] == value, status
        return rq

    return eventually(check, timeout=20, message=f"quota {name} status")


def test_kubectl_create_quota_refuses_the_pod_beyond_it(
    manager, http: httpx.Client, namespace: str, kubectl: Kubectl
):
    kubectl.run("create", "quota", "q", "-n", namespace, "--hard=pods=2,requests.cpu=1")
    wait_status(http, namespace, "q", pods="0")
    for name in ("a", "b"):
        r = http.post(pods_path(namespace), json=pod(name, requests={"cpu": "100m"}))
        assert r.status_code == 201, r.text
    rq = wait_status(http, namespace, "q", pods="2")
    assert rq["status"]["used"]["requests.cpu"] == "200m"

    r = http.post(pods_path(namespace), json=pod("c", requests={"cpu": "100m"}))
    assert r.status_code == 403, r.text
    body = r.json()
    assert body["reason"] == "Forbidden"
    assert body["details"] == {"name": "c", "kind": "pods"}
    assert body["message"] == (
        'pods "c" is forbidden: exceeded quota: q, requested: pods=1, used: pods=2, limited: pods=2'
    )
    # kubectl run states no cpu: the quota tracks requests.cpu, so it must.
    failed = kubectl.fails("run", "c", "-n", namespace, "--image=busybox:1", "--restart=Never")
    assert failed.stderr == (
        'Error from server (Forbidden): pods "c" is forbidden: failed quota: q: '
        "must specify requests.cpu for: c\n"
    )

    # A pod whose cpu would exceed the quota is refused naming cpu only.
    http.delete(f"{pods_path(namespace)}/b", params={"gracePeriodSeconds": 0})
    wait_status(http, namespace, "q", pods="1")
    r = http.post(pods_path(namespace), json=pod("big", requests={"cpu": "950m"}))
    assert r.status_code == 403
    assert r.json()["message"].endswith(
        "exceeded quota: q, requested: requests.cpu=950m, used: requests.cpu=100m, "
        "limited: requests.cpu=1"
    )
    # Usage came back with the deleted pod: one more fits.
    r = http.post(pods_path(namespace), json=pod("d", requests={"cpu": "100m"}))
    assert r.status_code == 201, r.text

    out = kubectl.run("get", "quota", "-n", namespace).stdout.splitlines()
    assert out[0].split() == ["NAME", "AGE", "REQUEST", "LIMIT"]
    assert out[1].split(None, 2)[0] == "q"
    assert out[1].split(None, 2)[2].strip() == "pods: 2/2, requests.cpu: 200m/1"

    described = kubectl.run("describe", "quota", "q", "-n", namespace).stdout
    assert "Resource      Used  Hard" in described
    assert "pods          2     2" in described
    assert "requests.cpu  200m  1" in described
    namespace_described = kubectl.run("describe", "namespace", namespace).stdout
    assert (
        "Resource Quotas" in namespace_described and "pods          2     2" in namespace_described
    )
    explained = kubectl.run("explain", "resourcequota.spec.scopeSelector").stdout
    assert "matchExpressions" in explained


def test_concurrent_creates_never_exceed_the_quota(
    manager, http: httpx.Client, namespace: str, apiserver
):
    create_quota(http, namespace, "three", {"pods": "3"})

    def create(i: int) -> int:
        with apiserver.http() as client:
            return client.post(pods_path(namespace), json=pod(f"p{i}")).status_code

    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        codes = sorted(pool.map(create, range(10)))
    assert codes == [201] * 3 + [403] * 7
    assert len(http.get(pods_path(namespace)).json()["items"]) == 3
    assert wait_status(http, namespace, "three")["status"]["used"]["pods"] == "3"


def test_terminal_pods_do_not_count(manager, http: httpx.Client, namespace: str):
    create_quota(http, namespace, "q", {"pods": "1", "count/pods": "5"})
    r = http.post(pods_path(namespace), json=pod("done"))
    assert r.status_code == 201
    assert http.post(pods_path(namespace), json=pod("next")).status_code == 403
    done = r.json()
    done["status"] = {"phase": "Succeeded"}
    r = http.put(f"{pods_path(namespace)}/done/status", json=done)
    assert r.status_code == 200, r.text
    wait_status(http, namespace, "q", pods="0", **{"count/pods": "1"})
    assert http.post(pods_path(namespace), json=pod("next")).status_code == 201


def test_compute_quota_requires_containers_to_state_it(manager, http: httpx.Client, namespace: str):
    create_quota(http, namespace, "compute", {"limits.cpu": "2", "requests.memory": "1Gi"})
    r = http.post(pods_path(namespace), json=pod("bare"))
    assert r.status_code == 403
    assert r.json()["message"] == (
        'pods "bare" is forbidden: failed quota: compute: must specify limits.cpu for: c; '
        "requests.memory for: c"
    )
    ok = pod("ok", limits={"cpu": "1", "memory": "64Mi"})
    assert http.post(pods_path(namespace), json=ok).status_code == 201
    rq = wait_status(http, namespace, "compute", **{"limits.cpu": "1"})
    assert rq["status"]["used"]["requests.memory"] == "64Mi"  # requests default to limits


def test_object_counts_and_scopes(manager, http: httpx.Client, namespace: str):
    create_quota(http, namespace, "objects", {"count/configmaps": "1", "services.nodeports": "1"})
    cms = f"/api/v1/namespaces/{namespace}/configmaps"
    assert http.post(cms, json={"metadata": {"name": "one"}}).status_code == 201
    r = http.post(cms, json={"metadata": {"name": "two"}})
    assert r.status_code == 403
    assert "requested: count/configmaps=1, used: count/configmaps=1" in r.json()["message"]
    svc = {
        "metadata": {"name": "np"},
        "spec": {
            "type": "NodePort",
            "ports": [{"name": "a", "port": 80}, {"name": "b", "port": 81}],
        },
    }
    r = http.post(f"/api/v1/namespaces/{namespace}/services", json=svc)
    assert r.status_code == 403
    assert "requested: services.nodeports=2, used: services.nodeports=0" in r.json()["message"]

    create_quota(http, namespace, "besteffort", {"pods": "1"}, scopes=["BestEffort"])
    assert http.post(pods_path(namespace), json=pod("be1")).status_code == 201
    assert http.post(pods_path(namespace), json=pod("be2")).status_code == 403
    burstable = pod("burst", requests={"cpu": "10m"})
    assert http.post(pods_path(namespace), json=burstable).status_code == 201


def test_quota_validation(http: httpx.Client, namespace: str):
    body = {
        "metadata": {"name": "bad"},
        "spec": {"hard": {"pods": "1.5", "cpu": "-1"}, "scopes": ["BestEffort"]},
    }
    r = http.post(quota_path(namespace), json=body)
    assert r.status_code == 422
    messages = {c["field"]: c["message"] for c in r.json()["details"]["causes"]}
    assert messages["spec.hard[pods]"] == 'Invalid value: "1500m": must be an integer'
    assert messages["spec.hard[cpu]"] == 'Invalid value: "-1": must be greater than or equal to 0'
    assert messages["spec.scopes"] == (
        'Invalid value: []core.ResourceQuotaScope{"BestEffort"}: '
        "unsupported scope applied to resource"
    )


def test_limit_range_defaults_and_bounds(
    manager, http: httpx.Client, namespace: str, kubectl: Kubectl
):
    kubectl.run("apply", "-n", namespace, "-f", str(EXAMPLES / "limitrange.yaml"))
    r = http.post(pods_path(namespace), json=pod("defaulted"))
    assert r.status_code == 201, r.text
    created = r.json()
    resources = created["spec"]["containers"][0]["resources"]
    assert resources == {
        "limits": {"cpu": "250m", "memory": "256Mi"},
        "requests": {"cpu": "100m", "memory": "128Mi"},
    }
    assert created["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: cpu, memory request for container c; "
        "cpu, memory limit for container c"
    )
    r = http.post(pods_path(namespace), json=pod("greedy", limits={"cpu": "1"}))
    assert r.status_code == 403
    assert r.json()["message"] == (
        'pods "greedy" is forbidden: maximum cpu usage per Container is 500m, but limit is 1'
    )
    claim = {
        "metadata": {"name": "huge"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "2Gi"}}},
    }
    r = http.post(f"/api/v1/namespaces/{namespace}/persistentvolumeclaims", json=claim)
    assert r.status_code == 403
    assert r.json()["message"] == (
        'persistentvolumeclaims "huge" is forbidden: maximum storage usage per '
        "PersistentVolumeClaim is 1Gi, but request is 2Gi"
    )

    out = kubectl.run("get", "limits", "-n", namespace).stdout.splitlines()
    assert out[0].split() == ["NAME", "CREATED", "AT"]
    assert out[1].split()[0] == "container-defaults"
    assert out[1].split()[1].endswith("Z")
    described = kubectl.run("describe", "limits", "container-defaults", "-n", namespace).stdout
    rows = [line.split() for line in described.splitlines()]
    assert ["Container", "cpu", "10m", "500m", "100m", "250m", "10"] in rows
    assert ["Container", "memory", "4Mi", "512Mi", "128Mi", "256Mi", "-"] in rows
    assert ["PersistentVolumeClaim", "storage", "1Mi", "1Gi", "-", "-", "-"] in rows


def test_limit_range_validation(http: httpx.Client, namespace: str):
    body = {
        "metadata": {"name": "bad"},
        "spec": {
            "limits": [
                {"type": "Container", "min": {"cpu": "2"}, "max": {"cpu": "1"}},
                {"type": "Pod", "default": {"cpu": "1"}},
                {"type": "PersistentVolumeClaim"},
            ]
        },
    }
    r = http.post(f"/api/v1/namespaces/{namespace}/limitranges", json=body)
    assert r.status_code == 422
    messages = {c["field"]: c["message"] for c in r.json()["details"]["causes"]}
    assert messages["spec.limits[0].min[cpu]"] == (
        'Invalid value: "2": min value 2 is greater than max value 1'
    )
    assert messages["spec.limits[1].default"] == (
        "Forbidden: may not be specified when `type` is 'Pod'"
    )
    assert messages["spec.limits[2].limits"] == (
        "Required value: either minimum or maximum storage value is required, but neither "
        "was provided"
    )


@pytest.mark.parametrize("minor", MINORS)
def test_examples_server_dry_run(apiserver, namespace: str, tmp_path: Path, minor):
    kubectl = installed_kubectl(minor, apiserver.kubeconfig, tmp_path / "cache")
    out = kubectl.run(
        "apply",
        "-n",
        namespace,
        "--dry-run=server",
        "-f",
        str(EXAMPLES / "resourcequota.yaml"),
        "-f",
        str(EXAMPLES / "limitrange.yaml"),
    ).stdout
    assert "resourcequota/team-budget created (server dry run)" in out
    assert "limitrange/container-defaults created (server dry run)" in out
    kubectl.run("create", "quota", "dry", "-n", namespace, "--hard=pods=1", "--dry-run=server")


def test_the_examples_together_let_kubectl_run_a_pod(
    manager, http: httpx.Client, namespace: str, kubectl: Kubectl
):
    """The quota tracks cpu and memory; the LimitRange's defaults state them for a pod
    that says nothing, so `kubectl run` is admitted and charged the defaults."""
    for example in ("limitrange.yaml", "resourcequota.yaml"):
        kubectl.run("apply", "-n", namespace, "-f", str(EXAMPLES / example))
    wait_status(http, namespace, "team-budget")
    kubectl.run("run", "web", "-n", namespace, "--image=busybox:1", "--restart=Never")
    rq = wait_status(http, namespace, "team-budget", pods="1")
    assert rq["status"]["used"] == {
        "count/configmaps": "0",
        "limits.cpu": "250m",
        "limits.memory": "256Mi",
        "pods": "1",
        "requests.cpu": "100m",
        "requests.memory": "128Mi",
        "services": "0",
    }
    # Creating it again is refused as AlreadyExists, and charges nothing.
    failed = kubectl.fails("run", "web", "-n", namespace, "--image=busybox:1", "--restart=Never")
    assert "AlreadyExists" in failed.stderr
    used = http.get(quota_path(namespace, "team-budget")).json()["status"]["used"]
    assert used["pods"] == "1"
