"""batch/v1 Jobs through the real kubectl (1.32 sends `create job` as protobuf; 1.27
and 1.33 too) against the real apiserver and etcd: create, get's columns, the
server's defaults and generated selector, explain, Kubernetes' validation messages,
delete."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import httpx
import pytest

from tests.support.kubectl import MINORS, Kubectl, installed_kubectl


@pytest.fixture(params=MINORS, ids=lambda minor: minor or "default")
def kubectl(request: pytest.FixtureRequest, apiserver, tmp_path: Path) -> Kubectl:
    return installed_kubectl(request.param, apiserver.kubeconfig, tmp_path / "cache")


def test_create_get_explain_delete_job(kubectl: Kubectl, http: httpx.Client, namespace: str):
    ns = ("-n", namespace)
    out = kubectl.run(*ns, "create", "job", "pi", "--image=minik/busybox:1", "--", "echo", "hi")
    assert out.stdout == "job.batch/pi created\n"
    job = http.get(f"/apis/batch/v1/namespaces/{namespace}/jobs/pi").json()
    uid, spec = job["metadata"]["uid"], job["spec"]
    assert spec["completions"] == 1 and spec["parallelism"] == 1
    assert spec["backoffLimit"] == 6 and spec["completionMode"] == "NonIndexed"
    assert spec["suspend"] is False and spec["manualSelector"] is False
    assert spec["podReplacementPolicy"] == "TerminatingOrFailed"
    assert spec["selector"] == {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}
    labels = {
        "batch.kubernetes.io/controller-uid": uid,
        "batch.kubernetes.io/job-name": "pi",
        "controller-uid": uid,
        "job-name": "pi",
    }
    assert spec["template"]["metadata"]["labels"] == labels
    assert job["metadata"]["labels"] == labels
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    assert spec["template"]["spec"]["containers"][0]["command"] == ["echo", "hi"]

    rows = [line.split() for line in kubectl.run(*ns, "get", "jobs").stdout.splitlines()]
    assert rows[0] == ["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]
    assert rows[1][:3] == ["pi", "Running", "0/1"]
    wide = kubectl.run(*ns, "get", "job", "pi", "-o", "wide").stdout.splitlines()
    assert wide[0].split() == [
        "NAME",
        "STATUS",
        "COMPLETIONS",
        "DURATION",
        "AGE",
        "CONTAINERS",
        "IMAGES",
        "SELECTOR",
    ]
    assert wide[1].split()[-3:] == [
        "pi",
        "minik/busybox:1",
        f"batch.kubernetes.io/controller-uid={uid}",
    ]
    assert "job.batch/pi" in kubectl.run(*ns, "get", "all").stdout

    explained = kubectl.run("explain", "job.spec").stdout
    assert "backoffLimit" in explained and "completionMode" in explained

    out = kubectl.run(*ns, "delete", "job", "pi")
    assert out.stdout == 'job.batch "pi" deleted\n'


def test_invalid_jobs_are_refused_with_kubernetes_messages(
    kubectl: Kubectl, namespace: str, tmp_path: Path
):
    manifest = tmp_path / "job.yaml"
    manifest.write_text(
        textwrap.dedent(
            """
            apiVersion: batch/v1
            kind: Job
            metadata: {name: bad}
            spec:
              completionMode: Indexed
              parallelism: 2
              template:
                spec:
                  containers: [{name: c, image: minik/busybox:1}]
            """
        )
    )
    out = kubectl.fails("-n", namespace, "apply", "-f", str(manifest))
    assert 'spec.template.spec.restartPolicy: Unsupported value: "Always"' in out.stderr
    assert "spec.completions: Required value: when completion mode is Indexed" in out.stderr


def test_job_spec_updates_keep_immutable_fields(http: httpx.Client, namespace: str):
    base = f"/apis/batch/v1/namespaces/{namespace}/jobs"
    body = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "fixed"},
        "spec": {
            "template": {
                "spec": {
                    "restartPolicy": "OnFailure",
                    "containers": [{"name": "c", "image": "minik/busybox:1"}],
                }
            }
        },
    }
    created = http.post(base, json=body)
    assert created.status_code == 201, created.text
    assert created.json()["status"] == {}
    patch = {
        "spec": {
            "completions": 3,
            "template": {"spec": {"containers": [{"name": "c", "image": "minik/busybox:2"}]}},
        }
    }
    r = http.patch(
        f"{base}/fixed",
        content=json.dumps(patch),
        headers={"Content-Type": "application/strategic-merge-patch+json"},
    )
    assert r.status_code == 422, r.text
    fields = {c["field"]: c["message"] for c in r.json()["details"]["causes"]}
    assert fields["spec.completions"] == "Invalid value: 3: field is immutable"
    assert fields["spec.template"].endswith("field is immutable")
    status = {"status": {"active": 1}}
    r = http.patch(
        f"{base}/fixed/status",
        content=json.dumps(status),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 200 and r.json()["status"]["active"] == 1
