"""minikctl as a user runs it: a real subprocess against the real apiserver, checking
its output, exit codes and error lines — and, where kubectl is installed, that it
prints exactly what kubectl prints."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from api.errors import NotFound
from api.resources import lookup
from client.kubeconfig import load
from client.rest import Client
from client.threeway import LAST_APPLIED

MINIKCTL = Path(sys.executable).parent / "minikctl"
KUBECTL = shutil.which("kubectl")
PODS, EVENTS, DEPLOY, LEASES = (lookup(n) for n in ("pods", "events", "deployments", "leases"))

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web, tier: front}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: web
        image: nginx:1.25
        ports:
        - containerPort: 80
        env:
        - {name: A, value: "1"}
        - {name: B, value: "2"}
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: {app: web}
  ports:
  - port: 80
"""


def lease_yaml(name: str, holder: str = "me", **labels: str) -> str:
    return yaml.safe_dump(
        {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": name, "labels": labels},
            "spec": {"holderIdentity": holder},
        }
    )


def minikctl(
    apiserver: Any, *args: str, stdin: str | None = None, kubeconfig: bool = True
) -> subprocess.CompletedProcess[str]:
    command = [str(MINIKCTL)] if MINIKCTL.exists() else [sys.executable, "-m", "minikctl.main"]
    if kubeconfig:
        command += ["--kubeconfig", str(apiserver.kubeconfig)]
    return subprocess.run(
        [*command, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "KUBECONFIG": "", "HOME": str(Path(apiserver.workdir) / "home")},
    )


def ok(apiserver: Any, *args: str, stdin: str | None = None) -> str:
    result = minikctl(apiserver, *args, stdin=stdin)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    return result.stdout


def failed(result: subprocess.CompletedProcess[str]) -> str:
    """The one error line of a failed command."""
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.fixture
def client(apiserver: Any) -> Any:
    with Client(load(str(apiserver.kubeconfig))) as c:
        yield c


def test_version(apiserver):
    out = ok(apiserver, "version")
    assert re.match(r"Client Version: v\d+\.\d+\.\d+\nServer Version: v1\.\d+\.\d+", out)


def test_apply_creates_then_unchanged_then_configured(apiserver, namespace, client, tmp_path):
    manifest = tmp_path / "web.yaml"
    manifest.write_text(DEPLOYMENT)
    assert ok(apiserver, "apply", "-f", str(manifest), "-n", namespace) == (
        "deployment.apps/web created\nservice/web created\n"
    )
    assert ok(apiserver, "-n", namespace, "apply", "-f", str(manifest)) == (
        "deployment.apps/web unchanged\nservice/web unchanged\n"
    )
    live = client.get(DEPLOY, "web", namespace)
    assert json.loads(live["metadata"]["annotations"][LAST_APPLIED])["spec"]["replicas"] == 2

    changed = (
        DEPLOYMENT.replace("replicas: 2", "replicas: 3")
        .replace("labels: {app: web, tier: front}", "labels: {app: web}")
        .replace('        - {name: B, value: "2"}\n', "")
    )
    manifest.write_text(changed)
    assert ok(apiserver, "apply", "-f", str(manifest), "-n", namespace) == (
        "deployment.apps/web configured\nservice/web unchanged\n"
    )
    live = client.get(DEPLOY, "web", namespace)
    assert live["spec"]["replicas"] == 3
    assert live["metadata"]["labels"] == {"app": "web"}  # dropped from the file: deleted
    container = live["spec"]["template"]["spec"]["containers"][0]
    assert container["env"] == [{"name": "A", "value": "1"}]
    assert container["imagePullPolicy"]  # server defaults survive the patch


def test_apply_directories_stdin_and_lists(apiserver, namespace, client, tmp_path):
    (tmp_path / "a.yaml").write_text(lease_yaml("a"))
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.json").write_text(json.dumps(yaml.safe_load(lease_yaml("b"))))
    assert ok(apiserver, "apply", "-f", str(tmp_path), "-n", namespace) == (
        "lease.coordination.k8s.io/a created\n"
    )
    assert ok(apiserver, "apply", "-R", "-f", str(tmp_path), "-n", namespace) == (
        "lease.coordination.k8s.io/a unchanged\nlease.coordination.k8s.io/b created\n"
    )
    items = [yaml.safe_load(lease_yaml(n)) for n in ("c", "d")]
    as_list = yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items})
    assert ok(apiserver, "apply", "-f", "-", "-n", namespace, stdin=as_list) == (
        "lease.coordination.k8s.io/c created\nlease.coordination.k8s.io/d created\n"
    )
    names = [o["metadata"]["name"] for o in client.list(LEASES, namespace)["items"]]
    assert names == ["a", "b", "c", "d"]


def test_apply_server_side(apiserver, namespace, client, tmp_path):
    (tmp_path / "l.yaml").write_text(lease_yaml("ssa"))
    assert (
        ok(apiserver, "apply", "--server-side", "-f", str(tmp_path / "l.yaml"), "-n", namespace)
        == "lease.coordination.k8s.io/ssa serverside-applied\n"
    )
    assert client.get(LEASES, "ssa", namespace)["spec"]["holderIdentity"] == "me"


def test_apply_refuses_a_conflicting_namespace(apiserver, namespace, tmp_path):
    doc = yaml.safe_load(lease_yaml("x"))
    doc["metadata"]["namespace"] = "elsewhere"
    (tmp_path / "x.yaml").write_text(yaml.safe_dump(doc))
    line = failed(minikctl(apiserver, "apply", "-f", str(tmp_path / "x.yaml"), "-n", namespace))
    assert line.startswith('error: the namespace from the provided object "elsewhere" does not')


def test_get_formats(apiserver, namespace, client, tmp_path):
    for name, tier in (("alpha", "db"), ("beta", "web")):
        client.create(LEASES, yaml.safe_load(lease_yaml(name, tier=tier)), namespace)
    table = ok(apiserver, "get", "leases", "-n", namespace)
    lines = table.splitlines()
    assert re.fullmatch(r"NAME    HOLDER   AGE", lines[0])
    assert [line.split()[0] for line in lines[1:]] == ["alpha", "beta"]
    assert ok(apiserver, "get", "lease", "-n", namespace, "-o", "name") == (
        "lease.coordination.k8s.io/alpha\nlease.coordination.k8s.io/beta\n"
    )
    assert ok(apiserver, "get", "lease", "-n", namespace, "-l", "tier=web", "-o", "name") == (
        "lease.coordination.k8s.io/beta\n"
    )
    one = yaml.safe_load(ok(apiserver, "get", "lease", "alpha", "-n", namespace, "-o", "yaml"))
    assert (one["kind"], one["metadata"]["name"]) == ("Lease", "alpha")
    many = json.loads(ok(apiserver, "get", "leases", "-n", namespace, "-o", "json"))
    assert many["kind"] == "List" and len(many["items"]) == 2
    assert many["items"][0]["apiVersion"] == "coordination.k8s.io/v1"
    wide = ok(apiserver, "get", "leases", "-A", "--show-labels")
    header = wide.splitlines()[0].split()
    assert header[0] == "NAMESPACE" and header[-1] == "LABELS"
    assert any(
        line.startswith(namespace) and line.endswith("tier=db") for line in wide.splitlines()
    )
    by_kind_name = ok(apiserver, "get", "lease/alpha", "-n", namespace)
    assert by_kind_name.splitlines()[1].startswith("alpha ")


def test_get_errors_and_empty(apiserver, namespace):
    assert failed(minikctl(apiserver, "get", "widgets")) == (
        'error: the server doesn\'t have a resource type "widgets"'
    )
    assert failed(minikctl(apiserver, "get", "pod", "nope", "-n", namespace)) == (
        'Error from server (NotFound): pods "nope" not found'
    )
    empty = minikctl(apiserver, "get", "pods", "-n", namespace)
    assert (empty.returncode, empty.stdout) == (0, "")
    assert empty.stderr == f"No resources found in {namespace} namespace.\n"


def test_get_watch_prints_changes_until_interrupted(apiserver, namespace, client):
    client.create(LEASES, yaml.safe_load(lease_yaml("first")), namespace)
    command = [
        str(MINIKCTL),
        "--kubeconfig",
        str(apiserver.kubeconfig),
        "get",
        "leases",
        "-w",
        "-n",
        namespace,
    ]
    # started with SIGINT ignored, as a background job of a script starts it: Ctrl-C
    # must end the watch all the same (CI met minikctl ignoring it)
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().split() == ["NAME", "HOLDER", "AGE"]
        assert proc.stdout.readline().split()[:2] == ["first", "me"]
        client.create(LEASES, yaml.safe_load(lease_yaml("second", holder="you")), namespace)
        assert proc.stdout.readline().split()[:2] == ["second", "you"]
        client.patch(LEASES, "second", {"spec": {"holderIdentity": "them"}}, "merge", namespace)
        assert proc.stdout.readline().split()[:2] == ["second", "them"]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0
        assert "Traceback" not in (proc.stderr.read() if proc.stderr else "")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_describe_pod_with_its_events(apiserver, namespace, client):
    pod = client.create(
        PODS,
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "solo", "labels": {"app": "solo"}},
            "spec": {
                "containers": [{"name": "main", "image": "busybox", "command": ["sleep", "60"]}]
            },
        },
        namespace,
    )
    client.create(
        EVENTS,
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": "solo.1", "namespace": namespace},
            "involvedObject": {
                "kind": "Pod",
                "name": "solo",
                "namespace": namespace,
                "uid": pod["metadata"]["uid"],
                "apiVersion": "v1",
            },
            "reason": "Scheduled",
            "message": f"Successfully assigned {namespace}/solo to n1",
            "type": "Normal",
            "count": 1,
            "source": {"component": "default-scheduler"},
            "firstTimestamp": pod["metadata"]["creationTimestamp"],
            "lastTimestamp": pod["metadata"]["creationTimestamp"],
        },
        namespace,
    )
    out = ok(apiserver, "describe", "pod", "solo", "-n", namespace)
    assert out.startswith(f"Name:         solo\nNamespace:    {namespace}\n")
    assert "Containers:\n  main:\n    Image:      busybox\n" in out
    assert re.search(r"Events:\n  Type    Reason     Age +From +Message\n", out)
    assert re.search(r"  Normal  Scheduled  \S+ +default-scheduler  Successfully assigned", out)
    # a name prefix describes every match, as kubectl does (the event's age may tick)
    again = ok(apiserver, "describe", "pods", "so", "-n", namespace)

    def aged(text: str) -> str:
        return re.sub(r"(  Normal  Scheduled  )\S+", r"\1AGE", text)

    assert aged(again) == aged(out)


def test_describe_other_kinds(apiserver, namespace, client, tmp_path):
    (tmp_path / "web.yaml").write_text(DEPLOYMENT)
    ok(apiserver, "apply", "-f", str(tmp_path / "web.yaml"), "-n", namespace)
    deploy = ok(apiserver, "describe", "deploy/web", "-n", namespace)
    assert "Replicas:               2 desired |" in deploy
    assert "Pod Template:\n  Labels:  app=web\n  Containers:\n   web:\n" in deploy
    service = ok(apiserver, "describe", "svc", "web", "-n", namespace)
    assert "Selector:                 app=web\n" in service
    assert ok(apiserver, "describe", "ns", namespace).startswith(f"Name:         {namespace}\n")
    client.create(LEASES, yaml.safe_load(lease_yaml("gen")), namespace)
    generic = ok(apiserver, "describe", "lease", "gen", "-n", namespace)
    assert "Kind:         Lease\n" in generic
    assert re.search(r"Spec:\n  Holder Identity:  me\n", generic)


def test_delete_variants(apiserver, namespace, client, tmp_path):
    for name, group in (("a", "x"), ("b", "x"), ("c", "y"), ("d", "y"), ("e", "z")):
        client.create(LEASES, yaml.safe_load(lease_yaml(name, group=group)), namespace)
    kind = "lease.coordination.k8s.io"
    assert ok(apiserver, "delete", "lease", "a", "-n", namespace) == f'{kind} "a" deleted\n'
    # foreground: the object stays, finalized, until the garbage collector is done with it
    assert (
        ok(apiserver, "delete", "lease/b", "-n", namespace, "--cascade=foreground", "--wait=false")
        == f'{kind} "b" deleted\n'
    )
    held = client.get(LEASES, "b", namespace)["metadata"]
    assert held["deletionTimestamp"] and "foregroundDeletion" in held["finalizers"]
    client.patch(LEASES, "b", {"metadata": {"finalizers": None}}, "merge", namespace)
    assert ok(apiserver, "delete", "leases", "-l", "group=y", "-n", namespace) == (
        f'{kind} "c" deleted\n{kind} "d" deleted\n'
    )
    (tmp_path / "e.yaml").write_text(lease_yaml("e"))
    assert ok(apiserver, "delete", "-f", str(tmp_path / "e.yaml"), "-n", namespace) == (
        f'{kind} "e" deleted\n'
    )
    assert client.list(LEASES, namespace)["items"] == []  # --wait: gone when it returns
    assert failed(minikctl(apiserver, "delete", "lease", "a", "-n", namespace)) == (
        'Error from server (NotFound): leases.coordination.k8s.io "a" not found'
    )
    assert ok(apiserver, "delete", "lease", "a", "-n", namespace, "--ignore-not-found") == ""
    client.create(LEASES, yaml.safe_load(lease_yaml("f")), namespace)
    assert ok(apiserver, "delete", "leases", "--all", "-n", namespace, "--wait=false") == (
        f'{kind} "f" deleted\n'
    )
    assert failed(minikctl(apiserver, "delete", "leases", "-n", namespace)) == (
        "error: resource(s) were provided, but no name was specified"
    )


def test_create_namespace_and_deployment(apiserver, client):
    name = f"created-{os.getpid()}"
    try:
        assert ok(apiserver, "create", "namespace", name) == f"namespace/{name} created\n"
        assert (
            ok(apiserver, "create", "deployment", "hello", "--image", "nginx:1.25", "-n", name)
            == "deployment.apps/hello created\n"
        )
        dep = client.get(DEPLOY, "hello", name)
        assert dep["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.25"
        assert failed(minikctl(apiserver, "create", "namespace", name)) == (
            f'Error from server (AlreadyExists): namespaces "{name}" already exists'
        )
    finally:
        minikctl(apiserver, "delete", "namespace", name, "--wait=false")


def test_api_resources(apiserver):
    out = ok(apiserver, "api-resources")
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    assert any(
        line.split() == ["deployments", "deploy", "apps/v1", "true", "Deployment"] for line in lines
    )
    assert any(line.split() == ["nodes", "no", "v1", "false", "Node"] for line in lines)


def test_error_lines(apiserver, namespace, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("apiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n   oops: 1\n")
    assert re.fullmatch(
        rf"error: error parsing {re.escape(str(bad))}: yaml: line 5: .+",
        failed(minikctl(apiserver, "apply", "-f", str(bad))),
    )

    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}\n")
    assert failed(minikctl(apiserver, "apply", "-f", str(unknown))) == (
        f'error: resource mapping not found from "{unknown}": no matches for kind "Widget" '
        'in version "example.com/v1"'
    )

    refused = minikctl(
        apiserver,
        "--server",
        "https://127.0.0.1:1",
        "--token",
        "t",
        "get",
        "pods",
        kubeconfig=False,
    )
    assert failed(refused) == (
        "error: the connection to the server 127.0.0.1:1 was refused"
        " - did you specify the right host or port?"
    )

    assert failed(minikctl(apiserver, "--token", "wrong", "get", "pods")) == (
        "error: You must be logged in to the server (Unauthorized)"
    )

    invalid = tmp_path / "invalid.yaml"
    invalid.write_text(DEPLOYMENT.split("---")[0].replace("replicas: 2", "replicas: -1"))
    line = failed(minikctl(apiserver, "apply", "-f", str(invalid), "-n", namespace))
    assert line.startswith('The Deployment "web" is invalid: spec.replicas: Invalid value: -1')

    missing = minikctl(
        apiserver, "get", "pods", "--kubeconfig", str(tmp_path / "nope"), kubeconfig=False
    )
    assert failed(missing) == f"error: kubeconfig {tmp_path / 'nope'} not found"


# ---- same output as kubectl -----------------------------------------------------------------

AGE = re.compile(r"\b\d+[smhdy](\d+[smh])?\b")
COLUMN_GAP = re.compile(r"  +")
AGE_COLUMN = re.compile(r"<age>|\bAGE\b|\bAge\b|^ *-+( +-+)+ *$")


def _normalised(text: str) -> str:
    """Ages tick between the two runs, and the width of a column of ages with them
    (9s, then 10s: the column, its header and describe's dashed rule under it widen
    by one), so ages and the padding between columns on lines with an age, its header
    or a rule of dashes are not compared; everything else must match exactly."""
    lines = AGE.sub("<age>", text).split("\n")
    return "\n".join(
        COLUMN_GAP.sub("  ", line) if AGE_COLUMN.search(line) else line for line in lines
    )


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")
def test_output_matches_kubectl(apiserver, namespace, client, tmp_path):
    (tmp_path / "web.yaml").write_text(DEPLOYMENT)
    ok(apiserver, "apply", "-f", str(tmp_path / "web.yaml"), "-n", namespace)
    pod = client.create(
        PODS,
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "p1", "labels": {"app": "web"}},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]},
        },
        namespace,
    )
    client.create(
        EVENTS,
        {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": "p1.1"},
            "involvedObject": {
                "kind": "Pod",
                "name": "p1",
                "namespace": namespace,
                "uid": pod["metadata"]["uid"],
            },
            "reason": "Pulled",
            "message": "pulled",
            "type": "Normal",
            "count": 2,
            "source": {"component": "kubelet"},
            "firstTimestamp": "2024-01-01T00:00:00Z",
            "lastTimestamp": pod["metadata"]["creationTimestamp"],
        },
        namespace,
    )
    cache = tmp_path / "kube-cache"
    commands = [
        ["get", "pods"],
        ["get", "pods", "-o", "wide"],
        ["get", "deploy,svc"],
        ["get", "all"],
        ["get", "pods", "--show-labels"],
        ["get", "pod", "p1", "-o", "yaml"],
        ["get", "svc", "-o", "json"],
        ["get", "deploy", "-o", "name"],
        ["get", "events"],
        ["get", "pod/p1", "deploy/web"],
        ["get", "nosuch"],
        ["get", "pod", "missing"],
        ["describe", "pod", "p1"],
        ["describe", "deployment", "web"],
        ["api-resources"],
    ]
    for args in commands:
        mine = minikctl(apiserver, "-n", namespace, *args)
        theirs = subprocess.run(
            [
                KUBECTL,
                "--kubeconfig",
                str(apiserver.kubeconfig),
                "--cache-dir",
                str(cache),
                "-n",
                namespace,
                *args,
            ],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert (mine.returncode, _normalised(mine.stdout), _normalised(mine.stderr)) == (
            theirs.returncode,
            _normalised(theirs.stdout),
            _normalised(theirs.stderr),
        ), args


@pytest.mark.skipif(KUBECTL is None, reason="kubectl is not installed")
def test_apply_interoperates_with_kubectl(apiserver, namespace, client, tmp_path):
    """Both write the same last-applied annotation, so each sees the other's apply."""
    manifest = tmp_path / "web.yaml"
    manifest.write_text(DEPLOYMENT)
    kubectl = [
        KUBECTL,
        "--kubeconfig",
        str(apiserver.kubeconfig),
        "--cache-dir",
        str(tmp_path / "cache"),
        "-n",
        namespace,
        "apply",
        "-f",
        str(manifest),
    ]
    assert subprocess.run(kubectl, capture_output=True, text=True, check=True).stdout == (
        "deployment.apps/web created\nservice/web created\n"
    )
    assert ok(apiserver, "apply", "-f", str(manifest), "-n", namespace) == (
        "deployment.apps/web unchanged\nservice/web unchanged\n"
    )
    manifest.write_text(DEPLOYMENT.replace("replicas: 2", "replicas: 4"))
    assert ok(apiserver, "apply", "-f", str(manifest), "-n", namespace).startswith(
        "deployment.apps/web configured\n"
    )
    assert subprocess.run(kubectl, capture_output=True, text=True, check=True).stdout == (
        "deployment.apps/web unchanged\nservice/web unchanged\n"
    )
    assert client.get(DEPLOY, "web", namespace)["spec"]["replicas"] == 4


def test_wait_is_bounded_by_timeout(apiserver, namespace, client):
    """A pod on a node waits for its kubelet to finish it: --timeout bounds the wait."""
    client.create(
        PODS,
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "bound"},
            "spec": {"nodeName": "n1", "containers": [{"name": "c", "image": "busybox"}]},
        },
        namespace,
    )
    started = time.monotonic()
    result = minikctl(apiserver, "delete", "pod", "bound", "-n", namespace, "--timeout", "1")
    try:
        client.get(PODS, "bound", namespace)
    except NotFound:
        assert result.returncode == 0  # this server deletes it at once: nothing to wait for
        return
    assert result.stdout == 'pod "bound" deleted\n'
    assert failed(result).startswith("error: timed out waiting for the condition")
    assert time.monotonic() - started < 10


def test_server_and_token_flags_without_a_kubeconfig(apiserver):
    flags = ["--server", apiserver.url, "--token", apiserver.token]
    trusted = minikctl(
        apiserver,
        *flags,
        "--certificate-authority",
        str(apiserver.ca_file),
        "get",
        "ns",
        "default",
        "-o",
        "name",
        kubeconfig=False,
    )
    assert (trusted.returncode, trusted.stdout) == (0, "namespace/default\n"), trusted.stderr
    insecure = minikctl(
        apiserver,
        *flags,
        "--insecure-skip-tls-verify",
        "get",
        "ns",
        "default",
        "-o",
        "name",
        kubeconfig=False,
    )
    assert insecure.stdout == "namespace/default\n", insecure.stderr
    untrusted = minikctl(apiserver, *flags, "get", "ns", kubeconfig=False)
    assert "certificate" in failed(untrusted).lower()
