"""ConfigMaps and Secrets consumed by real containers: env (key refs and envFrom),
configMap/secret volumes with items and modes, updates reaching mounted files, and a
missing ConfigMap holding a container in CreateContainerConfigError until it exists."""

from __future__ import annotations

import base64

import docker
import httpx

from tests.e2e.conftest import (
    KubeletProcess,
    container_status,
    create_pod,
    docker_id,
    events_for,
    is_ready,
    pod_manifest,
    wait_pod,
)
from tests.support.wait import eventually


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def post(api: httpx.Client, namespace: str, plural: str, body: dict) -> None:
    r = api.post(f"/api/v1/namespaces/{namespace}/{plural}", json=body)
    assert r.status_code == 201, r.text


def logs_of(pod: dict, name: str, wanted: str, timeout: float = 15.0) -> str:
    container = docker.from_env().containers.get(docker_id(pod, name))

    def logged() -> str:
        text = container.logs().decode()
        assert wanted in text, text
        return text

    return eventually(
        logged, timeout=timeout, interval=0.2, message=f"{wanted!r} in the logs of {name}"
    )


def exec_in(pod: dict, name: str, *command: str) -> str:
    container = docker.from_env().containers.get(docker_id(pod, name))
    return container.exec_run(list(command)).output.decode()


def test_env_and_volumes_from_configmaps_and_secrets(
    kubelet: KubeletProcess, api: httpx.Client, namespace: str, busybox: str
) -> None:
    post(
        api,
        namespace,
        "configmaps",
        {"metadata": {"name": "cfg"}, "data": {"k": "v1", "COLOR": "blue"}},
    )
    post(
        api,
        namespace,
        "secrets",
        {"metadata": {"name": "sec"}, "stringData": {"password": "hunter2", "TOKEN": "t0k"}},
    )
    script = (
        "echo A=$A; echo S=$S; echo C=$CFG_COLOR; echo T=$TOKEN; "
        "cat /etc/cfg/k; echo; cat /etc/sec/creds/pw; echo; "
        "stat -L -c %a /etc/cfg/k /etc/sec/creds/pw; "
        "touch /etc/cfg/x 2>/dev/null || echo read-only; echo done; sleep 3600"
    )
    container = {
        "name": "app",
        "image": busybox,
        "command": ["sh", "-c", script],
        "env": [
            {"name": "A", "valueFrom": {"configMapKeyRef": {"name": "cfg", "key": "k"}}},
            {"name": "S", "valueFrom": {"secretKeyRef": {"name": "sec", "key": "password"}}},
        ],
        "envFrom": [
            {"configMapRef": {"name": "cfg"}, "prefix": "CFG_"},
            {"secretRef": {"name": "sec"}},
        ],
        "volumeMounts": [
            {"name": "cfg", "mountPath": "/etc/cfg"},
            {"name": "sec", "mountPath": "/etc/sec"},
        ],
    }
    volumes = [
        {"name": "cfg", "configMap": {"name": "cfg"}},
        {
            "name": "sec",
            "secret": {
                "secretName": "sec",
                "defaultMode": 0o400,
                "items": [{"key": "password", "path": "creds/pw", "mode": 0o440}],
            },
        },
    ]
    create_pod(api, namespace, pod_manifest("cfg", kubelet.node, [container], volumes=volumes))
    pod = wait_pod(api, namespace, "cfg", is_ready, what="Ready")
    text = logs_of(pod, "app", "done")
    assert text.splitlines() == [
        "A=v1",
        "S=hunter2",
        "C=blue",
        "T=t0k",
        "v1",
        "hunter2",
        "644",
        "440",
        "read-only",
        "done",
    ]
    assert exec_in(pod, "app", "ls", "/etc/sec/creds").split() == ["pw"]
    # an update of the ConfigMap reaches the mounted file (the env stays as it was)
    r = api.patch(
        f"/api/v1/namespaces/{namespace}/configmaps/cfg",
        json={"data": {"k": "v2"}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 200, r.text

    def updated() -> bool:
        assert exec_in(pod, "app", "cat", "/etc/cfg/k") == "v2"
        return True

    eventually(updated, timeout=20, interval=0.3)


def test_missing_configmap_then_created(
    kubelet: KubeletProcess, api: httpx.Client, namespace: str, busybox: str
) -> None:
    container = {
        "name": "app",
        "image": busybox,
        "command": ["sh", "-c", "echo A=$A; sleep 3600"],
        "env": [{"name": "A", "valueFrom": {"configMapKeyRef": {"name": "late", "key": "a"}}}],
    }
    create_pod(api, namespace, pod_manifest("waits", kubelet.node, [container]))

    def config_error(pod: dict) -> bool:
        waiting = (container_status(pod, "app").get("state") or {}).get("waiting") or {}
        return waiting.get("reason") == "CreateContainerConfigError"

    pod = wait_pod(api, namespace, "waits", config_error, what="CreateContainerConfigError")
    waiting = container_status(pod, "app")["state"]["waiting"]
    assert waiting["message"] == 'configmap "late" not found'
    post(api, namespace, "configmaps", {"metadata": {"name": "late"}, "data": {"a": "here"}})
    pod = wait_pod(api, namespace, "waits", is_ready, timeout=30, what="Ready")
    assert logs_of(pod, "app", "A=here")


def test_missing_volume_source_is_a_failed_mount(
    kubelet: KubeletProcess, api: httpx.Client, namespace: str, busybox: str
) -> None:
    container = {
        "name": "app",
        "image": busybox,
        "command": ["sleep", "3600"],
        "volumeMounts": [{"name": "v", "mountPath": "/etc/v"}],
    }
    volumes = [{"name": "v", "secret": {"secretName": "absent"}}]
    create_pod(api, namespace, pod_manifest("mount", kubelet.node, [container], volumes=volumes))
    message = 'MountVolume.SetUp failed for volume "v" : secret "absent" not found'
    events = eventually(
        lambda: [e for e in events_for(api, namespace, "mount") if e["reason"] == "FailedMount"],
        timeout=30,
        interval=0.3,
        message="a FailedMount event",
    )
    assert events[0]["message"] == message and events[0]["type"] == "Warning"
    pod = api.get(f"/api/v1/namespaces/{namespace}/pods/mount").json()
    waiting = (container_status(pod, "app").get("state") or {}).get("waiting") or {}
    assert waiting.get("reason") == "ContainerCreating"
    post(api, namespace, "secrets", {"metadata": {"name": "absent"}, "data": {"x": b64("1")}})
    wait_pod(api, namespace, "mount", is_ready, timeout=30, what="Ready")
