"""Issue 11, "Pods cannot own the host" (volumes): a subPath cannot lead a container or
the kubelet out of its volume, and memory-backed volumes (Memory emptyDirs, secrets,
configMaps) live in a per-pod private directory no local user can predict or plant.

Each test names its finding and fails on the kubelet before the fix."""

from __future__ import annotations

import os
import secrets
import shutil
import stat
from pathlib import Path

import docker
import httpx

from tests.e2e.conftest import (
    KubeletProcess,
    container_status,
    create_pod,
    docker_id,
    events_for,
    get_pod,
    pod_manifest,
    wait_pod,
)
from tests.security import kubelet_fixtures as fx
from tests.security.kubelet_fixtures import waiting
from tests.support.wait import eventually

api, busybox, kubelet_factory, node, pod_network = (
    fx.api,
    fx.busybox,
    fx.kubelet_factory,
    fx.node,
    fx.pod_network,
)

SHM = Path("/dev/shm")


def running(pod: dict, name: str) -> bool:
    return bool((container_status(pod, name).get("state") or {}).get("running"))


def test_finding_subpath_symlink_escape(
    node: KubeletProcess, api: httpx.Client, namespace: str, busybox: str
) -> None:
    """An init container made `ln -s / /data/escape`: a container mounting `subPath:
    escape` listed the host's /, and `subPath: mk/...` made the kubelet (root) create
    directories on the host through the symlink. Both are refused now (the container
    waits in CreateContainerConfigError, with a Failed event); a symlink that stays
    inside the volume still works."""
    host_dir = Path("/tmp") / f"minik-subpath-escape-{secrets.token_hex(4)}"
    setup = "ln -s / /data/escape && ln -s / /data/mk && mkdir /data/real && ln -s real /data/in"
    mounted = "ls /mnt; sleep 3600"
    containers = [
        {
            "name": "escape",
            "image": busybox,
            "command": ["sh", "-c", mounted],
            "volumeMounts": [{"name": "data", "mountPath": "/mnt", "subPath": "escape"}],
        },
        {
            "name": "mk",
            "image": busybox,
            "command": ["sh", "-c", mounted],
            "volumeMounts": [
                {"name": "data", "mountPath": "/mnt", "subPath": f"mk{host_dir}/inner"}
            ],
        },
        {
            "name": "inside",
            "image": busybox,
            "command": ["sh", "-c", "touch /mnt/made && sleep 3600"],
            "volumeMounts": [{"name": "data", "mountPath": "/mnt", "subPath": "in/sub"}],
        },
    ]
    manifest = pod_manifest(
        "escape",
        node.node,
        containers,
        initContainers=[
            {
                "name": "plant",
                "image": busybox,
                "command": ["sh", "-c", setup],
                "volumeMounts": [{"name": "data", "mountPath": "/data"}],
            }
        ],
        volumes=[{"name": "data", "emptyDir": {}}],
    )
    create_pod(api, namespace, manifest)
    try:
        _check_escapes_refused(api, namespace, host_dir)
    finally:  # what the kubelet before the fix made on the host
        if host_dir.is_dir() and not host_dir.is_symlink():
            shutil.rmtree(host_dir)


def _check_escapes_refused(api: httpx.Client, namespace: str, host_dir: Path) -> None:
    def settled(pod: dict) -> bool:
        refused = [waiting(pod, n).get("reason") for n in ("escape", "mk")]
        return refused == ["CreateContainerConfigError"] * 2 and running(pod, "inside")

    pod = wait_pod(api, namespace, "escape", settled, timeout=60, what="escapes refused")
    for name in ("escape", "mk"):
        assert waiting(pod, name)["message"] == (
            f'failed to create subPath directory for volumeMount "data" of container "{name}"'
        )
    assert not host_dir.exists()
    assert not os.path.lexists(host_dir)
    inside = docker.from_env().containers.get(docker_id(pod, "inside"))
    assert inside.exec_run(["ls", "/mnt"]).output.decode().split() == ["made"]
    failed = [e["message"] for e in events_for(api, namespace, "escape") if e["reason"] == "Failed"]
    assert any("failed to create subPath directory" in m for m in failed), failed


def test_finding_memory_volumes_under_a_predictable_dev_shm_path(
    node: KubeletProcess, api: httpx.Client, namespace: str, busybox: str, tmp_path: Path
) -> None:
    """Memory emptyDirs lived under /dev/shm/minik-<node>/<uid>: a symlink a local user
    planted there made the kubelet create a root-owned 0777 directory wherever it
    pointed. Now the pod's Memory emptyDir and its secret and configMap volumes are in
    a private directory (random name, root's, 0700), with Kubernetes' modes inside,
    removed with the pod."""
    target = tmp_path / "redirected"
    target.mkdir()
    planted = SHM / f"minik-{node.node}"
    planted.symlink_to(target)
    try:
        _check_private_volumes(node, api, namespace, busybox)
        assert list(target.iterdir()) == []
    finally:
        planted.unlink()


def _check_private_volumes(
    node: KubeletProcess, api: httpx.Client, namespace: str, busybox: str
) -> None:
    for plural, body in (
        ("secrets", {"metadata": {"name": "sec"}, "stringData": {"pw": "x", "other": "y"}}),
        ("configmaps", {"metadata": {"name": "cfg"}, "data": {"k": "v"}}),
    ):
        r = api.post(f"/api/v1/namespaces/{namespace}/{plural}", json=body)
        assert r.status_code == 201, r.text
    script = (
        "stat -c %a /cache /sec /cfg; stat -L -c %a /sec/pw /sec/other /cfg/k; "
        "echo done; sleep 3600"
    )
    container = {
        "name": "app",
        "image": busybox,
        "command": ["sh", "-c", script],
        "volumeMounts": [
            {"name": "cache", "mountPath": "/cache"},
            {"name": "sec", "mountPath": "/sec"},
            {"name": "cfg", "mountPath": "/cfg"},
        ],
    }
    volumes = [
        {"name": "cache", "emptyDir": {"medium": "Memory"}},
        {
            "name": "sec",
            "secret": {
                "secretName": "sec",
                "defaultMode": 0o400,
                "items": [
                    {"key": "pw", "path": "pw", "mode": 0o600},
                    {"key": "other", "path": "other"},
                ],
            },
        },
        {"name": "cfg", "configMap": {"name": "cfg"}},
    ]
    create_pod(api, namespace, pod_manifest("private", node.node, [container], volumes=volumes))
    pod = wait_pod(api, namespace, "private", lambda p: running(p, "app"), timeout=60)
    app = docker.from_env().containers.get(docker_id(pod, "app"))

    def logged() -> str:
        text = app.logs().decode()
        assert "done" in text, text
        return text

    lines = eventually(logged, timeout=20, interval=0.2).split()
    assert lines == ["777", "755", "755", "600", "400", "644", "done"]
    sources = {m["Destination"]: Path(m["Source"]) for m in app.attrs["Mounts"]}
    private = {sources[d].parents[2] for d in ("/cache", "/sec", "/cfg")}
    assert len(private) == 1, sources
    (home,) = private
    assert home.parent == SHM and home.name.startswith("minik-pod-"), home
    st = os.lstat(home)
    assert stat.S_ISDIR(st.st_mode) and st.st_uid == 0 and stat.S_IMODE(st.st_mode) == 0o700
    for source in sources.values():
        assert not str(source).startswith(str(SHM / f"minik-{node.node}")), sources
    r = api.delete(
        f"/api/v1/namespaces/{namespace}/pods/private", params={"gracePeriodSeconds": "0"}
    )
    assert r.status_code == 200, r.text
    eventually(
        lambda: get_pod(api, namespace, "private") is None and not home.exists(),
        timeout=60,
        interval=0.3,
        message="the pod and its private directory gone",
    )
