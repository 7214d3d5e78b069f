"""batch/v1 CronJobs through the real kubectl (1.32 sends `create cronjob` as protobuf;
1.27 and 1.33 too) against the real apiserver and etcd: create, get's columns, the
server's defaults, `create job --from=cronjob/x`, describe, explain, Kubernetes'
validation messages, delete."""

from __future__ import annotations

import textwrap
from pathlib import Path

import httpx
import pytest

from tests.support.kubectl import MINORS, Kubectl, installed_kubectl


@pytest.fixture(params=MINORS, ids=lambda minor: minor or "default")
def kubectl(request: pytest.FixtureRequest, apiserver, tmp_path: Path) -> Kubectl:
    return installed_kubectl(request.param, apiserver.kubeconfig, tmp_path / "cache")


def test_create_get_describe_explain_delete_cronjob(
    kubectl: Kubectl, http: httpx.Client, namespace: str
):
    ns = ("-n", namespace)
    out = kubectl.run(
        *ns, "create", "cronjob", "tick", "--image=minik/busybox:1",
        "--schedule=*/5 * * * *", "--", "echo", "hi",
    )  # fmt: skip
    assert out.stdout == "cronjob.batch/tick created\n"
    cj = http.get(f"/apis/batch/v1/namespaces/{namespace}/cronjobs/tick").json()
    spec = cj["spec"]
    assert spec["schedule"] == "*/5 * * * *"
    assert spec["concurrencyPolicy"] == "Allow" and spec["suspend"] is False
    assert spec["successfulJobsHistoryLimit"] == 3 and spec["failedJobsHistoryLimit"] == 1
    job_spec = spec["jobTemplate"]["spec"]
    assert "backoffLimit" not in job_spec and "selector" not in job_spec
    pod_spec = job_spec["template"]["spec"]
    assert pod_spec["restartPolicy"] == "OnFailure"
    assert pod_spec["containers"][0]["command"] == ["echo", "hi"]
    assert pod_spec["dnsPolicy"] == "ClusterFirst"
    assert cj["status"] == {}

    rows = [line.split() for line in kubectl.run(*ns, "get", "cronjobs").stdout.splitlines()]
    assert rows[0] == [
        "NAME",
        "SCHEDULE",
        "TIMEZONE",
        "SUSPEND",
        "ACTIVE",
        "LAST",
        "SCHEDULE",
        "AGE",
    ]
    assert rows[1][:9] == ["tick", "*/5", "*", "*", "*", "*", "<none>", "False", "0"]
    assert rows[1][9] == "<none>"
    wide = kubectl.run(*ns, "get", "cj", "tick", "-o", "wide").stdout.splitlines()
    assert wide[0].split()[-3:] == ["CONTAINERS", "IMAGES", "SELECTOR"]
    assert wide[1].split()[-3:] == ["tick", "minik/busybox:1", "<none>"]
    assert "cronjob.batch/tick" in kubectl.run(*ns, "get", "all").stdout

    out = kubectl.run(*ns, "create", "job", "manual", "--from=cronjob/tick")
    assert out.stdout == "job.batch/manual created\n"
    job = http.get(f"/apis/batch/v1/namespaces/{namespace}/jobs/manual").json()
    assert job["metadata"]["annotations"]["cronjob.kubernetes.io/instantiate"] == "manual"
    owner = job["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["uid"]) == (
        "CronJob",
        "tick",
        cj["metadata"]["uid"],
    )
    assert job["spec"]["template"]["spec"]["containers"][0]["command"] == ["echo", "hi"]

    described = kubectl.run(*ns, "describe", "cronjob", "tick").stdout
    for line in ("Schedule:", "Concurrency Policy:", "Suspend:", "Active Jobs:"):
        assert line in described, described
    assert "*/5 * * * *" in described and "Allow" in described

    explained = kubectl.run("explain", "cronjob.spec").stdout
    assert "concurrencyPolicy" in explained and "jobTemplate" in explained
    assert "timeZone" in explained

    assert kubectl.run(*ns, "delete", "cronjob", "tick").stdout == 'cronjob.batch "tick" deleted\n'


def test_invalid_cronjobs_are_refused_with_kubernetes_messages(kubectl: Kubectl, namespace: str):
    manifest = textwrap.dedent(
        """
        apiVersion: batch/v1
        kind: CronJob
        metadata:
          name: bad
        spec:
          schedule: "61 * * * *"
          timeZone: Mars/Olympus
          concurrencyPolicy: Sometimes
          jobTemplate:
            spec:
              template:
                spec:
                  restartPolicy: Never
                  containers: [{name: c, image: minik/busybox:1}]
        """
    )
    failed = kubectl.fails("-n", namespace, "create", "-f", "-", input=manifest)
    assert 'The CronJob "bad" is invalid' in failed.stderr
    assert (
        'spec.schedule: Invalid value: "61 * * * *": end of range (61) above maximum (59): 61'
        in failed.stderr
    )
    assert (
        'spec.timeZone: Invalid value: "Mars/Olympus": unknown time zone Mars/Olympus'
        in failed.stderr
    )
    assert 'spec.concurrencyPolicy: Unsupported value: "Sometimes"' in failed.stderr

    long_name = "x" * 53
    failed = kubectl.fails(
        "-n", namespace, "create", "cronjob", long_name, "--image=minik/busybox:1",
        "--schedule=@hourly",
    )  # fmt: skip
    assert "must be no more than 52 characters" in failed.stderr
    failed = kubectl.fails(
        "-n", namespace, "create", "cronjob", "tz", "--image=minik/busybox:1",
        "--schedule=CRON_TZ=UTC 0 * * * *",
    )  # fmt: skip
    assert "cannot use TZ or CRON_TZ in schedule, use timeZone field instead" in failed.stderr


def test_the_example_manifest_is_accepted(kubectl: Kubectl, http: httpx.Client, namespace: str):
    example = Path(__file__).parents[2] / "examples" / "cronjob.yaml"
    out = kubectl.run("-n", namespace, "apply", "-f", str(example))
    assert out.stdout == "cronjob.batch/clock created\n"
    cj = http.get(f"/apis/batch/v1/namespaces/{namespace}/cronjobs/clock").json()
    assert cj["spec"]["concurrencyPolicy"] == "Forbid" and cj["spec"]["timeZone"] == "Etc/UTC"
