"""`kubectl logs` end to end: the real kubectl → the apiserver's pods/log → the pod's
kubelet (found through its Node) → Docker. Also the kubelet's token check and the
non-interactive exec endpoint."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deploy.controlplane import ApiServer
from tests.e2e.conftest import (
    KubeletProcess,
    container_status,
    create_pod,
    is_ready,
    pod_manifest,
    wait_pod,
)

KUBECTL = "/usr/bin/kubectl"


@pytest.fixture
def kubectl(apiserver: ApiServer, tmp_path: Path) -> Iterator[list[str]]:
    yield [KUBECTL, "--kubeconfig", str(apiserver.kubeconfig), "--cache-dir", str(tmp_path)]


def run(argv: list[str], timeout: float = 20) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)


def test_kubectl_logs_tail_and_follow(
    kubelet: KubeletProcess, kubectl: list[str], api: httpx.Client, namespace: str, busybox: str
) -> None:
    talker = {
        "name": "talker",
        "image": busybox,
        "command": [
            "sh",
            "-c",
            "for i in 1 2 3 4 5; do echo line-$i; done; "
            "i=0; while :; do i=$((i+1)); echo tick-$i; sleep 0.3; done",
        ],
    }
    quiet = {"name": "quiet", "image": busybox, "command": ["sleep", "3600"]}
    create_pod(api, namespace, pod_manifest("talk", kubelet.node, [talker, quiet]))
    wait_pod(api, namespace, "talk", is_ready, what="Ready")
    time.sleep(0.5)

    out = run([*kubectl, "-n", namespace, "logs", "talk", "-c", "talker"])
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("line-1\nline-2\nline-3\nline-4\nline-5\ntick-1\n")

    out = run([*kubectl, "-n", namespace, "logs", "talk", "-c", "talker", "--tail=2"])
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert len(lines) == 2 and all(line.startswith("tick-") for line in lines)

    out = run(
        [*kubectl, "-n", namespace, "logs", "talk", "-c", "talker", "--timestamps", "--tail=1"]
    )
    assert out.returncode == 0, out.stderr
    stamp, _, text = out.stdout.strip().partition(" ")
    assert stamp.endswith("Z") and "T" in stamp and text.startswith("tick-")

    # -f streams: lines written after the command started arrive while it runs
    follower = subprocess.Popen(
        [*kubectl, "-n", namespace, "logs", "-f", "talk", "-c", "talker", "--tail=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert follower.stdout is not None
        seen = [follower.stdout.readline().strip() for _ in range(4)]
    finally:
        follower.kill()
        follower.wait(10)
    numbers = [int(line.removeprefix("tick-")) for line in seen]
    assert numbers == list(range(numbers[0], numbers[0] + 4)), seen

    # a container that printed nothing: empty logs, not an error
    out = run([*kubectl, "-n", namespace, "logs", "talk", "-c", "quiet"])
    assert out.returncode == 0 and out.stdout == "", out.stderr


def test_kubectl_logs_previous(
    kubelet: KubeletProcess, kubectl: list[str], api: httpx.Client, namespace: str, busybox: str
) -> None:
    counter = {
        "name": "counter",
        "image": busybox,
        "command": [
            "sh",
            "-c",
            "n=$(cat /state/n 2>/dev/null || echo 0); n=$((n+1)); echo $n > /state/n; "
            "echo run-$n; sleep 4; exit 1",
        ],
        "volumeMounts": [{"name": "state", "mountPath": "/state"}],
    }
    manifest = pod_manifest(
        "counting", kubelet.node, [counter], volumes=[{"name": "state", "emptyDir": {}}]
    )
    create_pod(api, namespace, manifest)
    no_previous = run([*kubectl, "-n", namespace, "logs", "counting", "--previous"])
    assert no_previous.returncode != 0
    # wait for the second run: the first exits after 4 s and restarts at once
    wait_pod(
        api,
        namespace,
        "counting",
        lambda p: (
            container_status(p, "counter").get("restartCount") == 1
            and "running" in container_status(p, "counter").get("state", {})
        ),
        30,
        "restarted once and running",
    )
    current = run([*kubectl, "-n", namespace, "logs", "counting"])
    previous = run([*kubectl, "-n", namespace, "logs", "counting", "--previous"])
    assert current.returncode == 0 and previous.returncode == 0, (current.stderr, previous.stderr)
    assert current.stdout == "run-2\n"
    assert previous.stdout == "run-1\n"


def test_logs_of_a_container_that_never_started(
    kubelet: KubeletProcess, kubectl: list[str], api: httpx.Client, namespace: str
) -> None:
    container = {"name": "app", "image": "127.0.0.1:9/minik-test/nothing:1"}
    create_pod(api, namespace, pod_manifest("nostart", kubelet.node, [container]))
    wait_pod(
        api,
        namespace,
        "nostart",
        lambda p: (
            (container_status(p, "app").get("state") or {}).get("waiting", {}).get("reason")
            in ("ErrImagePull", "ImagePullBackOff")
        ),
        20,
    )
    out = run([*kubectl, "-n", namespace, "logs", "nostart"])
    assert out.returncode != 0
    assert 'container "app" in pod "nostart" is waiting to start' in out.stderr
    r = api.get(f"/api/v1/namespaces/{namespace}/pods/nostart/log")
    assert r.status_code == 400 and r.json()["kind"] == "Status"
    missing = api.get(f"/api/v1/namespaces/{namespace}/pods/absent/log")
    assert missing.status_code == 404


def test_kubelet_checks_tokens_and_execs(
    kubelet: KubeletProcess, apiserver: ApiServer, api: httpx.Client, namespace: str, busybox: str
) -> None:
    container = {"name": "c", "image": busybox, "command": ["sh", "-c", "echo hello; sleep 3600"]}
    create_pod(api, namespace, pod_manifest("guarded", kubelet.node, [container]))
    wait_pod(api, namespace, "guarded", is_ready, what="Ready")
    path = f"/containerLogs/{namespace}/guarded/c"
    with kubelet.http() as anonymous:
        assert anonymous.get(path).status_code == 401
    with kubelet.http("not-a-token") as bad:
        assert bad.get(path).status_code == 401
    with kubelet.http(apiserver.token) as admin:
        good = admin.get(path)
    assert good.status_code == 200 and good.text == "hello\n"
    # non-interactive exec through the apiserver
    r = api.post(
        f"/api/v1/namespaces/{namespace}/pods/guarded/exec",
        params=[
            ("container", "c"),
            ("command", "sh"),
            ("command", "-c"),
            ("command", "echo $((6*7))"),
        ],
    )
    assert r.status_code == 200, r.text
    assert r.text == "42\n"
