"""`minik up` supervises its components (issue #17): SIGKILL any one and it is back by
itself while a Deployment keeps serving; a killed proxy is back within a second or so;
`minik up` repairs a cluster whose supervisor and some components died, restarting only
those and touching no pod container; `minik status` shows restarts and exit codes.
Before that, what such a cluster gives a newcomer (issues #10, #11): a private data dir,
and an in-cluster client that reaches the API as Kubernetes' pods do.

One `minik up` cluster for the module, with its own data dir, node prefix and ports."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sysconfig
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import docker
import httpx
import pytest

from deploy import processes
from tests.e2e.test_serviceaccount_pods import CLIENT, SITE, ensure_base_image
from tests.support.images import ensure_busybox_image
from tests.support.minikcli import MinikCluster
from tests.support.wait import eventually

pytestmark = pytest.mark.slow

PREFIX = "sup-e2e-"
LB_PORT = 18931
URL = f"http://127.0.0.1:{LB_PORT}/"


@dataclass
class Cluster(MinikCluster):
    def records(self) -> dict[str, dict]:
        return json.loads((self.data_dir / "pids.json").read_text())

    def pid(self, name: str) -> int:
        return int(self.records()[name]["pid"])

    def containers(self) -> set[str]:
        client = docker.from_env()
        found = client.api.containers(filters={"label": f"io.minik.node={PREFIX}1"})
        return {c["Id"] for c in found}


MANIFEST = f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: 2
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: IMAGE
        imagePullPolicy: IfNotPresent
        command: ["sh", "-c", "mkdir -p /w && hostname > /w/index.html && httpd -f -p 8080 -h /w"]
        readinessProbe: {{httpGet: {{path: /, port: 8080}}, periodSeconds: 1}}
---
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec:
  type: LoadBalancer
  selector: {{app: web}}
  ports: [{{port: {LB_PORT}, targetPort: 8080}}]
"""


def serves() -> bool:
    try:
        return httpx.get(URL, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    image = ensure_busybox_image()
    data_dir = tmp_path_factory.mktemp("minik-supervision")
    env = {**os.environ, "HOME": str(data_dir / "home")}
    c = Cluster(data_dir, env)
    up = c.minik("up", "--node-prefix", PREFIX, "--api-port", str(processes.free_port()))
    assert up.returncode == 0, up.stderr
    try:
        c.kubectl("apply", "-f", "-", stdin=MANIFEST.replace("IMAGE", image))
        eventually(serves, timeout=90, message="the web Service answers")
        yield c
    finally:
        down = c.minik("down")
        assert down.returncode == 0, down.stderr


def test_the_data_dir_and_its_secrets_are_private(cluster: Cluster) -> None:
    """Issue 11: the data dir holds the CA keys, the admin token and the encryption
    key; no other user may list it, and every key and token file is 0600."""
    assert cluster.data_dir.stat().st_mode & 0o777 == 0o700
    secrets = [*cluster.data_dir.rglob("*.key"), *cluster.data_dir.rglob("tokens.csv")]
    secrets += [cluster.data_dir / "encryption-config.yaml"]
    assert len(secrets) > 5
    for path in secrets:
        assert path.stat().st_mode & 0o777 == 0o600, path


IN_CLUSTER = """
apiVersion: v1
kind: Namespace
metadata:
  name: incluster
  labels: {{pod-security.kubernetes.io/enforce: privileged}}  # the client's hostPath
---
apiVersion: v1
kind: ServiceAccount
metadata: {{name: lister, namespace: incluster}}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {{name: lister-view, namespace: incluster}}
roleRef: {{apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: view}}
subjects: [{{kind: ServiceAccount, name: lister, namespace: incluster}}]
---
apiVersion: v1
kind: Pod
metadata: {{name: client, namespace: incluster}}
spec:
  serviceAccountName: lister
  terminationGracePeriodSeconds: 1
  containers:
  - name: client
    image: {image}
    imagePullPolicy: Never
    command: ["python3", "-c", {client}]
    env: [{{name: PYTHONPATH, value: {site}}}]
    volumeMounts: [{{name: site, mountPath: {site}, readOnly: true}}]
  volumes:
  - name: site
    hostPath: {{path: {purelib}, type: Directory}}
"""


def test_minik_up_makes_kubeadms_join_bootstrap(cluster: Cluster) -> None:
    """Issue 16: what `kubeadm init` makes for joining machines (deploy/kubeadmbootstrap)."""
    bindings = json.loads(cluster.kubectl("get", "clusterrolebindings", "-o", "json"))
    found = {
        b["metadata"]["name"]: (b["roleRef"]["name"], [s["name"] for s in b["subjects"]])
        for b in bindings["items"]
        if b["metadata"]["name"].startswith("kubeadm:")
    }
    group = "system:bootstrappers:kubeadm:default-node-token"
    csr = "system:certificates.k8s.io:certificatesigningrequests:"
    assert found == {
        "kubeadm:kubelet-bootstrap": ("system:node-bootstrapper", [group]),
        "kubeadm:node-autoapprove-bootstrap": (f"{csr}nodeclient", [group]),
        "kubeadm:node-autoapprove-certificate-rotation": (f"{csr}selfnodeclient", ["system:nodes"]),
        "kubeadm:node-proxier": ("system:node-proxier", ["kube-proxy"]),
    }
    info = cluster.kubectl("get", "configmap", "cluster-info", "-n", "kube-public", "-o", "json")
    assert "certificate-authority-data" in json.loads(info)["data"]["kubeconfig"]


def test_an_in_cluster_client_reaches_the_api_through_the_kubernetes_service(
    cluster: Cluster,
) -> None:
    """Issue 10: the official Python client's `load_incluster_config()` in an ordinary
    pod (its own network, no address given to it) finds the API where Kubernetes puts
    it: KUBERNETES_SERVICE_HOST/PORT, set by the kubelet to the `kubernetes` Service,
    whose ClusterIP the proxy forwards to the apiserver, whose certificate names that
    address; it lists pods as its ServiceAccount, which `view` lets it do."""
    image = ensure_base_image()
    client = "import os; print('HOST', os.environ['KUBERNETES_SERVICE_HOST'], flush=True)\n"
    manifest = IN_CLUSTER.format(
        image=image,
        client=json.dumps(client + CLIENT),
        site=SITE,
        purelib=sysconfig.get_paths()["purelib"],
    )
    cluster.kubectl("apply", "-f", "-", stdin=manifest)
    service = json.loads(
        cluster.kubectl("get", "service", "kubernetes", "-n", "default", "-o", "json")
    )

    def listed() -> str:
        log = subprocess.run(
            ["kubectl", "--kubeconfig", str(cluster.data_dir / "kubeconfig"), "logs", "client",
             "-n", "incluster"],
            capture_output=True, text=True, timeout=30,
        ).stdout  # fmt: skip
        assert "OK client" in log, log[-2000:]
        return log

    log = eventually(listed, timeout=120, interval=1, message="the pod lists its namespace")
    assert f"HOST {service['spec']['clusterIP']}\n" in log
    cluster.kubectl("delete", "namespace", "incluster", "--wait=false")


COMPONENTS = ["etcd", "apiserver", "scheduler", "controller", "kubelet-1", "proxy"]


def test_every_component_killed_comes_back_and_the_cluster_converges(cluster: Cluster) -> None:
    for name in COMPONENTS:
        before = cluster.records()[name]
        os.kill(int(before["pid"]), signal.SIGKILL)

        def back(name: str = name, old: int = int(before["pid"])) -> dict:
            rec = cluster.records()[name]
            assert rec["pid"] != old and rec["state"] == "running", rec
            assert processes.pid_alive(int(rec["pid"]))
            return rec

        rec = eventually(back, timeout=30, message=f"{name} restarted by the supervisor")
        assert rec["restarts"] == before["restarts"] + 1
        assert rec["last_exit"] == -signal.SIGKILL
        eventually(serves, timeout=60, message=f"serving after {name}")
    # the control plane still acts: a scale-up converges
    cluster.kubectl("scale", "deployment/web", "--replicas", "3")
    eventually(
        lambda: (
            cluster.kubectl("get", "deploy", "web", "-o", "jsonpath={.status.readyReplicas}") == "3"
        ),
        timeout=60,
        message="3 ready replicas",
    )
    log = (cluster.data_dir / "logs" / "supervisor.log").read_text()
    for name in COMPONENTS:
        assert f"{name}: exited with -9" in log
    status = cluster.minik("status")
    assert status.returncode == 0, status.stdout
    assert "RESTARTS" in status.stdout and "-9" in status.stdout


class Prober:
    """Connects to the Service continuously; records the longest gap without an answer."""

    def __init__(self) -> None:
        self.ok = 0
        self.failed = 0
        self.longest_gap = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        last_ok = time.monotonic()
        deadline = last_ok + 60
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                httpx.get(URL, timeout=1).raise_for_status()
                now = time.monotonic()
                self.longest_gap = max(self.longest_gap, now - last_ok)
                last_ok = now
                self.ok += 1
            except httpx.HTTPError:
                self.failed += 1
                time.sleep(0.01)

    def __enter__(self) -> Prober:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def _serving_proxy_pid() -> int:
    return int(Path("/run/minik-proxy.lock").read_text().strip() or 0)


def test_a_killed_proxy_is_restarted_at_once(cluster: Cluster) -> None:
    eventually(serves, timeout=30, message="serving")
    killed = cluster.pid("proxy")
    assert _serving_proxy_pid() == killed
    with Prober() as prober:
        time.sleep(1)
        os.kill(killed, signal.SIGKILL)
        eventually(
            lambda: _serving_proxy_pid() not in (0, killed), timeout=10, message="a new proxy"
        )
        time.sleep(2)
    print(
        f"\nproxy SIGKILL: longest gap without an answer {prober.longest_gap * 1000:.0f} ms "
        f"({prober.failed} failed, {prober.ok} ok requests)"
    )
    assert prober.ok > 0 and prober.longest_gap < 3.0
    record = cluster.records()["proxy"]
    assert record["pid"] == _serving_proxy_pid() and record["last_exit"] == -9, record


def test_minik_restart_proxy(cluster: Cluster) -> None:
    old = cluster.pid("proxy")
    out = cluster.minik("restart", "proxy")
    assert out.returncode == 0, out.stderr
    assert cluster.pid("proxy") != old
    eventually(serves, timeout=30, message="serving after a restart")
    bad = cluster.minik("restart", "nope")
    assert bad.returncode == 1 and "no component 'nope'" in bad.stderr


def test_minik_up_repairs_a_half_dead_cluster(cluster: Cluster) -> None:
    records = cluster.records()
    containers = cluster.containers()
    assert containers
    os.kill(int(records["supervisor"]["pid"]), signal.SIGKILL)
    for name in ("scheduler", "controller"):
        os.kill(int(records[name]["pid"]), signal.SIGKILL)
    eventually(lambda: not processes.pid_alive(int(records["controller"]["pid"])), timeout=10)
    status = cluster.minik("status")
    assert status.returncode == 1 and "supervisor stopped" in status.stdout
    up = cluster.minik("up", "--node-prefix", PREFIX)
    assert up.returncode == 0, up.stderr
    assert "repaired by starting: supervisor, scheduler, controller" in up.stdout
    after = cluster.records()
    for name in ("etcd", "apiserver", "kubelet-1"):
        assert after[name]["pid"] == records[name]["pid"], f"{name} was restarted"
    for name in ("scheduler", "controller"):
        assert after[name]["pid"] != records[name]["pid"]
        assert after[name]["state"] == "running"
    assert cluster.containers() == containers  # no pod container touched
    assert cluster.minik("status").returncode == 0
    eventually(serves, timeout=30, message="serving after the repair")
