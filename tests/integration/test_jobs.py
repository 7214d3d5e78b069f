"""The job and ttl-after-finished controllers in the real controller manager process
against the real apiserver. No kubelet: the test plays the node and writes each pod's
final phase (and exit code) through `/status`, so every outcome is deterministic."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.controllermanager import ManagerProcess
from tests.support.kubectl import Kubectl, binary_for
from tests.support.wait import eventually

Obj = dict[str, Any]
FINALIZER = "batch.kubernetes.io/job-tracking"
INDEX = "batch.kubernetes.io/job-completion-index"


@pytest.fixture(scope="module")
def manager(apiserver, tmp_path_factory) -> Iterator[ManagerProcess]:
    controllers = ("--controllers", "job,ttl-after-finished,garbagecollector")
    proc = ManagerProcess(apiserver, tmp_path_factory.mktemp("cm"), *controllers).start()
    yield proc
    proc.stop()


def job_body(name: str, command: str = "true", **spec: Any) -> Obj:
    restart = spec.pop("restartPolicy", "Never")
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "template": {
                "spec": {
                    "restartPolicy": restart,
                    "containers": [
                        {
                            "name": "main",
                            "image": "minik/busybox:1",
                            "command": ["sh", "-c", command],
                        }
                    ],
                }
            },
            **spec,
        },
    }


class Jobs:
    def __init__(self, http: httpx.Client, namespace: str) -> None:
        self.http, self.ns = http, namespace
        self.base = f"/apis/batch/v1/namespaces/{namespace}/jobs"

    def create(self, body: Obj) -> Obj:
        r = self.http.post(self.base, json=body)
        assert r.status_code == 201, r.text
        return r.json()

    def get(self, name: str) -> Obj:
        return self.http.get(f"{self.base}/{name}").json()

    def pods(self, name: str) -> list[Obj]:
        r = self.http.get(
            f"/api/v1/namespaces/{self.ns}/pods",
            params={"labelSelector": f"batch.kubernetes.io/job-name={name}"},
        )
        return r.json()["items"]

    def active(self, name: str) -> list[Obj]:
        return [
            p
            for p in self.pods(name)
            if not p["metadata"].get("deletionTimestamp")
            and (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed")
        ]

    def running(self, name: str, count: int) -> list[Obj]:
        def check() -> list[Obj]:
            pods = self.active(name)
            assert len(pods) == count, [p["metadata"]["name"] for p in pods]
            return pods

        return eventually(check, timeout=15)

    def none_running(self, name: str) -> None:
        eventually(lambda: not self.active(name), timeout=15)

    def finish(self, pod: Obj, exit_code: int) -> None:
        """Play the kubelet: the container ended with `exit_code`."""
        phase = "Succeeded" if exit_code == 0 else "Failed"
        status = {
            "phase": phase,
            "containerStatuses": [
                {
                    "name": "main",
                    "image": "minik/busybox:1",
                    "imageID": "",
                    "ready": False,
                    "restartCount": 0,
                    "state": {"terminated": {"exitCode": exit_code, "reason": "Completed"}},
                }
            ],
        }
        name = pod["metadata"]["name"]
        r = self.http.patch(
            f"/api/v1/namespaces/{self.ns}/pods/{name}/status",
            json={"status": status},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert r.status_code == 200, r.text

    def patch(self, name: str, patch: Obj) -> None:
        r = self.http.patch(
            f"{self.base}/{name}",
            json=patch,
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert r.status_code == 200, r.text

    def condition(self, name: str, type_: str) -> Obj:
        def check() -> Obj:
            conds = {c["type"]: c for c in self.get(name)["status"].get("conditions") or []}
            assert conds.get(type_, {}).get("status") == "True", conds
            return conds[type_]

        return eventually(check, timeout=20)


@pytest.fixture
def jobs(manager, http: httpx.Client, namespace: str) -> Jobs:
    return Jobs(http, namespace)


def test_completions_parallelism_and_finalizer_tracking(jobs: Jobs):
    jobs.create(job_body("work", completions=3, parallelism=2))
    first = jobs.running("work", 2)
    for pod in first:
        assert FINALIZER in pod["metadata"]["finalizers"]
        ref = pod["metadata"]["ownerReferences"][0]
        assert ref["kind"] == "Job" and ref["controller"] and ref["blockOwnerDeletion"]
        jobs.finish(pod, 0)
    last = jobs.running("work", 1)[0]
    jobs.finish(last, 0)
    complete = jobs.condition("work", "Complete")
    assert complete["reason"] == "CompletionsReached"
    status = jobs.get("work")["status"]
    assert status["succeeded"] == 3 and "failed" not in status and "active" not in status
    assert status["completionTime"] and status["startTime"]
    types = [c["type"] for c in status["conditions"]]
    assert types == ["SuccessCriteriaMet", "Complete"]
    eventually(lambda: all(FINALIZER not in (p["metadata"].get("finalizers") or [])
                           for p in jobs.pods("work")))  # fmt: skip


def test_a_succeeded_pod_is_replaced_before_it_is_counted(jobs: Jobs, http: httpx.Client):
    """As Kubernetes' syncJob (manageJob, then the finalizers come off): the slot of a
    pod that succeeded is refilled before the two writes that count it, so the
    replacement is created before the finished pod's tracking finalizer is removed."""
    jobs.create(job_body("refill", completions=2, parallelism=1))
    first = jobs.running("refill", 1)[0]
    pods_url = f"/api/v1/namespaces/{jobs.ns}/pods"
    since = http.get(pods_url).json()["metadata"]["resourceVersion"]
    jobs.finish(first, 0)
    second = jobs.running("refill", 1)[0]
    first_name = first["metadata"]["name"]

    def released() -> bool:
        pod = next(p for p in jobs.pods("refill") if p["metadata"]["name"] == first_name)
        return FINALIZER not in (pod["metadata"].get("finalizers") or [])

    eventually(released)
    order: list[tuple[str, str, bool]] = []
    params = {"watch": "1", "resourceVersion": since, "timeoutSeconds": "1"}
    with http.stream("GET", pods_url, params=params) as watch:
        for line in watch.iter_lines():
            if line:
                event = json.loads(line)
                md = event["object"]["metadata"]
                order.append((event["type"], md["name"], FINALIZER in (md.get("finalizers") or [])))
    created = order.index(("ADDED", second["metadata"]["name"], True))
    finalizer_off = order.index(("MODIFIED", first_name, False))
    assert created < finalizer_off, order
    jobs.finish(second, 0)
    jobs.condition("refill", "Complete")
    assert jobs.get("refill")["status"]["succeeded"] == 2


def test_backoff_limit_fails_the_job(jobs: Jobs):
    jobs.create(job_body("flaky", backoffLimit=0))
    jobs.finish(jobs.running("flaky", 1)[0], 1)
    failed = jobs.condition("flaky", "Failed")
    assert failed["reason"] == "BackoffLimitExceeded"
    assert failed["message"] == "Job has reached the specified backoff limit"
    assert jobs.get("flaky")["status"]["failed"] == 1


def test_pod_failure_policy_fail_job_and_ignore(jobs: Jobs):
    policy = {
        "rules": [
            {"action": "Ignore", "onExitCodes": {"operator": "In", "values": [3]}},
            {"action": "FailJob", "onExitCodes": {"operator": "In", "values": [42]}},
        ]
    }
    jobs.create(job_body("policy", backoffLimit=0, podFailurePolicy=policy))
    first = jobs.running("policy", 1)[0]
    jobs.finish(first, 3)  # ignored: replaced without counting
    second = jobs.running("policy", 1)[0]
    assert second["metadata"]["uid"] != first["metadata"]["uid"]
    assert jobs.get("policy")["status"].get("failed", 0) == 0
    jobs.finish(second, 42)
    failed = jobs.condition("policy", "Failed")
    assert failed["reason"] == "PodFailurePolicy"
    assert "failed with exit code 42 matching FailJob rule at index 1" in failed["message"]


def test_deleted_pod_is_counted_once_and_replaced(jobs: Jobs, http: httpx.Client):
    jobs.create(job_body("gone", completions=1))
    pod = jobs.running("gone", 1)[0]
    name = pod["metadata"]["name"]
    http.delete(f"/api/v1/namespaces/{jobs.ns}/pods/{name}")
    replacement = jobs.running("gone", 1)[0]
    assert replacement["metadata"]["name"] != name
    eventually(lambda: jobs.get("gone")["status"].get("failed") == 1)
    jobs.finish(replacement, 0)
    jobs.condition("gone", "Complete")
    status = jobs.get("gone")["status"]
    assert (status["succeeded"], status["failed"]) == (1, 1)


def test_indexed_job_pods_carry_their_index(jobs: Jobs):
    jobs.create(
        job_body("idx", completions=3, parallelism=3, completionMode="Indexed", backoffLimit=0)
    )
    pods = jobs.running("idx", 3)
    by_index = {p["metadata"]["annotations"][INDEX]: p for p in pods}
    assert sorted(by_index) == ["0", "1", "2"]
    for index, pod in by_index.items():
        assert pod["metadata"]["labels"][INDEX] == index
        assert pod["metadata"]["name"].startswith(f"idx-{index}-")
        assert pod["spec"]["hostname"] == f"idx-{index}"
        env = pod["spec"]["containers"][0]["env"]
        assert env[0]["name"] == "JOB_COMPLETION_INDEX"
        jobs.finish(pod, 0)
    jobs.condition("idx", "Complete")
    status = jobs.get("idx")["status"]
    assert status["completedIndexes"] == "0-2" and status["succeeded"] == 3


def test_suspend_and_resume(jobs: Jobs):
    jobs.create(job_body("sus", parallelism=2, completions=4, suspend=True))
    suspended = jobs.condition("sus", "Suspended")
    assert suspended["reason"] == "JobSuspended"
    assert "startTime" not in jobs.get("sus")["status"] and jobs.active("sus") == []
    jobs.patch("sus", {"spec": {"suspend": False}})
    jobs.running("sus", 2)

    def resumed() -> Obj:
        # the controller writes the Job's status after it has created the pods (as
        # kube-controller-manager's sync does), so pods can run before it says so
        status = jobs.get("sus")["status"]
        conds = {c["type"]: c for c in status["conditions"]}
        assert conds["Suspended"]["status"] == "False", conds
        assert conds["Suspended"]["reason"] == "JobResumed"
        return status

    assert eventually(resumed, timeout=10)["startTime"]
    jobs.patch("sus", {"spec": {"suspend": True}})
    jobs.condition("sus", "Suspended")
    jobs.none_running("sus")


def test_active_deadline(jobs: Jobs):
    jobs.create(job_body("late", activeDeadlineSeconds=1))
    jobs.running("late", 1)
    failed = jobs.condition("late", "Failed")
    assert failed["reason"] == "DeadlineExceeded"
    jobs.none_running("late")


def test_ttl_after_finished_deletes_job_and_pods(jobs: Jobs):
    jobs.create(job_body("short", ttlSecondsAfterFinished=1))
    jobs.finish(jobs.running("short", 1)[0], 0)
    jobs.condition("short", "Complete")
    eventually(lambda: jobs.http.get(f"{jobs.base}/short").status_code == 404, timeout=20)
    eventually(lambda: jobs.pods("short") == [], timeout=20)


@pytest.mark.parametrize("minor", [None, "1.27", "1.33"], ids=lambda m: m or "default")
def test_kubectl_wait_describe_and_delete(jobs: Jobs, apiserver, tmp_path: Path, minor: str | None):
    binary = binary_for(minor)
    if not binary.exists():
        pytest.skip(f"{binary} is not installed")
    kubectl = Kubectl(apiserver.kubeconfig, tmp_path / "cache", binary)
    ns = ("-n", jobs.ns)
    kubectl.run(*ns, "create", "job", "kj", "--image=minik/busybox:1")
    jobs.finish(jobs.running("kj", 1)[0], 0)
    out = kubectl.run(*ns, "wait", "--for=condition=complete", "job/kj", "--timeout=20s")
    assert out.stdout == "job.batch/kj condition met\n"
    rows = [line.split() for line in kubectl.run(*ns, "get", "jobs").stdout.splitlines()]
    assert rows[1][:3] == ["kj", "Complete", "1/1"]
    described = kubectl.run(*ns, "describe", "job", "kj").stdout
    assert "Pods Statuses:" in described and "1 Succeeded" in described
    assert "SuccessfulCreate" in described and "Completed" in described
    kubectl.run(*ns, "delete", "job", "kj")
    eventually(lambda: jobs.pods("kj") == [], timeout=20)


FAILURE_COUNT = "batch.kubernetes.io/job-index-failure-count"


def by_index(pods: list[Obj]) -> dict[str, Obj]:
    return {p["metadata"]["annotations"][INDEX]: p for p in pods}


def test_backoff_limit_per_index(jobs: Jobs):
    """Index 0 fails, is retried after its own back-off with one failure on record,
    fails again and is failed for good; index 1 succeeds; the Job fails for its
    failed index once every index is done."""
    jobs.create(
        job_body(
            "perindex",
            completions=2,
            parallelism=2,
            completionMode="Indexed",
            backoffLimitPerIndex=1,
        )
    )
    first = by_index(jobs.running("perindex", 2))
    assert first["0"]["metadata"]["annotations"][FAILURE_COUNT] == "0"
    jobs.finish(first["0"], 1)
    jobs.finish(first["1"], 0)

    def retried() -> Obj:
        pods = jobs.active("perindex")
        assert len(pods) == 1, pods
        assert pods[0]["metadata"]["annotations"][INDEX] == "0"
        return pods[0]

    retry = eventually(retried, timeout=30)  # the index's back-off: 10 s
    assert retry["metadata"]["annotations"][FAILURE_COUNT] == "1"
    status = jobs.get("perindex")["status"]
    assert (status["failed"], status["failedIndexes"], status["completedIndexes"]) == (1, "", "1")
    jobs.finish(retry, 1)
    failed = jobs.condition("perindex", "Failed")
    assert (failed["reason"], failed["message"]) == ("FailedIndexes", "Job has failed indexes")
    status = jobs.get("perindex")["status"]
    assert (status["failed"], status["failedIndexes"], status["succeeded"]) == (2, "0", 1)
    assert [c["type"] for c in status["conditions"]] == ["FailureTarget", "Failed"]
    assert not jobs.active("perindex")


def test_max_failed_indexes(jobs: Jobs):
    """More failed indexes than maxFailedIndexes fails the Job at once: FailureTarget,
    then Failed, the other indexes never run (parallelism 1, as Kubernetes' e2e test,
    since pods the failing Job stops would count as failures of their indexes)."""
    jobs.create(
        job_body(
            "maxfailed",
            completions=4,
            parallelism=1,
            completionMode="Indexed",
            backoffLimitPerIndex=0,
            maxFailedIndexes=0,
        )
    )
    [pod] = jobs.running("maxfailed", 1)
    assert pod["metadata"]["annotations"][INDEX] == "0"
    jobs.finish(pod, 1)
    failed = jobs.condition("maxfailed", "Failed")
    assert failed["reason"] == "MaxFailedIndexesExceeded"
    assert failed["message"] == "Job has exceeded the specified maximal number of failed indexes"
    status = jobs.get("maxfailed")["status"]
    assert (status["failedIndexes"], status["failed"]) == ("0", 1)
    assert [c["type"] for c in status["conditions"]] == ["FailureTarget", "Failed"]
    assert len(jobs.pods("maxfailed")) == 1


def test_success_policy(jobs: Jobs):
    """An Indexed Job whose successPolicy names index 0 succeeds once that index has:
    SuccessCriteriaMet, its other pods stopped, then Complete."""
    policy = {"rules": [{"succeededIndexes": "0"}]}
    jobs.create(
        job_body(
            "leader",
            completions=3,
            parallelism=3,
            completionMode="Indexed",
            successPolicy=policy,
        )
    )
    pods = by_index(jobs.running("leader", 3))
    jobs.finish(pods["1"], 0)
    eventually(lambda: jobs.get("leader")["status"].get("completedIndexes") == "1")
    assert "conditions" not in jobs.get("leader")["status"]
    jobs.finish(pods["0"], 0)
    complete = jobs.condition("leader", "Complete")
    assert complete["reason"] == "SuccessPolicy"
    assert complete["message"] == "Matched rules at index 0"
    status = jobs.get("leader")["status"]
    assert [c["type"] for c in status["conditions"]] == ["SuccessCriteriaMet", "Complete"]
    assert status["completedIndexes"] == "0-1" and status["succeeded"] == 2
    assert status["completionTime"]
    jobs.none_running("leader")
