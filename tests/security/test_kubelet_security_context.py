"""Issue 11, "Pods cannot own the host" (the kubelet's side): the pod's and container's
securityContext is acted on by a real kubelet in real Docker containers, and the API's
warning "securityContext: stored but not acted on by minik" is no longer false.

Each test names its finding and fails on the kubelet before the fix."""

from __future__ import annotations

import json
import secrets

import httpx

from tests.e2e.conftest import KubeletProcess, create_pod, events_for, pod_manifest, wait_pod
from tests.security import kubelet_fixtures as fx
from tests.security.kubelet_fixtures import proc_status, run_to_logs, waiting
from tests.support.images import build_image

api, busybox, kubelet_factory, node, pod_network = (
    fx.api,
    fx.busybox,
    fx.kubelet_factory,
    fx.node,
    fx.pod_network,
)

STATUS = "grep -E '^(CapEff|NoNewPrivs|Seccomp):' /proc/self/status"


def test_finding_run_as_user_groups_and_fs_group_are_honoured(
    node: KubeletProcess, api: httpx.Client, namespace: str, busybox: str
) -> None:
    """runAsUser/runAsGroup (the container's over the pod's), supplementalGroups and
    fsGroup as the process' groups; fsGroup owns the emptyDir (setgid) and makes a 0400
    secret readable by the non-root user."""
    r = api.post(
        f"/api/v1/namespaces/{namespace}/secrets",
        json={"metadata": {"name": "creds"}, "stringData": {"pw": "hunter2"}},
    )
    assert r.status_code == 201, r.text
    script = (
        "id -u; id -g; id -G; stat -c '%g %a' /data; touch /data/f; stat -c %g /data/f; "
        "cat /creds/pw; echo; stat -L -c '%g %a' /creds/pw"
    )
    container = {
        "name": "app",
        "image": busybox,
        "command": ["sh", "-c", script],
        "securityContext": {"runAsUser": 1001},
        "volumeMounts": [
            {"name": "data", "mountPath": "/data"},
            {"name": "creds", "mountPath": "/creds"},
        ],
    }
    logs = run_to_logs(
        api,
        namespace,
        node.node,
        "ids",
        [container],
        securityContext={
            "runAsUser": 1000,
            "runAsGroup": 3000,
            "supplementalGroups": [4000],
            "fsGroup": 2000,
        },
        volumes=[
            {"name": "data", "emptyDir": {}},
            {"name": "creds", "secret": {"secretName": "creds", "defaultMode": 0o400}},
        ],
    )
    lines = logs["app"].splitlines()
    assert lines[:2] == ["1001", "3000"], logs
    assert set(lines[2].split()) == {"3000", "4000", "2000"}, logs
    assert lines[3:] == ["2000 2777", "2000", "hunter2", "2000 440"], logs


def test_finding_run_as_non_root_starts_a_root_image(
    node: KubeletProcess, api: httpx.Client, namespace: str, busybox: str
) -> None:
    """runAsNonRoot with an image that runs as root (busybox has no USER): the container
    waits in CreateContainerConfigError with Kubernetes' message and is never created;
    an image whose USER is a name cannot be verified and waits too."""
    named = build_image("minik-test/named-user:1", "USER app")
    containers = [
        {"name": "root", "image": busybox, "command": ["sleep", "3600"]},
        {"name": "named", "image": named, "command": ["sleep", "3600"]},
    ]
    spec = {"securityContext": {"runAsNonRoot": True}}
    created = create_pod(api, namespace, pod_manifest("nonroot", node.node, containers, **spec))
    uid = created["metadata"]["uid"]

    def refused(pod: dict) -> bool:
        return all(waiting(pod, c["name"]).get("message") for c in containers)

    pod = wait_pod(api, namespace, "nonroot", refused, timeout=60, what="both refused")
    where = f'pod: "nonroot_{namespace}({uid})"'
    assert waiting(pod, "root") == {
        "reason": "CreateContainerConfigError",
        "message": f"container has runAsNonRoot and image will run as root ({where}, "
        "container: root)",
    }
    assert waiting(pod, "named") == {
        "reason": "CreateContainerConfigError",
        "message": "container has runAsNonRoot and image has non-numeric user (app), "
        f"cannot verify user is non-root ({where}, container: named)",
    }
    assert not fx.node_app_containers(node.node, uid)
    failed = [
        e["message"] for e in events_for(api, namespace, "nonroot") if e["reason"] == "Failed"
    ]
    assert any("image will run as root" in m for m in failed), failed


def test_finding_privilege_escalation_capabilities_and_seccomp_are_acted_on(
    node: KubeletProcess, api: httpx.Client, namespace: str, busybox: str
) -> None:
    """allowPrivilegeEscalation=false is no_new_privs; dropped capabilities are gone;
    a read-only root filesystem cannot be written; seccomp RuntimeDefault confines the
    process (Seccomp: 2), Unconfined (the container's, over the pod's RuntimeDefault)
    does not, and a Localhost profile from the kubelet's seccomp directory applies."""
    profiles = node.root_dir / "seccomp" / "profiles"
    profiles.mkdir(parents=True, exist_ok=True)
    deny_mkdir = {
        "defaultAction": "SCMP_ACT_ALLOW",
        "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO"}],
    }
    (profiles / "no-mkdir.json").write_text(json.dumps(deny_mkdir))
    locked = {
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
    }
    local = {"type": "Localhost", "localhostProfile": "profiles/no-mkdir.json"}
    write_root = "touch /probe 2>/dev/null && echo wrote || echo read-only"
    containers = [
        {
            "name": "locked",
            "image": busybox,
            "command": ["sh", "-c", f"{STATUS}; {write_root}"],
            "securityContext": locked,
        },
        {
            "name": "unconfined",
            "image": busybox,
            "command": ["sh", "-c", STATUS],
            "securityContext": {"seccompProfile": {"type": "Unconfined"}},
        },
        {
            "name": "localhost",
            "image": busybox,
            "command": ["sh", "-c", "mkdir /tmp/x 2>/dev/null && echo made || echo denied"],
            "securityContext": {"seccompProfile": local},
        },
    ]
    logs = run_to_logs(
        api,
        namespace,
        node.node,
        "confined",
        containers,
        securityContext={"seccompProfile": {"type": "RuntimeDefault"}},
    )
    locked_status = proc_status(logs["locked"])
    assert locked_status["CapEff"] == "0000000000000000", logs
    assert locked_status["NoNewPrivs"] == "1" and locked_status["Seccomp"] == "2", logs
    assert logs["locked"].splitlines()[-1] == "read-only", logs
    assert proc_status(logs["unconfined"])["Seccomp"] == "0", logs
    assert logs["localhost"].strip() == "denied", logs


def test_finding_stored_but_not_acted_on_warning_was_false(
    node: KubeletProcess, api: httpx.Client, namespace: str, busybox: str
) -> None:
    """The API warned "securityContext: stored but not acted on by minik" for fields
    the kubelet acts on; now only what it does not act on (seLinuxOptions) is named."""
    honoured = {
        "runAsUser": 1000,
        "runAsNonRoot": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
        "readOnlyRootFilesystem": True,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    containers = [
        {"name": "a", "image": busybox, "securityContext": honoured},
        {"name": "b", "image": busybox, "securityContext": {"seLinuxOptions": {"level": "s0"}}},
    ]
    manifest = pod_manifest(
        f"warn-{secrets.token_hex(2)}",
        node.node,
        containers,
        securityContext={"fsGroup": 2000, "supplementalGroups": [1], "runAsGroup": 5},
    )
    r = api.post(f"/api/v1/namespaces/{namespace}/pods", json=manifest, params={"dryRun": "All"})
    assert r.status_code == 201, r.text
    warnings = r.headers.get_list("warning")
    assert [w for w in warnings if "not acted on" in w] == [
        '299 - "spec.containers[1].securityContext.seLinuxOptions: stored but not acted on '
        'by minik"'
    ], warnings
