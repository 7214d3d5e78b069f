"""A CronJob with real Docker pods: the cronjob, job and garbage-collector controllers
(in the real controller manager process) and a real kubelet. The pods are bound to the
kubelet's node by the template's `nodeName` (no scheduler here).

A `* * * * *` CronJob with concurrencyPolicy Forbid gets its Job at the next minute
boundary (`<name>-<minutes since the epoch>`); the Job's pod runs and completes; the
CronJob sees it (`active` empties, `lastSuccessfulTime`); deleting the CronJob takes its
Jobs with it."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from api.timefmt import parse_time
from tests.e2e.conftest import KubeletProcess
from tests.support.controllermanager import ManagerProcess
from tests.support.images import BUSYBOX_IMAGE
from tests.support.kubectl import Kubectl
from tests.support.wait import eventually

Obj = dict[str, Any]


@pytest.fixture(scope="module")
def controller_manager(apiserver, tmp_path_factory) -> Iterator[None]:
    workdir = tmp_path_factory.mktemp("cm")
    controllers = ("--controllers", "cronjob,job,garbagecollector")
    proc = ManagerProcess(apiserver, workdir, *controllers).start()
    yield
    proc.stop()


def test_a_minutely_forbid_cronjob_runs_a_job_to_completion(
    api: httpx.Client,
    namespace: str,
    kubelet: KubeletProcess,
    controller_manager: None,
    kubectl: Kubectl,
) -> None:
    base = f"/apis/batch/v1/namespaces/{namespace}"
    container = {"name": "tick", "image": BUSYBOX_IMAGE, "command": ["sh", "-c", "echo tick"]}
    pod_spec = {
        "nodeName": kubelet.node,
        "restartPolicy": "Never",
        "terminationGracePeriodSeconds": 1,
        "containers": [container],
    }
    body = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": {"name": "tick"},
        "spec": {
            "schedule": "* * * * *",
            "concurrencyPolicy": "Forbid",
            "jobTemplate": {"spec": {"template": {"spec": pod_spec}}},
        },
    }
    r = api.post(f"{base}/cronjobs", json=body)
    assert r.status_code == 201, r.text
    created = parse_time(r.json()["metadata"]["creationTimestamp"])
    assert created is not None
    first = int((math.floor(created / 60) + 1) * 60)

    def started() -> Obj:
        items = api.get(f"{base}/jobs").json()["items"]
        assert items, "no job yet"
        return items[0]

    job = eventually(started, timeout=75, interval=0.5, message="the cronjob's first job")
    assert job["metadata"]["name"] == f"tick-{first // 60}"
    assert job["metadata"]["ownerReferences"][0]["name"] == "tick"

    def completed() -> Obj:
        got = api.get(f"{base}/jobs/{job['metadata']['name']}").json()
        types = {c["type"] for c in got["status"].get("conditions") or [] if c["status"] == "True"}
        assert "Complete" in types, got["status"]
        return got

    eventually(completed, timeout=60, interval=0.3, message="the job completes")
    selector = f"batch.kubernetes.io/job-name={job['metadata']['name']}"
    pods = api.get(f"/api/v1/namespaces/{namespace}/pods", params={"labelSelector": selector})
    assert [p["status"]["phase"] for p in pods.json()["items"]] == ["Succeeded"]

    def seen_complete() -> Obj:
        status = api.get(f"{base}/cronjobs/tick").json()["status"]
        assert not status.get("active") and status.get("lastSuccessfulTime"), status
        return status

    status = eventually(seen_complete, timeout=15, interval=0.3, message="the cronjob saw it")
    assert parse_time(status["lastScheduleTime"]) == first
    rows = kubectl.run("-n", namespace, "get", "cronjobs").stdout.splitlines()
    assert rows[1].split()[:9] == ["tick", "*", "*", "*", "*", "*", "<none>", "False", "0"]

    api.delete(f"{base}/cronjobs/tick")

    def jobs_gone() -> bool:
        assert api.get(f"{base}/jobs").json()["items"] == []
        return True

    eventually(jobs_gone, timeout=30, interval=0.3, message="the garbage collector took the jobs")
