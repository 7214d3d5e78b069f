"""Issue 16, HA control plane: `minik up --control-planes 3` on loopback, and chaos.

One cluster for the module (3 etcd members, 3 apiservers behind apilb, 3 schedulers and
3 controller managers with leader election, one node). Each chaos test starts a
rolling update of a Deployment, SIGKILLs one control-plane process in the middle of
it, and checks that the rollout still completes and the API keeps answering through
the load balancer. What each kill cost is measured and printed (run with -s):

- writes: a client patches a ConfigMap through apilb every 50 ms from before the kill
  until the rollout is done; "recovered" is when writes succeed again after the last
  failure (0 when none failed), "max gap" the longest time between two successes;
- leaders: how long until another replica holds the scheduler's or controller
  manager's Lease (Kubernetes' defaults: lease 15 s, renew deadline 10 s, retry 2 s).

The supervisor restarts each killed process; the next test waits for it. Finally the
whole control plane is SIGKILLed at once: the pods keep serving their Service
throughout (the kubelet and proxy keep what they have while the API is gone)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import httpx
import pytest

from api.resources import CONFIGMAPS, DEPLOYMENTS
from client.kubeconfig import load
from client.rest import Client
from deploy import processes
from tests.support.hachaos import (
    Writer,
    etcd_healthy,
    etcd_leader,
    leader_component,
    lease_holder,
    rollout_complete,
)
from tests.support.images import ensure_busybox_image
from tests.support.minikcli import MinikCluster
from tests.support.sockets import peer_ports
from tests.support.wait import eventually

pytestmark = pytest.mark.slow

PREFIX = "ha16-e2e-"
NS = "default"
ROLLOUT_TIMEOUT = 120.0
REPORT: list[str] = []


def _port() -> int:
    return processes.free_port()


@dataclass
class Cluster(MinikCluster):
    lb_port: int = field(default_factory=_port)
    service_port: int = field(default_factory=_port)

    def api(self, timeout: float = 5.0) -> Client:
        return Client(load(str(self.data_dir / "kubeconfig")), timeout=timeout)

    def records(self) -> dict[str, dict]:
        return json.loads((self.data_dir / "pids.json").read_text())

    def pid(self, name: str) -> int:
        return int(self.records()[name]["pid"])

    def kill(self, name: str) -> int:
        pid = self.pid(name)
        os.kill(pid, signal.SIGKILL)
        return pid

    def wait_restarted(self, name: str, old_pid: int, timeout: float = 60) -> None:
        def back() -> bool:
            rec = self.records()[name]
            return rec.get("state") == "running" and int(rec.get("pid") or 0) not in (0, old_pid)

        eventually(back, timeout=timeout, interval=0.2, message=f"{name} restarted")

    @property
    def service_url(self) -> str:
        return f"http://127.0.0.1:{self.service_port}/"


def manifest(image: str, port: int) -> str:
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: 3
  minReadySeconds: 1
  strategy: {{rollingUpdate: {{maxSurge: 1, maxUnavailable: 0}}}}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: {image}
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
  ports: [{{port: {port}, targetPort: 8080}}]
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    image = ensure_busybox_image()
    data_dir = tmp_path_factory.mktemp("minik-ha")
    c = Cluster(data_dir, {**os.environ, "HOME": str(data_dir / "home")})
    up = c.minik(
        "up",
        "--control-planes",
        "3",
        "--node-prefix",
        PREFIX,
        "--api-port",
        str(c.lb_port),
        "--ingress-http-port",
        str(_port()),
        "--ingress-https-port",
        str(_port()),
        "--dashboard-port",
        str(_port()),
    )
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        kubectl = ["kubectl", "--kubeconfig", str(data_dir / "kubeconfig"), "apply", "-f", "-"]
        applied = subprocess.run(
            kubectl,
            input=manifest(image, c.service_port),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert applied.returncode == 0, applied.stderr
        with c.api() as api:
            wait_rollout(api, 1)
        eventually(lambda: serves(c.service_url), timeout=60, message="the web Service answers")
        yield c
    finally:
        for line in REPORT:
            print(line)
        down = c.minik("down")
        assert down.returncode == 0, down.stderr


def serves(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


# ---- what a test watches ------------------------------------------------------------


def wait_rollout(api: Client, generation: int, timeout: float = ROLLOUT_TIMEOUT) -> None:
    eventually(
        lambda: rollout_complete(api, "web", NS, generation),
        timeout=timeout,
        interval=0.5,
        retry_on=(Exception,),
        message=f"the rollout of generation {generation} completes",
    )


def start_rollout(api: Client, step: str) -> int:
    patch = {"spec": {"template": {"metadata": {"annotations": {"ha16/step": step}}}}}
    d = api.patch(DEPLOYMENTS, "web", patch, namespace=NS)
    return int(d["metadata"]["generation"])


def wait_rollout_underway(api: Client) -> None:
    """A new ReplicaSet has pods but not all of them: the middle of the rollout."""

    def underway() -> bool:
        status = api.get(DEPLOYMENTS, "web", NS).get("status") or {}
        return 0 < int(status.get("updatedReplicas") or 0) < 3

    eventually(underway, timeout=60, interval=0.1, retry_on=(Exception,))


def chaos(cluster: Cluster, step: str, kill: Callable[[Client], tuple[str, int]] | None) -> float:
    """Start a rollout, SIGKILL what `kill` picks in its middle (nothing: the same run's
    baseline), wait for the rollout to finish; report the writes' recovery. Returns
    when the kill happened."""
    with cluster.api() as api, Writer(cluster.api) as writer:
        generation = start_rollout(api, step)
        wait_rollout_underway(api)
        name, _ = kill(api) if kill else ("nothing", 0)
        killed = time.monotonic()
        wait_rollout(api, generation)
        done = time.monotonic() - killed
        time.sleep(0.5)  # a few writes after the rollout, so a recovery is seen
    recovered, gap, failed = writer.summary(killed)
    REPORT.append(
        f"{step}: SIGKILL {name}: writes recovered {recovered:.2f}s (failed {failed}), "
        f"max gap {gap:.2f}s; rollout done {done:.1f}s after the kill"
    )
    assert recovered < 10.0, REPORT[-1]
    return killed


# ---- the tests ----------------------------------------------------------------------


def test_every_component_points_at_the_load_balancer(cluster: Cluster) -> None:
    """The admin and component kubeconfigs name apilb; every etcd member and apiserver is
    one the cluster runs; both leases are held."""
    lb = f"https://127.0.0.1:{cluster.lb_port}"
    configs = [cluster.data_dir / "kubeconfig", *(cluster.data_dir / "kubeconfigs").glob("*")]
    for path in configs:
        assert load(str(path)).server == lb, path
    names = set(cluster.records())
    for part in ("etcd", "apiserver", "scheduler", "controller"):
        assert {f"{part}-{i}" for i in (1, 2, 3)} <= names
    assert "apilb" in names
    with cluster.api() as api:
        assert lease_holder(api, "kube-scheduler")
        assert lease_holder(api, "kube-controller-manager")


def test_baseline_a_rollout_without_a_kill(cluster: Cluster) -> None:
    """The same rollout and writes with nothing killed: what the figures below compare to."""
    chaos(cluster, "baseline", None)


def test_sigkill_the_etcd_leader_mid_rollout(cluster: Cluster) -> None:
    """etcd elects a new leader (election timeout 1000 ms); the apiservers' clients move
    to a live member when theirs was the one killed."""
    victim = etcd_leader(cluster)
    pid = 0

    def kill(_api: Client) -> tuple[str, int]:
        nonlocal pid
        pid = cluster.kill(victim)
        return victim, pid

    chaos(cluster, "etcd-leader", kill)
    cluster.wait_restarted(victim, pid)
    eventually(lambda: etcd_healthy(cluster), timeout=60, message="every etcd member healthy")


def etcd_member_in_use(cluster: Cluster) -> str:
    """The etcd member most apiservers' gRPC channels are connected to (`ss`)."""
    records = cluster.records()
    apiservers = [int(r["pid"]) for n, r in records.items() if n.startswith("apiserver-")]
    connected = [peer_ports(pid) for pid in apiservers]
    users = {
        name: sum(int(rec["url"].rsplit(":", 1)[1]) in ports for ports in connected)
        for name, rec in records.items()
        if name.startswith("etcd-")
    }
    return max(users, key=lambda name: users[name])


def test_sigkill_the_etcd_member_the_apiservers_use_mid_rollout(cluster: Cluster) -> None:
    """The apiservers' gRPC channels list every member and stay on the one they reached:
    killing that one breaks their connections and etcd watches at once; they reconnect
    to another member and re-open their watches from the last revision."""
    victim = etcd_member_in_use(cluster)
    pid = 0

    def kill(_api: Client) -> tuple[str, int]:
        nonlocal pid
        pid = cluster.kill(victim)
        return victim, pid

    chaos(cluster, "etcd-in-use", kill)
    cluster.wait_restarted(victim, pid)
    eventually(lambda: etcd_healthy(cluster), timeout=60, message="every etcd member healthy")


def test_sigkill_one_apiserver_mid_rollout(cluster: Cluster) -> None:
    """apilb stops sending new connections to it and closes the ones it had (watches
    re-made elsewhere); the report says how soon apilb marked it down."""
    pid, wall = 0, 0.0

    def kill(_api: Client) -> tuple[str, int]:
        nonlocal pid, wall
        wall = time.time()
        pid = cluster.kill("apiserver-2")
        return "apiserver-2", pid

    chaos(cluster, "apiserver", kill)
    url = cluster.records()["apiserver-2"]["url"]
    seen = marked_down(cluster.data_dir / "logs" / "apilb.log", url, wall)
    REPORT.append(f"apiserver: apilb marked {url} down {seen - wall:.2f}s after the SIGKILL")
    assert seen - wall < 1.5, REPORT[-1]
    cluster.wait_restarted("apiserver-2", pid)


def marked_down(log: Path, url: str, since: float) -> float:
    """When apilb's log first says `url` failed at or after `since` (epoch seconds)."""
    for line in log.read_text(errors="replace").splitlines():
        if f"{url}: " not in line or "failed" not in line:
            continue
        at = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f").timestamp()
        if at >= since - 0.01:
            return at
    raise AssertionError(f"apilb never marked {url} down")


def test_sigkill_the_load_balancer_mid_rollout(cluster: Cluster) -> None:
    """apilb is one process per host, as k3s' agent load balancer: every client's
    connections end with it, and the supervisor starts it again (0.2 s back-off);
    clients reconnect and re-watch."""
    pid = 0

    def kill(_api: Client) -> tuple[str, int]:
        nonlocal pid
        pid = cluster.kill("apilb")
        return "apilb", pid

    chaos(cluster, "apilb", kill)
    cluster.wait_restarted("apilb", pid)


@pytest.mark.parametrize(
    ("prefix", "lease"),
    [("scheduler-", "kube-scheduler"), ("controller-", "kube-controller-manager")],
)
def test_sigkill_the_leader_mid_rollout(cluster: Cluster, prefix: str, lease: str) -> None:
    """Another replica takes the Lease once it has not been renewed for its 15 s
    (measured from when the candidate last saw it change), then finishes the rollout."""
    state: dict[str, object] = {}

    def kill(api: Client) -> tuple[str, int]:
        identity = lease_holder(api, lease)
        victim = leader_component(cluster, prefix, lease, identity)
        state.update(identity=identity, victim=victim, pid=cluster.kill(victim))
        state["killed"] = time.monotonic()
        taken = threading.Thread(target=watch_lease, args=(cluster, lease, identity, state))
        taken.start()
        state["thread"] = taken
        return victim, int(state["pid"])  # type: ignore[call-overload]

    chaos(cluster, lease, kill)
    state["thread"].join(60)  # type: ignore[attr-defined]
    took = state.get("took")
    assert isinstance(took, float), f"no new {lease} holder"
    REPORT.append(f"{lease}: a new leader holds the Lease {took:.2f}s after the SIGKILL")
    cluster.wait_restarted(str(state["victim"]), int(state["pid"]))  # type: ignore[call-overload]


def watch_lease(cluster: Cluster, lease: str, old: str, state: dict[str, object]) -> None:
    with cluster.api() as api:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                holder = lease_holder(api, lease)
            except Exception:
                holder = old
            if holder and holder != old:
                state["took"] = time.monotonic() - float(state["killed"])  # type: ignore[arg-type]
                return
            time.sleep(0.1)


CONTROL_PLANE = ("etcd-", "apiserver-", "apilb", "scheduler-", "controller-")


def test_sigkill_the_whole_control_plane_pods_keep_serving(cluster: Cluster) -> None:
    """Every etcd member, apiserver, the balancer, schedulers and controller managers
    die at once; the supervisor brings them back. The Service answers throughout, and
    the API returns with its data (a rollout then completes)."""
    failures: list[float] = []
    probes = 0
    stop = threading.Event()

    def probe() -> None:
        nonlocal probes
        while not stop.is_set():
            probes += 1
            if not serves(cluster.service_url):
                failures.append(time.monotonic())
            stop.wait(0.1)

    prober = threading.Thread(target=probe, daemon=True)
    prober.start()
    old = {
        name: int(rec["pid"])
        for name, rec in cluster.records().items()
        if name.startswith(CONTROL_PLANE)
    }
    try:
        for pid in old.values():
            os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        with cluster.api(timeout=3.0) as api:

            def writes() -> bool:
                api.patch(CONFIGMAPS, "ha-probe", {"data": {"n": "restart"}}, namespace=NS)
                return True

            eventually(writes, timeout=90, interval=0.1, retry_on=(Exception,))
            recovered = time.monotonic() - killed
            for name, pid in old.items():
                cluster.wait_restarted(name, pid)
            generation = start_rollout(api, "after-restart")
            wait_rollout(api, generation)
        time.sleep(1)
    finally:
        stop.set()
        prober.join(10)
    REPORT.append(
        f"whole control plane: SIGKILL {len(old)} processes: writes back {recovered:.2f}s; "
        f"Service probes failed {len(failures)} of {probes}"
    )
    assert not failures, REPORT[-1]
