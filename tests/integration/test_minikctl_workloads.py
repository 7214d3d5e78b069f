"""minikctl's workload, node and service commands as a user runs them: a real subprocess
against the real apiserver. The controller, scheduler and kubelet are played by the
test itself through the API (ReplicaSets with revision annotations and ownerReferences,
deployment status through `deployments/NAME/status`, a pod's status through
`pods/NAME/status`, a tiny HTTP "kubelet" the apiserver proxies logs to), so each
command's own logic is what is tested; one test at the end runs the real controller
manager when it is there. Where kubectl is installed, outputs are compared with it."""

from __future__ import annotations

import contextlib
import difflib
import importlib.util
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from api.errors import NotFound
from api.resources import lookup
from client.kubeconfig import load
from client.rest import Client
from deploy import processes
from tests.support.controllermanager import ManagerProcess
from tests.support.fakekubelet import server_context
from tests.support.kubectl import Kubectl
from tests.support.wait import eventually

MINIKCTL = Path(sys.executable).parent / "minikctl"
KUBECTL = shutil.which("kubectl")
PODS, EVENTS, DEPLOY, RS, NODES, SVC = (
    lookup(n) for n in ("pods", "events", "deployments", "replicasets", "nodes", "services")
)
REVISION = "deployment.kubernetes.io/revision"
CAUSE = "kubernetes.io/change-cause"


# ---- running minikctl -----------------------------------------------------------------------


def command(apiserver: Any, *args: str) -> list[str]:
    base = [str(MINIKCTL)] if MINIKCTL.exists() else [sys.executable, "-m", "minikctl.main"]
    return [*base, "--kubeconfig", str(apiserver.kubeconfig), *args]


def _env(apiserver: Any) -> dict[str, str]:
    return {**os.environ, "KUBECONFIG": "", "HOME": str(Path(apiserver.workdir) / "home")}


def run(apiserver: Any, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command(apiserver, *args), capture_output=True, text=True, timeout=60, env=_env(apiserver)
    )


def ok(apiserver: Any, *args: str) -> str:
    result = run(apiserver, *args)
    assert result.returncode == 0, (args, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result.stdout


def error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The last stderr line of a failed command (kubectl's final `error: ...`)."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    return result.stderr.strip().splitlines()[-1]


@contextlib.contextmanager
def background(apiserver: Any, *args: str) -> Iterator[subprocess.Popen[str]]:
    """A long-running minikctl (rollout status, logs -f, port-forward), killed if left."""
    proc = subprocess.Popen(
        command(apiserver, *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(apiserver),
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(10)
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()


def readline(proc: subprocess.Popen[str], timeout: float = 10) -> str:
    """One line of a background command's stdout, failing instead of hanging."""
    assert proc.stdout is not None
    box: list[str] = []
    reader = threading.Thread(target=lambda: box.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    assert box, f"no output within {timeout}s"
    return box[0]


@pytest.fixture
def client(apiserver: Any) -> Iterator[Client]:
    with Client(load(str(apiserver.kubeconfig))) as c:
        yield c


# ---- playing the controller, scheduler and kubelet ------------------------------------------


def template(image: str, extra_labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "metadata": {"labels": {"app": "web", **(extra_labels or {})}},
        "spec": {"containers": [{"name": "web", "image": image, "ports": [{"containerPort": 80}]}]},
    }


def make_deployment(client: Client, ns: str, replicas: int = 3, image: str = "nginx:1.25") -> dict:
    body = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "labels": {"app": "web"}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web"}},
            "template": template(image),
        },
    }
    return client.create(DEPLOY, body, ns)


def make_replicaset(
    client: Client,
    ns: str,
    dep: dict,
    revision: int,
    image: str,
    replicas: int,
    cause: str | None = None,
    owner_uid: str | None = None,
) -> dict:
    """What the deployment controller creates for one revision."""
    hashed = f"h{revision}{abs(hash(image)) % 10000}"
    annotations = {REVISION: str(revision)}
    if cause:
        annotations[CAUSE] = cause
    body = {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {
            "name": f"web-{hashed}",
            "labels": {"app": "web", "pod-template-hash": hashed},
            "annotations": annotations,
            "ownerReferences": [
                {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": "web",
                    "uid": owner_uid or dep["metadata"]["uid"],
                    "controller": True,
                    "blockOwnerDeletion": True,
                }
            ],
        },
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": "web", "pod-template-hash": hashed}},
            "template": template(image, {"pod-template-hash": hashed}),
        },
    }
    return client.create(RS, body, ns)


def set_status(client: Client, ns: str, name: str = "web", **status: Any) -> None:
    """Write a deployment's status as the controller does, observing its generation."""
    generation = client.get(DEPLOY, name, ns)["metadata"]["generation"]
    status.setdefault("observedGeneration", generation)
    client.patch(DEPLOY, name, {"status": status}, "merge", ns, subresource="status")


def make_node(client: Client, name: str, ip: str = "127.0.0.1", kubelet_port: int = 0) -> None:
    client.create(NODES, {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}})
    status = {
        "addresses": [{"type": "InternalIP", "address": ip}, {"type": "Hostname", "address": name}],
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "KubeletReady",
                "message": "kubelet is posting ready status",
                "lastHeartbeatTime": "2024-01-01T00:00:00Z",
                "lastTransitionTime": "2024-01-01T00:00:00Z",
            }
        ],
        "capacity": {"cpu": "4", "memory": "8Gi", "pods": "110"},
        "allocatable": {"cpu": "4", "memory": "8Gi", "pods": "110"},
        "daemonEndpoints": {"kubeletEndpoint": {"Port": kubelet_port}},
    }
    client.patch(NODES, name, {"status": status}, "merge", subresource="status")


def make_pod(
    client: Client,
    ns: str,
    name: str,
    node: str | None,
    containers: tuple[str, ...] = ("app",),
    labels: dict[str, str] | None = None,
    owner: dict | None = None,
    annotations: dict[str, str] | None = None,
    running: bool = True,
    pod_ip: str = "10.244.0.9",
    ports: list[dict] | None = None,
) -> dict:
    meta: dict[str, Any] = {"name": name, "labels": labels or {}, "annotations": annotations or {}}
    if owner:
        meta["ownerReferences"] = [owner]
    spec: dict[str, Any] = {
        "containers": [{"name": c, "image": "busybox", "ports": ports or []} for c in containers]
    }
    if node:
        spec["nodeName"] = node
    pod = client.create(
        PODS, {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}, ns
    )
    if running:
        started = "2024-01-01T00:00:00Z"
        status = {
            "phase": "Running",
            "podIP": pod_ip,
            "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": started}],
            "containerStatuses": [
                {
                    "name": c,
                    "ready": True,
                    "restartCount": 0,
                    "image": "busybox",
                    "imageID": "",
                    "state": {"running": {"startedAt": started}},
                    "lastState": {
                        "terminated": {"exitCode": 1, "containerID": f"docker://{name}-{c}-0"}
                    },
                }
                for c in containers
            ],
        }
        pod = client.patch(PODS, name, {"status": status}, "merge", ns, subresource="status")
    return pod


def owner(kind: str, name: str, api_version: str = "apps/v1") -> dict:
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": name,
        "uid": f"00000000-0000-0000-0000-{abs(hash(name)) % 10**12:012d}",
        "controller": True,
    }


# ---- scale, set image, rollout restart/pause/resume ---------------------------------------


def test_scale_deployments_and_replicasets(apiserver, namespace, client):
    dep = make_deployment(client, namespace, replicas=2)
    assert ok(apiserver, "scale", "deploy/web", "--replicas=3", "-n", namespace) == (
        "deployment.apps/web scaled\n"
    )
    assert client.get(DEPLOY, "web", namespace)["spec"]["replicas"] == 3
    mismatch = run(
        apiserver,
        "scale",
        "deployment",
        "web",
        "--replicas=1",
        "--current-replicas=2",
        "-n",
        namespace,
    )
    assert error_line(mismatch) == "error: Expected replicas to be 2, was 3"
    assert (
        ok(
            apiserver,
            "scale",
            "deployment",
            "web",
            "--replicas=1",
            "--current-replicas=3",
            "-n",
            namespace,
        )
        == "deployment.apps/web scaled\n"
    )
    assert client.get(DEPLOY, "web", namespace)["spec"]["replicas"] == 1
    make_replicaset(client, namespace, dep, 1, "nginx:1.25", 1)
    rs_name = client.list(RS, namespace)["items"][0]["metadata"]["name"]
    assert ok(apiserver, "scale", f"rs/{rs_name}", "--replicas=0", "-n", namespace) == (
        f"replicaset.apps/{rs_name} scaled\n"
    )
    assert client.get(RS, rs_name, namespace)["spec"]["replicas"] == 0
    assert error_line(run(apiserver, "scale", "deploy/web", "-n", namespace)) == (
        "error: The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0"
    )
    assert error_line(run(apiserver, "scale", "deploy/nope", "--replicas=1", "-n", namespace)) == (
        'Error from server (NotFound): deployments.apps "nope" not found'
    )


def test_set_image_and_restart_pause_resume(apiserver, namespace, client):
    make_deployment(client, namespace)
    assert ok(apiserver, "set", "image", "deploy/web", "web=nginx:1.26", "-n", namespace) == (
        "deployment.apps/web image updated\n"
    )
    containers = client.get(DEPLOY, "web", namespace)["spec"]["template"]["spec"]["containers"]
    assert [(c["name"], c["image"], c["ports"][0]["containerPort"]) for c in containers] == [
        ("web", "nginx:1.26", 80)  # the strategic patch merged by name: ports survive
    ]
    assert ok(apiserver, "set", "image", "deploy/web", "web=nginx:1.26", "-n", namespace) == ""
    assert (
        error_line(run(apiserver, "set", "image", "deploy/web", "db=postgres", "-n", namespace))
        == 'error: unable to find container named "db"'
    )

    assert ok(apiserver, "rollout", "pause", "deploy/web", "-n", namespace) == (
        "deployment.apps/web paused\n"
    )
    assert client.get(DEPLOY, "web", namespace)["spec"]["paused"] is True
    assert error_line(run(apiserver, "rollout", "pause", "deploy/web", "-n", namespace)) == (
        'error: deployments.apps "web" is already paused'
    )
    assert error_line(run(apiserver, "rollout", "restart", "deploy/web", "-n", namespace)) == (
        'error: deployments.apps "web" can\'t restart paused deployment (run rollout resume first)'
    )
    assert ok(apiserver, "rollout", "resume", "deploy/web", "-n", namespace) == (
        "deployment.apps/web resumed\n"
    )
    assert not client.get(DEPLOY, "web", namespace)["spec"].get("paused")
    assert error_line(run(apiserver, "rollout", "resume", "deploy/web", "-n", namespace)) == (
        'error: deployments.apps "web" is not paused'
    )
    before = time.time()
    assert ok(apiserver, "rollout", "restart", "deployment", "web", "-n", namespace) == (
        "deployment.apps/web restarted\n"
    )
    stamp = client.get(DEPLOY, "web", namespace)["spec"]["template"]["metadata"]["annotations"][
        "kubectl.kubernetes.io/restartedAt"
    ]
    from datetime import datetime

    assert abs(datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp() - before) < 5


# ---- rollout status -------------------------------------------------------------------------


def test_rollout_status_follows_the_deployment_until_it_is_rolled_out(apiserver, namespace, client):
    make_deployment(client, namespace, replicas=3)
    with background(apiserver, "rollout", "status", "deploy/web", "-n", namespace) as proc:
        assert readline(proc) == "Waiting for deployment spec update to be observed...\n"
        set_status(client, namespace, replicas=1, updatedReplicas=1)
        waiting = 'Waiting for deployment "web" rollout to finish: '
        assert readline(proc) == f"{waiting}1 out of 3 new replicas have been updated...\n"
        set_status(client, namespace, replicas=4, updatedReplicas=3)
        assert readline(proc) == f"{waiting}1 old replicas are pending termination...\n"
        set_status(client, namespace, replicas=3, updatedReplicas=3, availableReplicas=1)
        assert readline(proc) == f"{waiting}1 of 3 updated replicas are available...\n"
        set_status(client, namespace, replicas=3, updatedReplicas=3, availableReplicas=3)
        assert readline(proc) == 'deployment "web" successfully rolled out\n'
        assert proc.wait(30) == 0
    # already done: one line, at once
    assert ok(apiserver, "rollout", "status", "deployment/web", "-n", namespace) == (
        'deployment "web" successfully rolled out\n'
    )


def test_rollout_status_failures(apiserver, namespace, client):
    make_deployment(client, namespace, replicas=2)
    set_status(client, namespace, replicas=2, updatedReplicas=2, availableReplicas=0)
    # --watch=false prints the status once and succeeds
    assert ok(apiserver, "rollout", "status", "deploy/web", "--watch=false", "-n", namespace) == (
        'Waiting for deployment "web" rollout to finish: 0 of 2 updated replicas are available...\n'
    )
    started = time.monotonic()
    timed_out = run(apiserver, "rollout", "status", "deploy/web", "--timeout=1s", "-n", namespace)
    assert error_line(timed_out) == "error: timed out waiting for the condition"
    assert time.monotonic() - started < 8
    with background(apiserver, "rollout", "status", "deploy/web", "-n", namespace) as proc:
        assert readline(proc).startswith('Waiting for deployment "web" rollout to finish')
        client.delete(DEPLOY, "web", namespace)
        assert proc.wait(10) == 1
        assert proc.stderr is not None
        assert proc.stderr.read() == "error: object has been deleted\n"

    make_deployment(client, namespace, replicas=2)
    pinned = run(apiserver, "rollout", "status", "deploy/web", "--revision=1", "-n", namespace)
    assert error_line(pinned) == (
        "error: desired revision (1) is different from the running revision (0)"
    )
    set_status(
        client,
        namespace,
        conditions=[
            {
                "type": "Progressing",
                "status": "False",
                "reason": "ProgressDeadlineExceeded",
                "message": 'ReplicaSet "web-1" has timed out progressing.',
            }
        ],
    )
    assert error_line(run(apiserver, "rollout", "status", "deploy/web", "-n", namespace)) == (
        'error: deployment "web" exceeded its progress deadline'
    )
    assert error_line(run(apiserver, "rollout", "status", "deploy/nope", "-n", namespace)) == (
        'Error from server (NotFound): deployments.apps "nope" not found'
    )


# ---- rollout history and undo ---------------------------------------------------------------


def two_revisions(client: Client, ns: str) -> dict:
    """A deployment rolled from nginx:1.25 (revision 1) to nginx:1.26 (revision 2), plus a
    look-alike ReplicaSet another owner controls, which must be ignored."""
    dep = make_deployment(client, ns, image="nginx:1.26")
    make_replicaset(client, ns, dep, 1, "nginx:1.25", 0)
    make_replicaset(client, ns, dep, 2, "nginx:1.26", 3, cause="minikctl set image web")
    make_replicaset(client, ns, dep, 7, "nginx:9", 0, owner_uid="someone-else")
    client.patch(
        DEPLOY,
        "web",
        {"metadata": {"annotations": {REVISION: "2", "team": "blue"}}},
        "merge",
        ns,
    )
    return dep


def test_rollout_history(apiserver, namespace, client):
    two_revisions(client, namespace)
    assert ok(apiserver, "rollout", "history", "deploy/web", "-n", namespace) == (
        "deployment.apps/web \n"
        "REVISION  CHANGE-CAUSE\n"
        "1         <none>\n"
        "2         minikctl set image web\n"
        "\n"
    )
    one = ok(apiserver, "rollout", "history", "deploy/web", "--revision=1", "-n", namespace)
    assert one.startswith(
        "deployment.apps/web with revision #1\nPod Template:\n  Labels:\tapp=web\n"
        "\tpod-template-hash=h1"
    )
    assert "    Image:\tnginx:1.25\n" in one
    assert (
        error_line(
            run(apiserver, "rollout", "history", "deploy/web", "--revision=5", "-n", namespace)
        )
        == "error: unable to find the specified revision"
    )


def test_rollout_undo_restores_the_previous_template(apiserver, namespace, client):
    two_revisions(client, namespace)
    assert ok(apiserver, "rollout", "undo", "deploy/web", "-n", namespace) == (
        "deployment.apps/web rolled back\n"
    )
    dep = client.get(DEPLOY, "web", namespace)
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25"
    assert dep["spec"]["template"]["metadata"]["labels"] == {"app": "web"}  # no hash label
    # kubectl's annotation rule: the deployment keeps its revision, takes the ReplicaSet's others
    assert dep["metadata"]["annotations"] == {REVISION: "2"}
    # now the template matches revision 1: undoing to it again changes nothing
    assert ok(apiserver, "rollout", "undo", "deploy/web", "--to-revision=1", "-n", namespace) == (
        "deployment.apps/web skipped rollback (current template already matches revision 1)\n"
    )
    assert ok(apiserver, "rollout", "undo", "deploy/web", "--to-revision=2", "-n", namespace) == (
        "deployment.apps/web rolled back\n"
    )
    dep = client.get(DEPLOY, "web", namespace)
    assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.26"
    assert dep["metadata"]["annotations"] == {REVISION: "2", CAUSE: "minikctl set image web"}
    assert (
        error_line(
            run(apiserver, "rollout", "undo", "deploy/web", "--to-revision=7", "-n", namespace)
        )
        == "error: unable to find specified revision 7 in history"
    )
    client.patch(DEPLOY, "web", {"spec": {"paused": True}}, "merge", namespace)
    assert error_line(run(apiserver, "rollout", "undo", "deploy/web", "-n", namespace)) == (
        "error: you cannot rollback a paused deployment; resume it first with "
        "'minikctl rollout resume' and try again"
    )


def test_rollout_undo_without_history(apiserver, namespace, client):
    make_deployment(client, namespace)
    assert error_line(run(apiserver, "rollout", "undo", "deploy/web", "-n", namespace)) == (
        'error: no rollout history found for deployment "web"'
    )
    assert ok(apiserver, "rollout", "history", "deploy/web", "-n", namespace) == (
        "deployment.apps/web \nNo rollout history found.\n"
    )


# ---- nodes: cordon, uncordon, drain ---------------------------------------------------------


@contextlib.contextmanager
def pretend_kubelet(apiserver: Any, node: str) -> Iterator[None]:
    """Finish pods on `node` once they are deleted gracefully, as its kubelet would."""
    stop = threading.Event()

    def loop() -> None:
        with Client(load(str(apiserver.kubeconfig))) as c:
            while not stop.is_set():
                pods = c.list(PODS, "", field_selector=f"spec.nodeName={node}")["items"]
                for pod in pods:
                    meta = pod["metadata"]
                    if meta.get("deletionTimestamp"):
                        with contextlib.suppress(NotFound):
                            c.delete(PODS, meta["name"], meta["namespace"], grace_period_seconds=0)
                stop.wait(0.1)

    worker = threading.Thread(target=loop, daemon=True)
    worker.start()
    try:
        yield
    finally:
        stop.set()
        worker.join(5)


def test_cordon_and_uncordon(apiserver, client, namespace):
    node = f"cordon-{namespace}"
    make_node(client, node)
    try:
        assert ok(apiserver, "cordon", node) == f"node/{node} cordoned\n"
        assert client.get(NODES, node)["spec"]["unschedulable"] is True
        assert ok(apiserver, "cordon", f"node/{node}") == f"node/{node} already cordoned\n"
        table = ok(apiserver, "get", "nodes", node)
        assert re.search(rf"^{node} +Ready,SchedulingDisabled +<none> ", table, re.M), table
        assert "Unschedulable:      true" in ok(apiserver, "describe", "node", node)
        assert ok(apiserver, "uncordon", node) == f"node/{node} uncordoned\n"
        assert not client.get(NODES, node)["spec"].get("unschedulable")
        assert ok(apiserver, "uncordon", node) == f"node/{node} already uncordoned\n"
        assert error_line(run(apiserver, "cordon", "nope-node")) == (
            'Error from server (NotFound): nodes "nope-node" not found'
        )
    finally:
        client.delete(NODES, node)


def test_drain_refuses_then_evicts_and_waits(apiserver, client, namespace):
    node = f"drain-{namespace}"
    make_node(client, node)
    ns = namespace
    try:
        make_pod(client, ns, "managed", node, owner=owner("ReplicaSet", "web-1"))
        make_pod(client, ns, "solo", node)
        make_pod(client, ns, "daemon", node, owner=owner("DaemonSet", "logger"))
        make_pod(client, ns, "static", node, annotations={"kubernetes.io/config.mirror": "x"})
        make_pod(client, ns, "elsewhere", None, owner=owner("ReplicaSet", "web-1"))

        refused = run(apiserver, "drain", node)
        assert refused.returncode == 1
        assert refused.stdout == f"node/{node} cordoned\n"
        problems = [
            "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore): "
            f"{ns}/daemon",
            f"cannot delete Pods that declare no controller (use --force to override): {ns}/solo",
        ]
        assert refused.stderr == (
            f'error: unable to drain node "{node}" due to error: [{", ".join(problems)}], '
            f"continuing command...\nThere are pending nodes to be drained:\n {node}\n"
            + "".join(f"{p}\n" for p in problems)  # kubectl: one per line, no `error: `
        )
        assert len(client.list(PODS, ns)["items"]) == 5  # nothing was evicted

        with pretend_kubelet(apiserver, node):
            drained = run(apiserver, "drain", node, "--ignore-daemonsets", "--force")
        assert drained.returncode == 0, drained.stderr
        assert drained.stderr == (
            f"Warning: ignoring DaemonSet-managed Pods: {ns}/daemon; deleting Pods that "
            f"declare no controller: {ns}/solo\n"
        )
        lines = drained.stdout.splitlines()
        assert lines[0] == f"node/{node} already cordoned"
        assert sorted(lines[1:3]) == [f"evicting pod {ns}/managed", f"evicting pod {ns}/solo"]
        assert sorted(lines[3:5]) == ["pod/managed evicted", "pod/solo evicted"]
        assert lines[5:] == [f"node/{node} drained"]
        left = sorted(p["metadata"]["name"] for p in client.list(PODS, ns)["items"])
        assert left == ["daemon", "elsewhere", "static"]

        # no kubelet finishes this one: the drain gives up at --timeout
        make_pod(client, ns, "stuck", node, owner=owner("ReplicaSet", "web-1"))
        started = time.monotonic()
        stuck = run(apiserver, "drain", node, "--ignore-daemonsets", "--timeout=1s")
        assert time.monotonic() - started < 8
        reason = (
            f'error when waiting for pod "stuck" in namespace "{ns}" to terminate: '
            "global timeout reached: 1s"
        )
        assert error_line(stuck) == reason
        assert (
            f'There are pending pods in node "{node}" when an error occurred: {reason}\n'
            "pod/stuck\n" in stuck.stderr
        )
        assert client.get(PODS, "stuck", ns)["metadata"]["deletionTimestamp"]
    finally:
        for pod in client.list(PODS, ns)["items"]:
            client.delete(PODS, pod["metadata"]["name"], ns, grace_period_seconds=0)
        client.delete(NODES, node)


# ---- logs, through the apiserver's pods/log proxy to a pretend kubelet ----------------------


class LogServer(ThreadingHTTPServer):
    """Answers `/containerLogs/NS/POD/CONTAINER` like a kubelet's log server; with
    follow=true it holds the stream open until `release` is set."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _LogHandler)
        # HTTPS, as a kubelet's API (the apiserver does not verify it here)
        self.socket = server_context().wrap_socket(
            self.socket, server_side=True, do_handshake_on_connect=False
        )
        self.seen: list[tuple[str, dict[str, list[str]]]] = []
        self.release = threading.Event()


class _LogHandler(BaseHTTPRequestHandler):
    server: LogServer

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        self.server.seen.append((url.path, query))
        *_, pod, container = url.path.split("/")
        lines = [f"{pod}/{container} line {i}\n" for i in range(1, 6)]
        if "tailLines" in query:
            lines = lines[-int(query["tailLines"][0]) :]
        if query.get("timestamps") == ["true"]:
            lines = [f"2024-01-01T00:00:0{i}.000000000Z {line}" for i, line in enumerate(lines)]
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        for line in lines:
            self.wfile.write(line.encode())
            self.wfile.flush()
        if query.get("follow") == ["true"]:
            self.server.release.wait(20)
            self.wfile.write(f"{pod}/{container} after release\n".encode())

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def log_node(client: Client, namespace: str) -> Iterator[tuple[str, LogServer]]:
    server = LogServer()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    node = f"logs-{namespace}"
    make_node(client, node, kubelet_port=server.server_address[1])
    try:
        yield node, server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()
        client.delete(NODES, node)


def test_logs_of_a_pod(apiserver, namespace, client, log_node):
    node, server = log_node
    make_pod(client, namespace, "one", node)
    assert ok(apiserver, "logs", "one", "-n", namespace) == "".join(
        f"one/app line {i}\n" for i in range(1, 6)
    )
    assert ok(apiserver, "logs", "pod/one", "--tail=2", "--timestamps", "-n", namespace) == (
        "2024-01-01T00:00:00.000000000Z one/app line 4\n"
        "2024-01-01T00:00:01.000000000Z one/app line 5\n"
    )
    path, query = server.seen[-1]
    assert path == f"/containerLogs/{namespace}/one/app"
    assert query == {"tailLines": ["2"], "timestamps": ["true"]}
    ok(apiserver, "logs", "one", "--since=2m", "--previous", "--limit-bytes=10", "-n", namespace)
    assert server.seen[-1][1] == {
        "previous": ["true"],
        "sinceSeconds": ["120"],
        "limitBytes": ["10"],
    }

    make_pod(client, namespace, "two", node, containers=("a", "b"))
    picked = run(apiserver, "logs", "two", "--tail=1", "-n", namespace)
    assert (picked.stdout, picked.stderr) == (
        "two/a line 5\n",
        'Defaulted container "a" out of: a, b\n',
    )
    assert ok(apiserver, "logs", "two", "b", "--tail=1", "-n", namespace) == "two/b line 5\n"
    assert ok(apiserver, "logs", "two", "-c", "b", "--tail=1", "-n", namespace) == "two/b line 5\n"
    assert (
        ok(apiserver, "logs", "two", "--all-containers", "--prefix", "--tail=1", "-n", namespace)
        == "[pod/two/a] two/a line 5\n[pod/two/b] two/b line 5\n"
    )
    assert error_line(run(apiserver, "logs", "two", "-c", "zz", "-n", namespace)) == (
        "error: container zz is not valid for pod two"
    )
    assert error_line(run(apiserver, "logs", "ghost", "-n", namespace)) == (
        'Error from server (NotFound): pods "ghost" not found'
    )


def test_logs_of_a_deployment_and_following(apiserver, namespace, client, log_node):
    node, server = log_node
    make_deployment(client, namespace)
    make_pod(client, namespace, "web-b", node, labels={"app": "web"})
    make_pod(client, namespace, "web-a", None, labels={"app": "web"}, running=False)
    chosen = run(apiserver, "logs", "deploy/web", "--tail=1", "-n", namespace)
    # the pod on a node, running and ready, beats the pending one
    assert (chosen.returncode, chosen.stdout, chosen.stderr) == (
        0,
        "web-b/app line 5\n",
        "Found 2 pods, using pod/web-b\n",
    )
    with background(apiserver, "logs", "-f", "deploy/web", "--tail=1", "-n", namespace) as proc:
        assert readline(proc) == "web-b/app line 5\n"
        assert server.seen[-1][1] == {"follow": ["true"], "tailLines": ["1"]}
        server.release.set()
        assert readline(proc) == "web-b/app after release\n"
        assert proc.wait(30) == 0


# ---- services ---------------------------------------------------------------------------------


def test_service_url(apiserver, namespace, client):
    def service(name: str, kind: str, ports: list[dict]) -> dict:
        body = {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name},
            "spec": {"type": kind, "selector": {"app": "web"}, "ports": ports},
        }
        return client.create(SVC, body, namespace)

    cluster = service(
        "inside",
        "ClusterIP",
        [{"port": 80, "name": "http"}, {"port": 53, "name": "dns", "protocol": "UDP"}],
    )
    ip = cluster["spec"]["clusterIP"]
    assert ok(apiserver, "service", "inside", "--url", "-n", namespace) == (
        f"http://{ip}:80\nudp://{ip}:53\n"
    )
    node_port = service("outside", "NodePort", [{"port": 8080}])["spec"]["ports"][0]["nodePort"]
    nodes = client.list(NODES)["items"]
    host = next(
        (
            a["address"]
            for n in nodes
            for a in n["status"].get("addresses", [])
            if a["type"] == "InternalIP"
        ),
        "127.0.0.1",
    )
    assert ok(apiserver, "service", "outside", "--url", "-n", namespace) == (
        f"http://{host}:{node_port}\n"
    )
    service("balanced", "LoadBalancer", [{"port": 443}])
    client.patch(
        SVC,
        "balanced",
        {"status": {"loadBalancer": {"ingress": [{"ip": "192.0.2.10"}]}}},
        "merge",
        namespace,
        subresource="status",
    )
    assert ok(apiserver, "service", "balanced", "--url", "-n", namespace) == (
        "http://192.0.2.10:443\n"
    )
    table = ok(apiserver, "svc", "balanced", "-n", namespace)
    assert table.splitlines()[1].split() == [namespace, "balanced", "443", "http://192.0.2.10:443"]
    svc_table = ok(apiserver, "get", "svc", "-n", namespace).splitlines()
    assert svc_table[0].split() == ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"]
    row = next(line.split() for line in svc_table if line.startswith("balanced "))
    assert row[1:4] == ["LoadBalancer", row[2], "192.0.2.10"]
    assert re.fullmatch(r"443:\d+/TCP", row[4])
    assert error_line(run(apiserver, "service", "nope", "--url", "-n", namespace)) == (
        'Error from server (NotFound): services "nope" not found'
    )


def test_port_forward_to_a_pod(apiserver, namespace, client):
    echo = socket.socket()
    echo.bind(("127.0.0.1", 0))
    echo.listen(4)

    def serve() -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = echo.accept()
                with conn:
                    conn.sendall(b"echo:" + conn.recv(1024))

    threading.Thread(target=serve, daemon=True).start()
    port = echo.getsockname()[1]
    make_pod(
        client,
        namespace,
        "target",
        "some-node",
        pod_ip="127.0.0.1",
        ports=[{"containerPort": port, "name": "echo"}],
    )
    try:
        with background(apiserver, "port-forward", "pod/target", ":echo", "-n", namespace) as proc:
            line = readline(proc)
            match = re.fullmatch(rf"Forwarding from 127\.0\.0\.1:(\d+) -> {port}\n", line)
            assert match, line
            with socket.create_connection(("127.0.0.1", int(match.group(1))), timeout=5) as conn:
                conn.sendall(b"hello")
                assert conn.recv(1024) == b"echo:hello"
            proc.send_signal(signal.SIGINT)
            assert proc.wait(30) == 0
    finally:
        echo.close()


# ---- with the real controller manager and a real kubelet, when they are there -------------


def _module_exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:
        return False


def _docker_reachable() -> bool:
    try:
        import docker

        docker.from_env().ping()
    except Exception:
        return False
    return True


def make_pods_ready(client: Client, ns: str) -> int:
    """The kubelet's part: every live pod Running and Ready."""
    ready = 0
    for pod in client.list(PODS, ns)["items"]:
        if pod["metadata"].get("deletionTimestamp"):
            continue
        status = {
            "phase": "Running",
            "conditions": [
                {"type": "Ready", "status": "True", "lastTransitionTime": "2024-01-01T00:00:00Z"}
            ],
        }
        client.patch(
            PODS, pod["metadata"]["name"], {"status": status}, "merge", ns, subresource="status"
        )
        ready += 1
    return ready


@pytest.mark.skipif(not _module_exists("controller.__main__"), reason="no controller manager")
def test_rollouts_with_the_real_controller_manager(apiserver, namespace, client, tmp_path):
    controllers = "deployment,replicaset,garbagecollector"
    manager = ManagerProcess(apiserver, tmp_path, "--controllers", controllers).start()
    ns = namespace
    try:
        ok(apiserver, "create", "deployment", "web", "--image=nginx:1.25", "--replicas=2", "-n", ns)
        eventually(lambda: len(client.list(PODS, ns)["items"]) == 2, timeout=15, message="2 pods")
        with background(apiserver, "rollout", "status", "deploy/web", "-n", ns) as proc:
            assert readline(proc).startswith('Waiting for deployment "web" rollout to finish: ')
            make_pods_ready(client, ns)
            assert eventually(
                lambda: readline(proc) == 'deployment "web" successfully rolled out\n',
                timeout=15,
                message="the rollout",
            )
            assert proc.wait(30) == 0

        ok(apiserver, "set", "image", "deploy/web", "nginx=nginx:1.26", "-n", ns)
        eventually(
            lambda: len(client.list(RS, ns)["items"]) == 2,
            timeout=15,
            message="a second ReplicaSet",
        )
        history = (
            "deployment.apps/web \nREVISION  CHANGE-CAUSE\n1         <none>\n2         <none>\n\n"
        )
        eventually(
            lambda: ok(apiserver, "rollout", "history", "deploy/web", "-n", ns) == history,
            timeout=15,
            message="revision 2",
        )
        assert ok(apiserver, "rollout", "undo", "deploy/web", "-n", ns) == (
            "deployment.apps/web rolled back\n"
        )
        # the controller takes revision 1's ReplicaSet back as revision 3: no third one
        history = (
            "deployment.apps/web \nREVISION  CHANGE-CAUSE\n2         <none>\n3         <none>\n\n"
        )
        eventually(
            lambda: ok(apiserver, "rollout", "history", "deploy/web", "-n", ns) == history,
            timeout=15,
            message="revision 3",
        )
        assert len(client.list(RS, ns)["items"]) == 2
        image = client.get(DEPLOY, "web", ns)["spec"]["template"]["spec"]["containers"][0]["image"]
        assert image == "nginx:1.25"
        described = ok(apiserver, "describe", "deploy", "web", "-n", ns)
        assert re.search(r"^NewReplicaSet: +web-\w+ \(2/2 replicas created\)$", described, re.M)
        assert "ScalingReplicaSet" in described

        # orphaning: the ReplicaSets stay, no longer owned
        assert ok(apiserver, "delete", "deploy/web", "--cascade=orphan", "-n", ns) == (
            'deployment.apps "web" deleted\n'
        )
        left = client.list(RS, ns)["items"]
        assert len(left) == 2
        assert all(not rs["metadata"].get("ownerReferences") for rs in left)
    finally:
        manager.stop()


@pytest.mark.skipif(
    not (_module_exists("kubelet.__main__") and _docker_reachable()),
    reason="no kubelet or no Docker",
)
def test_logs_and_port_forward_with_a_real_kubelet(apiserver, namespace, client, tmp_path):
    import docker

    from tests.e2e.conftest import NETWORK_LABEL, KubeletProcess, remove_node_containers
    from tests.support.images import ensure_busybox_image

    image = ensure_busybox_image()
    tag = secrets.token_hex(3)
    node, network = f"ctl-{tag}", f"minik-ctl-{tag}"
    kubelet = KubeletProcess(
        apiserver, node, tmp_path / "root", processes.free_port(), network, tmp_path
    )
    script = (
        # `;` not `&&` before the loop: `a && b & c` would background a and b too,
        # racing httpd against the mkdir.
        "mkdir -p /www && echo hello > /www/index.html && echo started; "
        "(i=0; while :; do i=$((i+1)); echo tick-$i; sleep 0.2; done) & "
        "exec httpd -f -p 8080 -h /www"
    )
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "real"},
        "spec": {
            "nodeName": node,
            "terminationGracePeriodSeconds": 1,
            "containers": [
                {
                    "name": "web",
                    "image": image,
                    "command": ["sh", "-c", script],
                    "ports": [{"containerPort": 8080, "name": "http"}],
                }
            ],
        },
    }
    try:
        kubelet.start()
        client.create(PODS, pod, namespace)
        eventually(
            lambda: client.get(PODS, "real", namespace)["status"].get("phase") == "Running",
            timeout=30,
            message="a running pod",
        )
        seen: list[str] = []

        def logged() -> bool:
            result = run(apiserver, "logs", "real", "-n", namespace)
            seen.append(result.stdout[:100] + result.stderr)
            return result.stdout.startswith("started\ntick-1\n")

        try:
            eventually(logged, timeout=15, message="its log")
        except AssertionError as err:
            raise AssertionError(f"{err}; last seen: {seen[-1:]}") from None
        with background(apiserver, "logs", "-f", "real", "--tail=1", "-n", namespace) as proc:
            first = int(readline(proc).removeprefix("tick-"))
            assert readline(proc) == f"tick-{first + 1}\n"  # it follows
        with background(apiserver, "port-forward", "pod/real", ":http", "-n", namespace) as proc:
            match = re.fullmatch(r"Forwarding from 127\.0\.0\.1:(\d+) -> 8080\n", readline(proc))
            assert match
            local = int(match.group(1))
            with socket.create_connection(("127.0.0.1", local), timeout=5) as conn:
                conn.sendall(b"GET / HTTP/1.0\r\n\r\n")
                answer = b""
                while chunk := conn.recv(4096):
                    answer += chunk
            assert answer.startswith(b"HTTP/1.") and answer.endswith(b"hello\n")
    finally:
        with contextlib.suppress(NotFound):
            client.delete(PODS, "real", namespace, grace_period_seconds=0)
        kubelet.stop()
        remove_node_containers(node)
        with contextlib.suppress(Exception):
            api = docker.from_env().api
            for net in api.networks(filters={"label": [f"{NETWORK_LABEL}={network}"]}):
                api.remove_network(net["Id"])
        with contextlib.suppress(NotFound):
            client.delete(NODES, node)


# ---- same output as kubectl -----------------------------------------------------------------

AGE = re.compile(r"\b\d+[smhdy](\d+[smh])?\b")


def _normalised(text: str) -> str:
    """Ages tick between the two runs; everything else must match exactly."""
    return AGE.sub("<age>", text)


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")
def test_output_matches_kubectl(apiserver, namespace, client, log_node, tmp_path):
    node, _ = log_node
    ns = namespace
    two_revisions(client, ns)
    set_status(client, ns, replicas=3, updatedReplicas=3, availableReplicas=1)
    rs = next(
        r for r in client.list(RS, ns)["items"] if r["metadata"]["annotations"][REVISION] == "2"
    )
    client.patch(
        RS, rs["metadata"]["name"], {"status": {"replicas": 3}}, "merge", ns, subresource="status"
    )
    make_pod(client, ns, "solo", node, containers=("a", "b"))
    make_pod(client, ns, "waiting", node, running=False)
    resources = {"requests": {"cpu": "250m", "memory": "128Mi"}, "limits": {"cpu": "1"}}
    hungry = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "hungry"},
        "spec": {
            "nodeName": node,
            "containers": [{"name": "c", "image": "busybox", "resources": resources}],
        },
    }
    client.create(PODS, hungry, ns)  # for describe node's Allocated resources
    client.patch(
        PODS,
        "solo",
        {"spec": {"containers": [{"name": "a", "resources": {}}]}},
        "strategic",
        ns,
    ) if False else None
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {"type": "NodePort", "selector": {"app": "web"}, "ports": [{"port": 80}]},
    }
    client.create(SVC, svc, ns)
    client.create(
        lookup("endpoints"),
        {
            "apiVersion": "v1",
            "kind": "Endpoints",
            "metadata": {"name": "web"},
            "subsets": [
                {
                    "addresses": [{"ip": f"10.244.0.{i}"} for i in range(1, 5)],
                    "ports": [{"port": 80, "protocol": "TCP"}],
                }
            ],
        },
        ns,
    )
    for i, (reason, when) in enumerate(
        (("Late", "2024-01-02T00:00:00Z"), ("Early", "2024-01-01T00:00:00Z"))
    ):
        client.create(
            EVENTS,
            {
                "apiVersion": "v1",
                "kind": "Event",
                "metadata": {"name": f"web.{i}"},
                "involvedObject": {
                    "kind": "Deployment",
                    "name": "web",
                    "namespace": ns,
                    "apiVersion": "apps/v1",
                },
                "reason": reason,
                "message": f"{reason} event",
                "type": "Normal",
                "count": 1,
                "source": {"component": "deployment-controller"},
                "firstTimestamp": when,
                "lastTimestamp": when,
            },
            ns,
        )
    ok(apiserver, "cordon", node)
    kubectl = Kubectl(apiserver.kubeconfig, tmp_path / "cache")
    commands = [
        ["get", "rs"],
        ["get", "rs", "-o", "wide"],
        ["get", "svc"],
        ["get", "svc", "-o", "wide"],
        ["get", "ep"],
        ["get", "nodes", node],
        ["get", "nodes", node, "-o", "wide"],
        ["get", "events"],
        ["get", "events", "--field-selector", "reason=Early"],
        ["get", "events", "--field-selector", "involvedObject.name=web"],
        ["get", "events", "--sort-by=.lastTimestamp"],
        ["get", "events", "--sort-by", "{.metadata.name}", "-o", "name"],
        ["events"],
        ["events", "--for", "deployment/web"],
        ["events", "--types", "Warning"],
        ["describe", "node", node],
        ["describe", "deployment", "web"],
        ["rollout", "history", "deploy/web"],
        ["rollout", "history", "deploy/web", "--revision=1"],
        ["rollout", "history", "deploy/web", "--revision=9"],
        ["rollout", "status", "deploy/web", "--watch=false"],
        ["rollout", "status", f"rs/{rs['metadata']['name']}"],
        ["rollout", "undo", "deploy/web", "--to-revision=9"],
        ["rollout", "resume", "deploy/web"],
        ["scale", "deploy/web", "--replicas=3"],
        ["set", "image", "deploy/web", "web=nginx:1.26"],
        ["cordon", node],
        ["uncordon", "no-such-node"],
        # (kubectl 1.32 says "cannot delete cannot delete Pods ..."; newer ones, and minikctl,
        # say it once — so the refused drain is checked in its own test instead)
        ["logs", "solo", "--tail=1"],
        ["logs", "solo", "-c", "nope"],
        ["logs", "waiting"],
    ]
    for args in commands:
        mine = run(apiserver, "-n", ns, *args)
        theirs = kubectl.run("-n", ns, *args, check=False)
        got = (mine.returncode, _normalised(mine.stdout), _normalised(mine.stderr))
        want = (theirs.returncode, _normalised(theirs.stdout), _normalised(theirs.stderr))
        assert got == want, "\n".join([str(args), *_diff(got, want)])


def _diff(got: tuple[int, str, str], want: tuple[int, str, str]) -> list[str]:
    """What differs, line by line, for a readable failure."""
    out = [f"exit {got[0]} vs {want[0]}"] if got[0] != want[0] else []
    for label, mine, theirs in (("stdout", got[1], want[1]), ("stderr", got[2], want[2])):
        out += [
            f"{label}: {line!r}"
            for line in difflib.unified_diff(
                theirs.splitlines(), mine.splitlines(), "kubectl", "minikctl", lineterm=""
            )
        ]
    return out
