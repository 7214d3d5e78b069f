"""Issue 16: `minik up --control-planes 3 --hosts 3` — each control plane (etcd member,
apiserver, scheduler, controller manager) in a namespace host of its own, three worker
hosts each with its own engine and an apilb on its 127.0.0.1:6443, kubectl through the
machine's apilb (deploy/hostcontrolplanes.py).

The seed walkthrough runs on it with kubectl (the LoadBalancer answers on every
worker host's address, port 80). Then chaos, twice: in the middle of a rolling update
every process of one control-plane host is SIGKILLed (its etcd member, apiserver,
scheduler, controller manager): first the host whose controller manager leads, then
the host of the etcd raft leader. The rollout completes, the
Service keeps answering (a bounded client loop counts failures), every worker's Node
stays Ready and its kubelet keeps renewing its Lease. The recovery times are printed
(run with -s) beside Kubernetes' defaults: etcd election timeout 1000 ms, leader
election lease 15 s / renew deadline 10 s / retry 2 s.

One cluster for the module, with its own data dir, HOME, node prefix, subnets and ports.
Run under `flock -o /tmp/minik-e2e.lock` (one e2e run at a time on this machine)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from cryptography import x509

from api.resources import DEPLOYMENTS, LEASES, NODES
from client.kubeconfig import load
from client.rest import Client
from deploy import hostcontrolplanes, processes, supervisor
from deploy.hostcontrolplanes import LOCAL_API
from deploy.hostplan import Host, Plan
from tests.support.hachaos import (
    Writer,
    etcd_healthy,
    etcd_leader,
    etcd_status,
    leader_component,
    lease_holder,
    rollout_complete,
)
from tests.support.hostsjoin import assert_hosts_joined_the_kubeadm_way
from tests.support.images import ensure_busybox_image
from tests.support.minikcli import MinikCluster, own_ports
from tests.support.wait import eventually
from tests.support.walkthrough import (
    DEPLOYMENT,
    IMAGES,
    SERVICE,
    Hammer,
    build_images,
    running_ready,
)

pytestmark = pytest.mark.slow

PREFIX = "h25h-"
# outside Docker's default address pools (172.17-31.0.0/16, 192.168.0.0/16): Docker hands
# them out in turn, and a network made meanwhile could take the /16 over this subnet
HOSTS_CIDR = "10.216.123.0/24"
POD_CIDR = "10.123.0.0/16"
NS = "default"
REPORT: list[str] = []
ROLES = ("etcd-", "apiserver-", "scheduler-", "controller-")


@dataclass
class Cluster(MinikCluster):
    plan: Plan | None = None
    members: list[Host] = field(default_factory=list)

    def api(self, timeout: float = 5.0) -> Client:
        return Client(load(str(self.data_dir / "kubeconfig")), timeout=timeout)

    def records(self) -> dict[str, dict]:
        return json.loads((self.data_dir / "pids.json").read_text())

    def workers(self) -> list[Host]:
        assert self.plan is not None
        return list(self.plan.hosts)

    def pods(self, selector: str) -> list[dict]:
        return json.loads(self.kubectl("get", "pods", "-l", selector, "-o", "json"))["items"]

    def wait_restarted(self, name: str, old_pid: int, timeout: float = 60) -> None:
        def back() -> bool:
            rec = self.records()[name]
            return rec.get("state") == "running" and int(rec.get("pid") or 0) not in (0, old_pid)

        eventually(back, timeout=timeout, interval=0.2, message=f"{name} restarted")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    ensure_busybox_image()
    build_images()
    data_dir = tmp_path_factory.mktemp("minik-hosts-ha")
    c = Cluster(data_dir, {**os.environ, "HOME": str(data_dir / "home")})
    started = time.monotonic()
    up = c.minik(
        "up",
        "--control-planes",
        "3",
        "--hosts",
        "3",
        "--node-prefix",
        PREFIX,
        "--hosts-cidr",
        HOSTS_CIDR,
        "--hosts-pod-cidr",
        POD_CIDR,
        *own_ports(),
    )
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        REPORT.append(f"minik up --control-planes 3 --hosts 3: {time.monotonic() - started:.1f}s")
        c.plan = Plan.from_dict(json.loads((data_dir / "hosts.json").read_text())["plan"])
        found = hostcontrolplanes.read_record(data_dir)
        assert found is not None
        c.members = found[0]
        load_images = c.minik("image", "load", *IMAGES)
        assert load_images.returncode == 0, load_images.stderr
        yield c
    finally:
        for line in REPORT:
            print(line)
        c.minik("down")  # again after test_down_leaves_nothing_behind: a no-op then


def netns_inode(pid: int) -> int:
    return os.stat(f"/proc/{pid}/ns/net").st_ino


def lb_urls(cluster: Cluster, port: int = 80) -> list[str]:
    """The LoadBalancer's port on every worker host's address (each host's proxy)."""
    return [f"http://{h.address}:{port}/" for h in cluster.workers()]


# ---- the layout -----------------------------------------------------------------------


def test_each_control_plane_runs_in_a_host_of_its_own(cluster: Cluster) -> None:
    """etcd member, apiserver, scheduler and controller manager i share control-plane
    host i's network namespace; each worker's kubelet, proxy, agent and apilb share
    that worker's; control-plane hosts are no Nodes; the serving certificates name
    every member's address."""
    records = cluster.records()
    for m in cluster.members:
        want = os.stat(m.netns_path).st_ino
        for role in ROLES:
            assert netns_inode(int(records[f"{role}{m.index}"]["pid"])) == want, (role, m)
    for h in cluster.workers():
        want = os.stat(h.netns_path).st_ino
        for role in ("kubelet-", "proxy-", "netagent-", "apilb-"):
            assert netns_inode(int(records[f"{role}{h.index}"]["pid"])) == want, (role, h)
    assert netns_inode(int(records["apilb"]["pid"])) == os.stat("/proc/self/ns/net").st_ino
    nodes = json.loads(cluster.kubectl("get", "nodes", "-o", "json"))["items"]
    assert sorted(n["metadata"]["name"] for n in nodes) == [h.node for h in cluster.workers()]
    addresses = {m.address for m in cluster.members}
    for cert in ("apiserver.crt", "etcd/server.crt"):
        loaded = x509.load_pem_x509_certificate((cluster.data_dir / "pki" / cert).read_bytes())
        san = loaded.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        assert addresses <= {str(ip) for ip in san.get_values_for_type(x509.IPAddress)}, cert
    # the kubelets and proxies dial their host's apilb; kubectl the machine's
    spec = {c.name: c for c in supervisor.read_spec(cluster.data_dir / "components.json")}
    for name in ("kubelet-1", "proxy-1", "netagent-1", "scheduler-1", "controller-1"):
        argv = spec[name].argv
        assert load(argv[argv.index("--kubeconfig") + 1]).server == LOCAL_API, name
    assert load(str(cluster.data_dir / "kubeconfig")).server == spec["apilb"].extra["url"]
    endpoints = json.loads(cluster.kubectl("get", "endpoints", "kubernetes", "-o", "json"))
    assert {a["ip"] for s in endpoints["subsets"] for a in s["addresses"]} <= addresses
    # the aggregation layer: the apiservers in their hosts reach the machine's metrics server
    eventually(
        lambda: cluster.kubectl("get", "--raw", "/apis/metrics.k8s.io/v1beta1/nodes", check=False),
        timeout=90,
        interval=1,
        message="metrics.k8s.io through an apiserver in a control-plane host",
    )


def test_each_worker_joined_through_its_balancer_the_kubeadm_way(cluster: Cluster) -> None:
    """tests/support/hostsjoin.py, with each worker's kubeconfigs naming its own apilb:
    `up`'s bootstrap token, each kubelet's approved CSR and its system:node:<name>
    identity, each proxy the kube-proxy ServiceAccount."""
    nodes = [h.node for h in cluster.workers()]
    assert_hosts_joined_the_kubeadm_way(cluster.data_dir, nodes, LOCAL_API)


def test_seed_walkthrough_with_kubectl(cluster: Cluster) -> None:
    """The article's steps: apply, two pods on two hosts, the LoadBalancer answers,
    scale, roll out with zero failed requests, undo, self-heal after a pod deletion."""
    started = time.monotonic()
    out = cluster.kubectl("apply", "-f", str(DEPLOYMENT), "-f", str(SERVICE))
    assert "deployment.apps/my-webapp created" in out and "service/web-service created" in out
    pods = eventually(
        lambda: (r := running_ready(cluster.pods("app=web"))) and len(r) == 2 and r,
        timeout=90,
        interval=0.5,
        message="2 Running pods",
    )
    assert len({p["spec"]["nodeName"] for p in pods}) == 2, "spread over two hosts"
    urls = lb_urls(cluster)

    def answers() -> set[str]:
        with Hammer(*urls, interval=0.0, limit=10) as hammer:
            eventually(lambda: hammer.ok >= 12, timeout=10, interval=0.1)
        assert not hammer.failures, hammer.failures[:3]
        return {text.split()[2] for text in hammer.texts}  # hello from <pod> (v1)

    served = eventually(
        lambda: len(a := answers()) == 2 and a,
        timeout=60,
        interval=0.5,
        retry_on=(AssertionError,),
        message="both replicas answering on every host",
    )
    assert served == {p["metadata"]["name"] for p in pods}
    cluster.kubectl("scale", "deployment/my-webapp", "--replicas=5")
    eventually(
        lambda: len(running_ready(cluster.pods("app=web"))) == 5,
        timeout=90,
        interval=0.5,
        message="5 ready pods",
    )
    with Hammer(*urls) as hammer:
        cluster.kubectl("set", "image", "deployment/my-webapp", "web-container=my-image:v2")
        cluster.kubectl("rollout", "status", "deployment/my-webapp", "--timeout=180s")
        eventually(lambda: "(v2)" in hammer.bodies, timeout=30, interval=0.5, message="v2")
    REPORT.append(f"walkthrough rollout to v2: {hammer.ok} requests, {len(hammer.failures)} failed")
    assert hammer.failures == [], hammer.failures[:5]
    assert hammer.ok > 20
    cluster.kubectl("rollout", "undo", "deployment/my-webapp")
    cluster.kubectl("rollout", "status", "deployment/my-webapp", "--timeout=180s")
    images = {p["spec"]["containers"][0]["image"] for p in running_ready(cluster.pods("app=web"))}
    assert images == {"my-image:v1"}
    victim = running_ready(cluster.pods("app=web"))[0]["metadata"]["name"]
    cluster.kubectl("delete", "pod", victim)
    eventually(
        lambda: (
            len(r := running_ready(cluster.pods("app=web"))) == 5
            and victim not in {p["metadata"]["name"] for p in r}
        ),
        timeout=90,
        interval=0.5,
        message="a replacement pod",
    )
    REPORT.append(f"walkthrough: {time.monotonic() - started:.1f}s")


# ---- chaos ----------------------------------------------------------------------------


class NodeWatch:
    """Polls every Node's Ready condition and its kubelet's Lease renewTime."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.not_ready: list[str] = []
        self.renewed: dict[str, list[datetime]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        deadline = time.monotonic() + 180
        with self.cluster.api(timeout=3.0) as api:
            while not self._stop.is_set() and time.monotonic() < deadline:
                try:
                    for node in api.list(NODES)["items"]:
                        name = node["metadata"]["name"]
                        ready = [c for c in node["status"]["conditions"] if c["type"] == "Ready"]
                        if not ready or ready[0]["status"] != "True":
                            self.not_ready.append(name)
                        lease = api.get(LEASES, name, "kube-node-lease")
                        at = datetime.fromisoformat(lease["spec"]["renewTime"])
                        seen = self.renewed.setdefault(name, [])
                        if not seen or seen[-1] != at:
                            seen.append(at)
                except Exception:
                    pass  # the API may be briefly away: that is what is measured elsewhere
                self._stop.wait(0.5)

    def __enter__(self) -> NodeWatch:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


def first_leader_change(
    cluster: Cluster, survivors: list[str], old_term: int, since: float
) -> float:
    """Seconds from `since` until a surviving etcd member has a leader in a raft term
    after `old_term` (the killed leader's): an election. The winner may be the killed
    member itself, back from the supervisor before the others' election ends."""
    urls = [cluster.records()[name]["url"] for name in survivors]

    def elected() -> bool:
        for url in urls:
            try:
                status = etcd_status(cluster, url, timeout=1)
            except Exception:
                continue
            # the gateway's JSON leaves zero values out: no "leader" while there is none
            if str(status.get("leader", "0")) != "0" and int(status["raftTerm"]) > old_term:
                return True
        return False

    eventually(elected, timeout=30, interval=0.05, message="a new etcd leader")
    return time.monotonic() - since


def controller_leader_host(cluster: Cluster, api: Client) -> int:
    identity = lease_holder(api, "kube-controller-manager")
    leader = leader_component(cluster, "controller-", "kube-controller-manager", identity)
    return int(leader.rsplit("-", 1)[1])


def sigkill_a_host_mid_rollout(cluster: Cluster, step: str, index: int) -> None:
    """Every process of control-plane host `index` (etcd member, apiserver, scheduler,
    controller manager) dies by SIGKILL while a rollout is under way: the rollout
    completes, the Service answers throughout, the Nodes stay Ready and their kubelets
    renew their Leases; the supervisor brings the host's processes back. Measured when
    it applies: a new etcd leader, another controller manager holding the Lease."""
    assert len(running_ready(cluster.pods("app=web"))) == 5
    with cluster.api() as api:
        identity = lease_holder(api, "kube-controller-manager")
        lease_on_host = controller_leader_host(cluster, api) == index
        etcd_on_host = etcd_leader(cluster) == f"etcd-{index}"
        old_term = int(etcd_status(cluster, cluster.records()[f"etcd-{index}"]["url"])["raftTerm"])
        victims = {f"{r}{index}": int(cluster.records()[f"{r}{index}"]["pid"]) for r in ROLES}
        with Hammer(*lb_urls(cluster), limit=150) as hammer, NodeWatch(cluster) as nodes:
            # "it answered before the kill" needs a first answer before the rollout starts:
            # a rollout can be under way within 0.1 s, before the hammer's first connection
            eventually(lambda: hammer.ok > 0, timeout=30, interval=0.05, message="a first answer")
            with Writer(cluster.api, NS) as writer:
                patch = {"spec": {"template": {"metadata": {"annotations": {"h25h/step": step}}}}}
                changed = api.patch(DEPLOYMENTS, "my-webapp", patch, namespace=NS)
                generation = int(changed["metadata"]["generation"])

                def underway() -> bool:
                    status = api.get(DEPLOYMENTS, "my-webapp", NS).get("status") or {}
                    return 0 < int(status.get("updatedReplicas") or 0) < 5

                eventually(underway, timeout=60, interval=0.1, retry_on=(Exception,))
                wall = datetime.now(UTC)
                for pid in victims.values():
                    os.kill(pid, signal.SIGKILL)
                killed = time.monotonic()
                survivors = [f"etcd-{m.index}" for m in cluster.members if m.index != index]
                etcd_took = (
                    first_leader_change(cluster, survivors, old_term, killed)
                    if etcd_on_host
                    else None
                )
                took_lease = (
                    eventually(
                        lambda: (
                            lease_holder(api, "kube-controller-manager") not in ("", identity)
                            and time.monotonic() - killed
                        ),
                        timeout=60,
                        interval=0.1,
                        retry_on=(Exception,),
                        message="another controller manager takes the Lease",
                    )
                    if lease_on_host
                    else None
                )
                eventually(
                    lambda: rollout_complete(api, "my-webapp", NS, generation),
                    timeout=120,
                    interval=0.5,
                    retry_on=(Exception,),
                    message="the rollout completes",
                )
                rolled_out = time.monotonic()
                rollout_took = rolled_out - killed
                # every kubelet renews its Lease after the kill (through its host's apilb)
                eventually(
                    lambda: all(
                        any(t > wall for t in nodes.renewed.get(h.node, []))
                        for h in cluster.workers()
                    ),
                    timeout=60,
                    interval=0.2,
                    message="every kubelet renews its Lease after the kill",
                )
                # the slowest kubelet's first renewTime after the kill (its 10 s period)
                renew_took = max(
                    (min(t for t in nodes.renewed[h.node] if t > wall) - wall).total_seconds()
                    for h in cluster.workers()
                )
                time.sleep(1)
            recovered, gap, failed_writes = writer.summary(killed)
            why_writes_failed = writer.failures_since(killed)
        for name, pid in victims.items():
            cluster.wait_restarted(name, pid)
        eventually(lambda: etcd_healthy(cluster), timeout=60, message="every etcd member healthy")
        back = time.monotonic() - killed
    etcd_line = (
        f"a new etcd leader {etcd_took:.2f}s after the kill (election timeout 1 s)"
        if etcd_took is not None
        else "the etcd leader was on another host (no election)"
    )
    lease_line = (
        f"kube-controller-manager Lease taken over {took_lease:.2f}s after (defaults lease "
        "15 s / renew 10 s / retry 2 s)"
        if took_lease is not None
        else "the controller manager leader was on another host"
    )
    REPORT.append(
        f"chaos {step}: SIGKILL {', '.join(victims)} (host {PREFIX}cp{index}) mid rollout: "
        f"{etcd_line}; {lease_line}; writes via the machine's apilb recovered "
        f"{recovered:.2f}s ({failed_writes} failed, max gap {gap:.2f}s); rollout done "
        f"{rollout_took:.1f}s after the kill; every kubelet renewed its Lease within "
        f"{renew_took:.1f}s (period 10 s); Service requests {hammer.ok} ok, {len(hammer.failures)} "
        f"failed; Nodes NotReady seen {len(nodes.not_ready)} times; the host's processes "
        f"back and etcd healthy {back:.1f}s after; failed writes: {why_writes_failed or 'none'}"
    )
    assert hammer.failures == [], hammer.failures[:5]
    # it answered before the kill, while the rollout went on without the host, and after
    assert hammer.answers_between(0, killed) > 0, REPORT[-1]
    assert hammer.answers_between(killed, rolled_out) > 0, REPORT[-1]
    assert hammer.answers_between(rolled_out, time.monotonic()) > 0, REPORT[-1]
    assert nodes.not_ready == []
    assert recovered < 10.0, REPORT[-1]


def test_sigkill_the_controller_leaders_host_mid_rollout(cluster: Cluster) -> None:
    """The controller manager that drives the rollout dies with its host: another
    host's takes the Lease once it expires, and finishes the rollout."""
    with cluster.api() as api:
        index = controller_leader_host(cluster, api)
    sigkill_a_host_mid_rollout(cluster, "controller-leader-host", index)


def test_sigkill_the_etcd_leaders_host_mid_rollout(cluster: Cluster) -> None:
    """The raft leader dies with its host: the two others elect one (etcd's election
    timeout 1000 ms) and the apiservers left keep serving from them."""
    sigkill_a_host_mid_rollout(cluster, "etcd-leader-host", int(etcd_leader(cluster)[-1]))


def test_up_again_after_the_supervisor_died_adopts_everything(cluster: Cluster) -> None:
    records = cluster.records()
    before = {n: r["pid"] for n, r in records.items() if n != "supervisor"}
    os.kill(int(records["supervisor"]["pid"]), signal.SIGKILL)
    up = cluster.minik("up", "--node-prefix", PREFIX)
    assert up.returncode == 0, up.stdout + up.stderr
    assert "repaired by starting: supervisor\n" in up.stdout
    after = cluster.records()
    assert {n: after[n]["pid"] for n in before} == before


def test_down_leaves_nothing_behind(cluster: Cluster) -> None:
    plan = cluster.plan
    assert plan is not None
    pids = [int(r["pid"]) for r in cluster.records().values()]
    down = cluster.minik("down")
    assert down.returncode == 0, down.stderr
    names = (plan.switch, *(h.netns for h in plan.hosts), *(m.netns for m in cluster.members))
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    for name in names:
        assert name not in namespaces.split()
    link = subprocess.run(["ip", "link", "show", plan.gateway_link], capture_output=True)
    assert link.returncode != 0
    routes = subprocess.run(["ip", "route"], capture_output=True, text=True).stdout
    assert plan.hosts_cidr not in routes and POD_CIDR.rsplit(".", 2)[0] not in routes
    assert not (cluster.data_dir / hostcontrolplanes.RECORD).exists()
    assert not any(processes.pid_alive(pid) for pid in pids)
