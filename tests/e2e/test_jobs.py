"""Jobs with real Docker pods: the job controller (in the real controller manager
process) and a real kubelet. The pods are bound to the kubelet's node by their
template's `nodeName` (no scheduler here).

- a Job of 6 completions at parallelism 2 whose first two pods fail: it backs off,
  retries and ends Complete with succeeded 6 and failed 2 (which pods fail is decided
  by `mkdir` in a hostPath directory of the test: atomic, so exactly two do);
- an Indexed Job whose pods print their index and hostname, read with `kubectl logs`;
  deleting the Job takes its pods with it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import KubeletProcess
from tests.support.controllermanager import ManagerProcess
from tests.support.images import BUSYBOX_IMAGE
from tests.support.kubectl import Kubectl, binary_for
from tests.support.wait import eventually

Obj = dict[str, Any]


@pytest.fixture(scope="module")
def controller_manager(apiserver, tmp_path_factory) -> Iterator[None]:
    workdir = tmp_path_factory.mktemp("cm")
    proc = ManagerProcess(apiserver, workdir, "--controllers", "job,garbagecollector").start()
    yield
    proc.stop()


def job(name: str, node: str, script: str, **spec: Any) -> Obj:
    pod_spec = spec.pop("pod", {})
    container = {"name": "main", "image": BUSYBOX_IMAGE, "command": ["sh", "-c", script]}
    container.update(pod_spec.pop("container", {}))
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "template": {
                "spec": {
                    "nodeName": node,
                    "restartPolicy": "Never",
                    "terminationGracePeriodSeconds": 1,
                    "containers": [container],
                    **pod_spec,
                }
            },
            **spec,
        },
    }


def create(api: httpx.Client, namespace: str, body: Obj) -> None:
    r = api.post(f"/apis/batch/v1/namespaces/{namespace}/jobs", json=body)
    assert r.status_code == 201, r.text


def wait_complete(api: httpx.Client, namespace: str, name: str, timeout: float) -> Obj:
    def done() -> Obj:
        got = api.get(f"/apis/batch/v1/namespaces/{namespace}/jobs/{name}").json()
        types = {c["type"] for c in got["status"].get("conditions") or [] if c["status"] == "True"}
        assert "Complete" in types, got["status"]
        return got

    return eventually(done, timeout=timeout, interval=0.3, message=f"job {name} complete")


def test_job_retries_failed_pods_and_completes(
    api: httpx.Client,
    namespace: str,
    kubelet: KubeletProcess,
    controller_manager: None,
    tmp_path: Path,
    kubectl: Kubectl,
) -> None:
    shared = tmp_path / "attempts"
    shared.mkdir()
    script = (
        "if mkdir /attempts/f1 2>/dev/null || mkdir /attempts/f2 2>/dev/null; "
        "then echo failing; exit 1; fi; echo done"
    )
    volume = {"name": "attempts", "hostPath": {"path": str(shared), "type": "Directory"}}
    mount = {"name": "attempts", "mountPath": "/attempts"}
    body = job(
        "retry",
        kubelet.node,
        script,
        completions=6,
        parallelism=2,
        pod={"volumes": [volume], "container": {"volumeMounts": [mount]}},
    )
    create(api, namespace, body)
    finished = wait_complete(api, namespace, "retry", timeout=90)
    status = finished["status"]
    assert (status["succeeded"], status["failed"], status.get("active")) == (6, 2, None)
    assert status.get("uncountedTerminatedPods") == {}
    rows = kubectl.run("-n", namespace, "get", "jobs").stdout.splitlines()
    assert rows[1].split()[:3] == ["retry", "Complete", "6/6"]
    # `logs job/x` reads one of the Job's pods
    assert kubectl.run("-n", namespace, "logs", "job/retry").stdout in ("done\n", "failing\n")


def test_indexed_job_pods_print_their_index(
    api: httpx.Client,
    namespace: str,
    kubelet: KubeletProcess,
    controller_manager: None,
    kubectl: Kubectl,
) -> None:
    script = 'echo "index=$JOB_COMPLETION_INDEX host=$(hostname)"'
    body = job("idx", kubelet.node, script, completions=3, parallelism=3, completionMode="Indexed")
    create(api, namespace, body)
    status = wait_complete(api, namespace, "idx", timeout=60)["status"]
    assert status["completedIndexes"] == "0-2" and status["succeeded"] == 3
    pods = api.get(
        f"/api/v1/namespaces/{namespace}/pods",
        params={"labelSelector": "batch.kubernetes.io/job-name=idx"},
    ).json()["items"]
    printed = set()
    for pod in pods:
        index = pod["metadata"]["labels"]["batch.kubernetes.io/job-completion-index"]
        out = kubectl.run("-n", namespace, "logs", pod["metadata"]["name"]).stdout
        assert out == f"index={index} host=idx-{index}\n"
        printed.add(index)
    assert printed == {"0", "1", "2"}
    for minor in (None, "1.27", "1.33"):
        binary = binary_for(minor)
        if binary.exists():
            other = Kubectl(kubectl.kubeconfig, kubectl.cache_dir.parent / f"cache-{minor}", binary)
            out = other.run("-n", namespace, "logs", "job/idx").stdout
            assert re.fullmatch(r"index=[0-2] host=idx-[0-2]\n", out), out
    kubectl.run("-n", namespace, "delete", "job", "idx")
    eventually(
        lambda: (
            not api.get(
                f"/api/v1/namespaces/{namespace}/pods",
                params={"labelSelector": "batch.kubernetes.io/job-name=idx"},
            ).json()["items"]
        ),
        timeout=30,
        message="the Job's pods deleted with it",
    )
