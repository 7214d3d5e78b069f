"""A StatefulSet on real Docker (issue 12), on a `minik up` one-node cluster (real
kubelet, scheduler, controller manager with the local-path provisioner, proxy with
the cluster DNS): three pods behind a headless Service come up in order, each with
its own claim; what web-0 writes is there after web-0 is deleted and recreated; from
another pod, `web-1.nginx.<ns>.svc.cluster.local` resolves to web-1's IP and the
Service's name to every ready pod. DNS traffic stays on this machine: the proxy's
upstream resolver is a fake one on loopback. The proxy holds the cluster DNS address
on the host's lo: run this module alone, under the e2e lock."""

from __future__ import annotations

import itertools
import json
import os
import re
import secrets
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from client.kubeconfig import load as load_kubeconfig
from deploy import processes
from tests.support.fakedns import FakeUpstreamDns
from tests.support.images import BUSYBOX_IMAGE, ensure_busybox_image
from tests.support.wait import eventually

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="the proxy adds addresses to lo"),
]

MINIK = str(Path(sys.executable).parent / "minik")
CLUSTER_DNS = "10.96.0.10"
PROXY_LOCK = "/run/minik-proxy.lock"
NETWORK_ERRORS = (OSError, httpx.HTTPError)
# Writes its name into its claim once; ready once that file is there.
SCRIPT = (
    "[ -f /data/owner ] || hostname > /data/owner; "
    "trap 'exit 0' TERM; while true; do sleep 1; done & wait"
)


@dataclass
class Cluster:
    data_dir: Path
    api: httpx.Client
    namespace: str

    def path(self, kind: str, name: str = "") -> str:
        base = f"/api/v1/namespaces/{self.namespace}/{kind}"
        return f"{base}/{name}" if name else base

    def pod(self, name: str) -> dict[str, Any] | None:
        r = self.api.get(self.path("pods", name))
        return r.json() if r.status_code == 200 else None

    def exec(self, pod: str, *command: str) -> tuple[int, str]:
        r = self.api.post(
            self.path("pods", pod) + "/exec",
            params=[("command", c) for c in command],
            timeout=30,
        )
        assert r.status_code == 200, f"exec {command}: {r.status_code} {r.text}"
        return int(r.headers.get("X-Exit-Code", "0")), r.text


def minik(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([MINIK, *args], capture_output=True, text=True, timeout=180, env=env)


def proxy_serves_dns(data_dir: Path) -> bool:
    pid = int(json.loads((data_dir / "pids.json").read_text())["proxy"]["pid"])
    if not processes.pid_alive(pid):
        log = (data_dir / "logs" / "proxy.log").read_text()[-2000:]
        raise AssertionError(f"the cluster's proxy exited (another proxy on this host?):\n{log}")
    holder = Path(PROXY_LOCK).read_text().strip() if Path(PROXY_LOCK).exists() else ""
    return (
        holder == str(pid)
        and "serving cluster DNS" in (data_dir / "logs" / "proxy.log").read_text()
    )


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    ensure_busybox_image()
    data_dir = tmp_path_factory.mktemp("minik-sts")
    env = {**os.environ, "HOME": str(data_dir / "home")}
    upstream = FakeUpstreamDns()
    up = minik(
        "up",
        "--data-dir",
        str(data_dir),
        "--api-port",
        str(processes.free_port()),
        "--node-ip",
        "127.0.0.1",
        "--upstream-dns",
        f"127.0.0.1:{upstream.port}",
        env=env,
    )
    api = None
    try:
        assert up.returncode == 0, f"minik up failed:\n{up.stdout}\n{up.stderr}"
        config = load_kubeconfig(data_dir / "kubeconfig")
        api = httpx.Client(
            base_url=config.server,
            verify=ssl.create_default_context(cafile=str(data_dir / "pki" / "ca.crt")),
            headers={"Authorization": f"Bearer {config.token}"},
            timeout=30,
        )
        eventually(lambda: proxy_serves_dns(data_dir), timeout=30, retry_on=NETWORK_ERRORS)
        namespace = f"sts-{secrets.token_hex(3)}"
        r = api.post("/api/v1/namespaces", json={"metadata": {"name": namespace}})
        assert r.status_code == 201, r.text
        yield Cluster(data_dir, api, namespace)
    finally:
        if api is not None:
            api.close()
        down = minik("down", "--data-dir", str(data_dir), env=env)
        upstream.stop()
        assert down.returncode == 0, down.stderr


def statefulset() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": "web"},
        "spec": {
            "serviceName": "nginx",
            "replicas": 3,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {
                    "terminationGracePeriodSeconds": 1,
                    "containers": [
                        {
                            "name": "web",
                            "image": BUSYBOX_IMAGE,
                            "imagePullPolicy": "IfNotPresent",
                            "command": ["sh", "-c", SCRIPT],
                            "readinessProbe": {
                                "exec": {"command": ["test", "-f", "/data/owner"]},
                                "periodSeconds": 1,
                            },
                            "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                        }
                    ],
                },
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "data"},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "resources": {"requests": {"storage": "1Gi"}},
                    },
                }
            ],
        },
    }


def is_ready(pod: dict[str, Any] | None) -> bool:
    return bool(pod) and any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (pod or {}).get("status", {}).get("conditions") or []
    )


def ready_since(pod: dict[str, Any]) -> str:
    return next(c for c in pod["status"]["conditions"] if c["type"] == "Ready")[
        "lastTransitionTime"
    ]


def nslookup_ips(c: Cluster, pod: str, name: str) -> set[str]:
    """The A records busybox's nslookup prints for `name`."""
    _, out = c.exec(pod, "nslookup", name)
    pairs = re.findall(r"^Name:\s*(\S+)\s*\nAddress:\s*([0-9.]+)\s*$", out, re.M)
    return {ip for owner, ip in pairs if owner.rstrip(".") == name}


def test_ordered_pods_keep_their_data_and_have_dns_names(cluster: Cluster) -> None:
    c, ns = cluster, cluster.namespace
    headless = {
        "metadata": {"name": "nginx"},
        "spec": {"clusterIP": "None", "selector": {"app": "web"}, "ports": [{"port": 80}]},
    }
    assert c.api.post(c.path("services"), json=headless).status_code == 201
    r = c.api.post(f"/apis/apps/v1/namespaces/{ns}/statefulsets", json=statefulset())
    assert r.status_code == 201, r.text

    def all_ready() -> list[dict[str, Any]]:
        pods = [c.pod(f"web-{i}") for i in range(3)]
        assert all(is_ready(p) for p in pods), [
            (p or {}).get("status", {}).get("phase") for p in pods
        ]
        return [p for p in pods if p]

    pods = eventually(all_ready, timeout=60, interval=0.3, retry_on=NETWORK_ERRORS)
    # OrderedReady: each pod was created only once its predecessor was Ready
    for before, after in itertools.pairwise(pods):
        assert after["metadata"]["creationTimestamp"] >= ready_since(before)

    # each pod has its own claim; its FQDN is in its /etc/hosts
    _code, hosts = c.exec("web-0", "cat", "/etc/hosts")
    ip0 = pods[0]["status"]["podIP"]
    assert re.search(rf"^{re.escape(ip0)}\s+web-0\.nginx\.{ns}\.svc\.cluster\.local\s+web-0$",
                     hosts, re.M), hosts  # fmt: skip
    owners = [c.exec(f"web-{i}", "cat", "/data/owner")[1].strip() for i in range(3)]
    assert owners == ["web-0", "web-1", "web-2"]

    # what web-0 writes survives web-0's deletion
    assert c.exec("web-0", "sh", "-c", "echo kept > /data/file")[0] == 0
    old_uid = pods[0]["metadata"]["uid"]
    c.api.delete(c.path("pods", "web-0"))

    def recreated() -> dict[str, Any]:
        p = c.pod("web-0")
        assert p is not None and p["metadata"]["uid"] != old_uid and is_ready(p)
        return p

    eventually(recreated, timeout=40, interval=0.3, retry_on=NETWORK_ERRORS)
    assert c.exec("web-0", "cat", "/data/file")[1].strip() == "kept"
    assert c.exec("web-0", "cat", "/data/owner")[1].strip() == "web-0"

    # per-pod DNS through the headless Service, from another pod
    ips = {p["metadata"]["name"]: p["status"]["podIP"] for p in all_ready()}
    fqdn = f"web-1.nginx.{ns}.svc.cluster.local"
    eventually(lambda: nslookup_ips(c, "web-2", fqdn) == {ips["web-1"]}, timeout=20)
    service = f"nginx.{ns}.svc.cluster.local"
    eventually(lambda: nslookup_ips(c, "web-2", service) == set(ips.values()), timeout=20)
