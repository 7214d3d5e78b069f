"""A ResourceQuota and a LimitRange with real Docker pods: the real controller manager
(replicaset and resourcequota controllers) and a real kubelet. The pods are bound to the
kubelet's node by their template's `nodeName` (no scheduler here).

- A ReplicaSet of 3 under `pods: 2`: two pods run in Docker, the third create is
  refused with Kubernetes' message (the ReplicaSet's FailedCreate event and its
  ReplicaFailure condition say so); when a running pod is deleted, its quota comes
  back and the ReplicaSet (scaled to 2) replaces it, never going past 2.
- The LimitRange's default memory limit, added by admission, is the container's real
  cgroup limit in Docker."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import docker
import httpx
import pytest

from tests.e2e.conftest import KubeletProcess, docker_id, is_ready
from tests.support.controllermanager import ManagerProcess
from tests.support.images import BUSYBOX_IMAGE
from tests.support.wait import eventually

Obj = dict[str, Any]
REFUSED = re.compile(
    r'Error creating: pods "quota-rs-[a-z0-9]{5}" is forbidden: exceeded quota: two-pods, '
    r"requested: pods=1, used: pods=2, limited: pods=2"
)


@pytest.fixture(scope="module")
def controller_manager(apiserver, tmp_path_factory) -> Iterator[None]:
    workdir = tmp_path_factory.mktemp("cm")
    controllers = "replicaset,resourcequota"
    proc = ManagerProcess(apiserver, workdir, "--controllers", controllers).start()
    yield
    proc.stop()


def replicaset(node: str, replicas: int) -> Obj:
    labels = {"app": "quota-rs"}
    return {
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": "quota-rs"},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "nodeName": node,
                    "terminationGracePeriodSeconds": 1,
                    "containers": [
                        {
                            "name": "main",
                            "image": BUSYBOX_IMAGE,
                            "imagePullPolicy": "IfNotPresent",
                            "command": ["sleep", "3600"],
                        }
                    ],
                },
            },
        },
    }


def pods(api: httpx.Client, namespace: str) -> list[Obj]:
    return api.get(f"/api/v1/namespaces/{namespace}/pods").json()["items"]


def test_quota_refuses_the_third_pod_and_limits_reach_docker(
    controller_manager, api: httpx.Client, namespace: str, kubelet: KubeletProcess
):
    ns_path = f"/api/v1/namespaces/{namespace}"
    limits = {
        "metadata": {"name": "defaults"},
        "spec": {"limits": [{"type": "Container", "default": {"memory": "64Mi"}}]},
    }
    assert api.post(f"{ns_path}/limitranges", json=limits).status_code == 201
    quota = {"metadata": {"name": "two-pods"}, "spec": {"hard": {"pods": "2"}}}
    assert api.post(f"{ns_path}/resourcequotas", json=quota).status_code == 201
    eventually(
        lambda: api.get(f"{ns_path}/resourcequotas/two-pods").json()["status"]["used"],
        timeout=20,
        retry_on=(KeyError,),
        message="quota status",
    )

    rs_path = f"/apis/apps/v1/namespaces/{namespace}/replicasets"
    r = api.post(rs_path, json=replicaset(kubelet.node, 3))
    assert r.status_code == 201, r.text

    def two_running() -> list[Obj]:
        items = pods(api, namespace)
        assert len(items) == 2 and all(is_ready(p) for p in items), [
            (p["metadata"]["name"], (p.get("status") or {}).get("phase")) for p in items
        ]
        return items

    running = eventually(two_running, timeout=40, message="two running pods")

    def refused() -> str:
        events = api.get(
            f"{ns_path}/events", params={"fieldSelector": "involvedObject.name=quota-rs"}
        ).json()["items"]
        messages = [e["message"] for e in events if e["reason"] == "FailedCreate"]
        assert any(REFUSED.fullmatch(m) for m in messages), messages
        rs = api.get(f"{rs_path}/quota-rs").json()
        failure = [c for c in rs["status"].get("conditions") or [] if c["type"] == "ReplicaFailure"]
        assert failure and "exceeded quota: two-pods" in failure[0]["message"], rs["status"]
        return messages[0]

    eventually(refused, timeout=20, message="the third pod refused")

    # The admitted containers run with the LimitRange's default memory limit.
    container = docker.from_env().containers.get(docker_id(running[0], "main"))
    assert container.attrs["HostConfig"]["Memory"] == 64 * 2**20
    assert running[0]["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == (
        "LimitRanger plugin set: memory request for container main; memory limit for container main"
    )

    # Scaled to what fits, the ReplicaSet stops failing (and its retry back-off resets);
    # then a deleted pod gives its quota back and is replaced; never more than two.
    r = api.patch(
        f"{rs_path}/quota-rs",
        json={"spec": {"replicas": 2}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 200, r.text
    victim = running[0]["metadata"]["name"]
    assert api.delete(f"{ns_path}/pods/{victim}").status_code == 200

    def replaced() -> bool:
        items = two_running()
        assert victim not in {p["metadata"]["name"] for p in items}
        return True

    # The replacement waits for the victim to end and the quota to count it out; the
    # ReplicaSet's refused creates back off exponentially meanwhile (slow under load).
    eventually(replaced, timeout=90, message="the deleted pod replaced")
    used = api.get(f"{ns_path}/resourcequotas/two-pods").json()["status"]["used"]
    assert used == {"pods": "2"}
    api.delete(f"{rs_path}/quota-rs")
