"""Link-cut chaos on `minik up --hosts 3` (issue 16): a worker host's link to the
cluster's switch goes down in the middle of traffic, then comes back.

A Deployment of 4 busybox httpd replicas behind a NodePort Service; clients on the
machine request it through host 1's NodePort (host 1 stays up) all along. The link
of the other host holding the most replicas is cut on the switch side (`ip link set
hN down` in the switch namespace: its cable pulled). Then, in order:

- its Node goes Unknown (no lease renewed) after the node grace period and is tainted
  `node.kubernetes.io/unreachable:NoExecute`; its pods are marked not ready and leave
  the Service's endpoints;
- after the pods' toleration its pods are evicted, and the ReplicaSet's replacements
  run on the other hosts; meanwhile the cut host's engine still runs the old
  containers (its kubelet cannot hear of the deletion, as in Kubernetes);
- the Service keeps answering: only requests in flight at the cut, or made while the
  cut host's endpoints were still listed, may fail;
- the link comes back: the Node is Ready again, its kubelet removes the containers
  of the pods deleted while it was away, and there are exactly `replicas` pods, all
  Running, none duplicated, in the API and in the engines.

Small --node-grace-period and --toleration-seconds keep the test bounded; Kubernetes'
defaults are 50 s (kube-controller-manager --node-monitor-grace-period; 40 s before
v1.32, kubernetes#126287) and 300 s (the DefaultTolerationSeconds admission plugin's
not-ready/unreachable tolerations). The timeline is printed (`pytest -s -n 0`) beside
those defaults.

One cluster for the module, with its own data dir, HOME, node prefix, subnets and
ports. Run under `flock -o /tmp/minik-e2e.lock` (one e2e run at a time)."""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import docker
import pytest

from api.resources import ENDPOINTS, NODES, PODS, SERVICES
from client.rest import ALL_NAMESPACES, Client
from deploy.hostplan import Host, Plan
from tests.support.images import ensure_busybox_image
from tests.support.minikcli import MinikCluster, own_ports
from tests.support.wait import eventually

pytestmark = pytest.mark.slow

PREFIX = "h25c-"
# outside Docker's default address pools (172.17-31.0.0/16, 192.168.0.0/16): Docker hands
# them out in turn, and a network made meanwhile could take the /16 over this subnet
HOSTS_CIDR = "10.216.122.0/24"
POD_CIDR = "10.122.0.0/16"
REPLICAS = 4
GRACE = 15  # --node-grace-period; Kubernetes' --node-monitor-grace-period: 50 s (1.32+)
TOLERATION = 5  # --toleration-seconds; Kubernetes' DefaultTolerationSeconds: 300 s
LEASE_RENEW = 10  # the kubelet renews its Lease every 10 s (Kubernetes' 40 s lease / 4)
MONITOR = 5  # the controller's --node-monitor-period (Kubernetes' default: 5 s)
K8S_DEFAULTS = {"grace": 40, "toleration": 300}
REQUEST_TIMEOUT = 3.0
CLIENTS = 2
UNREACHABLE = "node.kubernetes.io/unreachable"

WEB = f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: web}}
spec:
  replicas: {REPLICAS}
  selector: {{matchLabels: {{app: web}}}}
  template:
    metadata: {{labels: {{app: web}}}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: minik/busybox:latest
        imagePullPolicy: Never
        command: [sh, -c, "mkdir -p /w && hostname > /w/index.html && exec httpd -f -p 8080 -h /w"]
        readinessProbe: {{httpGet: {{path: /, port: 8080}}, periodSeconds: 1}}
---
apiVersion: v1
kind: Service
metadata: {{name: web}}
spec:
  type: NodePort
  selector: {{app: web}}
  ports: [{{port: 80, targetPort: 8080}}]
"""


@dataclass
class Cluster(MinikCluster):
    plan: Plan | None = None
    api: Client | None = None

    def hosts(self) -> tuple[Host, ...]:
        assert self.plan is not None
        return self.plan.hosts

    def host_of(self, node: str) -> Host:
        return next(h for h in self.hosts() if h.node == node)

    def pods(self) -> list[dict]:
        assert self.api is not None
        return self.api.list(PODS, "default", label_selector="app=web")["items"]

    def switch(self, host: Host, state: str) -> None:
        """The host's port on the cluster's switch up or down (deploy/hostnet made it)."""
        assert self.plan is not None
        argv = ["ip", "-n", self.plan.switch, "link", "set", "dev", host.port, state]
        subprocess.run(argv, check=True, capture_output=True, timeout=10)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    ensure_busybox_image()
    data_dir = tmp_path_factory.mktemp("minik-hosts-chaos")
    env = {**os.environ, "HOME": str(data_dir / "home")}
    c = Cluster(data_dir, env)
    up = c.minik(
        "up",
        "--hosts", "3",
        "--node-prefix", PREFIX,
        "--hosts-cidr", HOSTS_CIDR,
        "--hosts-pod-cidr", POD_CIDR,
        "--node-grace-period", str(GRACE),
        "--toleration-seconds", str(TOLERATION),
        *own_ports(),
    )  # fmt: skip
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        c.plan = Plan.from_dict(json.loads((data_dir / "hosts.json").read_text())["plan"])
        with Client.from_kubeconfig(str(data_dir / "kubeconfig")) as api:
            c.api = api
            yield c
    finally:
        if c.plan is not None:
            for host in c.plan.hosts:  # a failed test may have left a link down
                subprocess.run(["ip", "-n", c.plan.switch, "link", "set", host.port, "up"])
        down = c.minik("down")
        print(down.stdout, down.stderr)


# ---- the clients ----------------------------------------------------------------------


@dataclass
class Request:
    start: float
    end: float
    answer: str | None  # the pod's hostname, or None on failure
    error: str = ""


@dataclass
class Traffic:
    """Clients on the machine, each a loop of GETs on a fresh connection each (as a
    new user would come), bounded by a count and a time limit."""

    address: str
    port: int
    limit: int = 4000  # requests per client
    seconds: float = 200.0
    requests: list[Request] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    threads: list[threading.Thread] = field(default_factory=list)

    def start(self, clients: int = CLIENTS) -> None:
        for _ in range(clients):
            t = threading.Thread(target=self._run, daemon=True)
            t.start()
            self.threads.append(t)

    def _run(self) -> None:
        until = time.monotonic() + self.seconds
        for _ in range(self.limit):
            if self.stop.is_set() or time.monotonic() > until:
                return
            self.requests.append(self.once())
            time.sleep(0.05)

    def once(self) -> Request:
        start = time.monotonic()
        conn = http.client.HTTPConnection(self.address, self.port, timeout=REQUEST_TIMEOUT)
        try:
            conn.request("GET", "/", headers={"Connection": "close"})
            resp = conn.getresponse()
            body = resp.read().decode().strip()
            if resp.status != 200:
                return Request(start, time.monotonic(), None, f"HTTP {resp.status}")
            return Request(start, time.monotonic(), body)
        except OSError as err:
            return Request(start, time.monotonic(), None, f"{type(err).__name__}: {err}")
        finally:
            conn.close()

    def finish(self) -> list[Request]:
        self.stop.set()
        for t in self.threads:
            t.join(timeout=REQUEST_TIMEOUT + 2)
        return sorted(self.requests, key=lambda r: r.start)


# ---- the timeline -----------------------------------------------------------------------


@dataclass
class Snapshot:
    node: dict[str, Any]  # the cut host's Node
    pods: list[dict[str, Any]]
    endpoints: dict[str, Any]


class Recorder(threading.Thread):
    """Looks at the cluster every 0.2 s and notes when each named condition first
    held: the timeline of the test, at one clock (time.monotonic)."""

    def __init__(self, cluster: Cluster, node: str) -> None:
        super().__init__(daemon=True)
        self.cluster, self.node = cluster, node
        self.checks: dict[str, Callable[[Snapshot], bool]] = {}
        self.marks: dict[str, float] = {}
        self.seen: dict[str, Snapshot] = {}  # the snapshot each mark first held on
        self.deletes: dict[str, float] = {}  # pod uid → when its delete was asked
        self.halt = threading.Event()
        self.lock = threading.Lock()
        self.last: Snapshot | None = None

    def expect(self, name: str, check: Callable[[Snapshot], bool]) -> None:
        with self.lock:
            self.checks[name] = check

    def run(self) -> None:
        with Client.from_kubeconfig(str(self.cluster.data_dir / "kubeconfig")) as api:
            while not self.halt.wait(0.2):
                now = time.monotonic()
                snap = Snapshot(
                    api.get(NODES, self.node),
                    api.list(PODS, "default", label_selector="app=web")["items"],
                    api.get(ENDPOINTS, "web", "default"),
                )
                self.last = snap
                for pod in snap.pods:
                    if pod["metadata"].get("deletionTimestamp"):
                        self.deletes.setdefault(pod["metadata"]["uid"], deletion_asked(pod))
                with self.lock:
                    for name, check in self.checks.items():
                        if name not in self.marks and check(snap):
                            self.marks[name] = now
                            self.seen[name] = snap

    def wait(self, name: str, timeout: float) -> float:
        eventually(lambda: name in self.marks, timeout=timeout, message=f"{name}; {self.last}")
        return self.marks[name]


def ready_status(node: dict) -> str:
    conditions = (node.get("status") or {}).get("conditions") or []
    return next((c["status"] for c in conditions if c["type"] == "Ready"), "")


def taints(node: dict) -> set[tuple[str, str]]:
    return {(t["key"], t["effect"]) for t in (node.get("spec") or {}).get("taints") or []}


def running_ready(pod: dict) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or []
    ready = any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
    return ready and pod["status"].get("phase") == "Running"


def server_time(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def taint_added(node: dict) -> float:
    taint = next(
        t for t in node["spec"]["taints"] if (t["key"], t["effect"]) == (UNREACHABLE, "NoExecute")
    )
    return server_time(taint["timeAdded"])


def deletion_asked(pod: dict) -> float:
    """When the delete was asked: the deletionTimestamp is that time plus the grace."""
    md = pod["metadata"]
    return server_time(md["deletionTimestamp"]) - md["deletionGracePeriodSeconds"]


def endpoint_ips(endpoints: dict) -> set[str]:
    return {a["ip"] for s in endpoints.get("subsets") or [] for a in s.get("addresses") or []}


def engine_pods(host: Host) -> dict[str, str]:
    """The minik containers in the host's own engine, running or not: pod uid → pod
    name."""
    engine = docker.DockerClient(base_url=host.docker_host)
    try:
        listed = engine.containers.list(
            all=True, ignore_removed=True, filters={"label": f"io.minik.node={host.node}"}
        )
        return {c.labels["io.minik.pod.uid"]: c.labels["io.minik.pod.name"] for c in listed}
    finally:
        engine.close()


def engine_running(host: Host) -> set[str]:
    engine = docker.DockerClient(base_url=host.docker_host)
    try:
        listed = engine.containers.list(
            ignore_removed=True, filters={"label": f"io.minik.node={host.node}"}
        )
        return {c.labels["io.minik.pod.uid"] for c in listed}
    finally:
        engine.close()


# ---- the scenario -----------------------------------------------------------------------


@dataclass
class Chaos:
    victim: Host
    before: list[dict]  # the pods before the cut
    marks: dict[str, float]
    requests: list[Request]
    after: list[dict]  # the pods at the end
    strays_while_cut: set[str]  # old pods' uids still running in the victim's engine
    taint_added: float  # the unreachable taint's timeAdded (server clock, whole seconds)
    evictions: list[float]  # when each evicted pod's delete was asked (server clock, ditto)

    def since(self, a: str, b: str) -> float:
        return self.marks[b] - self.marks[a]


@pytest.fixture(scope="module")
def chaos(cluster: Cluster) -> Chaos:
    """Runs the whole scenario once, recording; the tests below judge the record."""
    cluster.kubectl("apply", "-f", "-", stdin=WEB)
    cluster.kubectl("rollout", "status", "deployment/web", "--timeout=120s")
    before = [p for p in cluster.pods() if running_ready(p)]
    assert len(before) == REPLICAS
    per_node: dict[str, int] = {}
    for pod in before:
        per_node[pod["spec"]["nodeName"]] = per_node.get(pod["spec"]["nodeName"], 0) + 1
    entry = cluster.hosts()[0]  # clients come in through host 1, which stays up
    candidates = [h for h in cluster.hosts()[1:] if per_node.get(h.node)]
    assert candidates, f"no replica off host 1: {per_node}"
    victim = max(candidates, key=lambda h: (per_node[h.node], h.index))
    victim_pods = {p["metadata"]["uid"]: p for p in before if p["spec"]["nodeName"] == victim.node}
    victim_ips = {p["status"]["podIP"] for p in victim_pods.values()}

    assert cluster.api is not None
    svc = cluster.api.get(SERVICES, "web", "default")
    traffic = Traffic(entry.address, svc["spec"]["ports"][0]["nodePort"])
    names = {p["metadata"]["name"] for p in before}
    seen: set[str] = set()

    def every_replica_answers() -> bool:
        answer = traffic.once().answer
        assert answer is not None
        seen.add(answer)
        return seen == names

    eventually(every_replica_answers, timeout=30, message="every replica answers")

    rec = Recorder(cluster, victim.node)
    rec.expect("unknown", lambda s: ready_status(s.node) != "True")
    rec.expect("tainted", lambda s: (UNREACHABLE, "NoExecute") in taints(s.node))
    rec.expect("out of endpoints", lambda s: not (endpoint_ips(s.endpoints) & victim_ips))

    def evicted(s: Snapshot) -> bool:
        now = {p["metadata"]["uid"]: p for p in s.pods}
        return all(
            uid not in now or now[uid]["metadata"].get("deletionTimestamp") for uid in victim_pods
        )

    def replaced(s: Snapshot) -> bool:
        fresh = [
            p
            for p in s.pods
            if p["metadata"]["uid"] not in victim_pods
            and not p["metadata"].get("deletionTimestamp")
            and running_ready(p)
        ]
        return len(fresh) == REPLICAS and all(p["spec"]["nodeName"] != victim.node for p in fresh)

    rec.expect("evicted", evicted)
    rec.expect("replaced", replaced)
    rec.start()
    traffic.start()
    try:
        time.sleep(2)  # a baseline of answers before the cut
        rec.marks["cut"] = time.monotonic()
        cluster.switch(victim, "down")
        rec.wait("unknown", GRACE + LEASE_RENEW + MONITOR + 10)
        rec.wait("evicted", TOLERATION + 20)
        rec.wait("replaced", 60)
        rec.wait("out of endpoints", 5)
        # the partitioned kubelet never heard: the old containers still run there
        strays = engine_running(victim) & set(victim_pods)
        time.sleep(2)  # answers from the replacements alone
        rec.marks["link back"] = time.monotonic()
        cluster.switch(victim, "up")
        rec.expect("ready again", lambda s: ready_status(s.node) == "True")
        rec.wait("ready again", LEASE_RENEW + 40)

        def converged() -> bool:
            pods = cluster.pods()
            assert len(pods) == REPLICAS, [p["metadata"]["name"] for p in pods]
            assert all(
                running_ready(p) and not p["metadata"].get("deletionTimestamp") for p in pods
            )
            assert cluster.api is not None  # every pod of the cluster, not just web's
            live = {p["metadata"]["uid"] for p in cluster.api.list(PODS, ALL_NAMESPACES)["items"]}
            for host in cluster.hosts():
                stray = {u: n for u, n in engine_pods(host).items() if u not in live}
                assert not stray, f"{host.node}'s engine still holds {stray}"
            return True

        eventually(converged, timeout=60, message="converged after the link returned")
        rec.marks["converged"] = time.monotonic()
        time.sleep(3)  # and it stays so: no duplicate comes back
        after = cluster.pods()
    finally:
        requests = traffic.finish()
        rec.halt.set()
        rec.join(timeout=5)
        cluster.switch(victim, "up")
    chaos = Chaos(
        victim,
        before,
        dict(rec.marks),
        requests,
        after,
        strays,
        taint_added(rec.seen["tainted"].node),
        [at for uid, at in rec.deletes.items() if uid in victim_pods],
    )
    print_timeline(chaos)
    return chaos


def failed_windows(chaos: Chaos) -> tuple[list[Request], list[Request], list[Request]]:
    """Failures in flight at the cut; failures begun while the cut host's endpoints
    were still listed; and any other failure (which must not exist)."""
    cut, gone = chaos.marks["cut"], chaos.marks["out of endpoints"]
    failed = [r for r in chaos.requests if r.answer is None]
    in_flight = [r for r in failed if r.start <= cut <= r.end]
    listed = [r for r in failed if cut < r.start <= gone]
    other = [r for r in failed if r not in in_flight and r not in listed]
    return in_flight, listed, other


def print_timeline(chaos: Chaos) -> None:
    """The timeline on stdout (`pytest -s -n 0`), and appended to the file
    $MINIK_CHAOS_TIMELINE names, if any."""
    lines = timeline(chaos)
    print("\n".join(lines))
    path = os.environ.get("MINIK_CHAOS_TIMELINE")
    if path:
        with open(path, "a") as out:
            out.write("\n".join(lines) + "\n")


def timeline(chaos: Chaos) -> list[str]:
    m = chaos.marks
    rows = [
        ("cut → Node Unknown (detect)", "unknown", f"{GRACE} s grace", "40 s grace, 50 s ≥1.32"),
        ("cut → pods out of endpoints", "out of endpoints", "at detection", "at detection"),
        ("cut → unreachable NoExecute taint", "tainted", "≤ 5 s after", "at detection"),
        ("cut → pods evicted", "evicted", f"taint + {TOLERATION} s", "taint + 300 s"),
        ("cut → replacements Ready", "replaced", "", ""),
    ]
    cut, back = m["cut"], m.get("link back", float("inf"))
    during = [r for r in chaos.requests if cut < r.start < back]
    slowest = max((r.end - r.start for r in chaos.requests if r.answer), default=0.0)
    lines = [
        f"link-cut chaos: victim {chaos.victim.node}; {len(chaos.requests)} requests, "
        f"{len(during)} while cut, {sum(r.answer is None for r in chaos.requests)} failed; "
        f"slowest answer {slowest:.2f} s"
    ]
    for label, mark, ours, theirs in rows:
        if mark in m:
            lines.append(
                f"  {label:36s} {m[mark] - cut:6.1f} s   (here {ours}; Kubernetes {theirs})"
            )
    for label, mark in (
        ("link back → Node Ready", "ready again"),
        ("link back → converged (no strays)", "converged"),
    ):
        if mark in m:
            lines.append(f"  {label:36s} {m[mark] - back:6.1f} s")
    in_flight, listed, other = failed_windows(chaos)
    lines.append(
        f"  failed requests: {len(in_flight)} in flight at the cut, {len(listed)} while the "
        f"cut host's endpoints were listed, {len(other)} other"
    )
    for r in in_flight + listed + other:
        lines.append(f"    at cut{r.start - cut:+.2f} s for {r.end - r.start:.2f} s: {r.error}")
    return lines


# ---- the judgement ----------------------------------------------------------------------


def test_the_cut_node_goes_unknown_after_the_grace_period(chaos: Chaos) -> None:
    """The lease was renewed at most LEASE_RENEW before the cut; the controller
    notices when the grace after the last renewal ends."""
    detect = chaos.since("cut", "unknown")
    assert GRACE - LEASE_RENEW - 1 <= detect <= GRACE + MONITOR + 3
    assert chaos.since("unknown", "tainted") <= MONITOR + 2  # the NoExecute pass's period
    assert chaos.since("unknown", "out of endpoints") <= 3


def test_its_pods_are_evicted_after_the_toleration_and_replaced_elsewhere(chaos: Chaos) -> None:
    """Not before the toleration: judged on the server's clock, since timeAdded is
    whole seconds (a deadline up to 1 s early against the recorder's clock, whose
    0.2 s polls add their own lag). Not much after: judged on the recorder's."""
    assert chaos.evictions, "no evicted pod was seen terminating"
    assert all(at >= chaos.taint_added + TOLERATION for at in chaos.evictions), (
        chaos.taint_added,
        chaos.evictions,
    )
    assert chaos.since("tainted", "evicted") <= TOLERATION + 5
    assert chaos.since("evicted", "replaced") <= 20
    assert chaos.strays_while_cut, "the partitioned host kept no container running"


def test_the_service_kept_answering_from_the_other_hosts(chaos: Chaos) -> None:
    cut, back = chaos.marks["cut"], chaos.marks["link back"]
    during = [r for r in chaos.requests if cut < r.start < back]
    assert len(during) >= 50, len(during)
    assert sum(r.answer is not None for r in during) >= 0.9 * len(during)
    in_flight, _listed, other = failed_windows(chaos)
    assert not other, other
    assert len(in_flight) <= CLIENTS
    victim_names = {
        p["metadata"]["name"] for p in chaos.before if p["spec"]["nodeName"] == chaos.victim.node
    }
    late = [r for r in chaos.requests if r.start > chaos.marks["out of endpoints"]]
    assert not {r.answer for r in late} & victim_names


def test_after_the_link_returns_no_pod_is_duplicated(chaos: Chaos) -> None:
    assert chaos.since("link back", "ready again") <= LEASE_RENEW + 40
    assert len(chaos.after) == REPLICAS
    assert all(running_ready(p) for p in chaos.after)
    assert len({p["metadata"]["name"] for p in chaos.after}) == REPLICAS
    old = {p["metadata"]["uid"] for p in chaos.before if p["spec"]["nodeName"] == chaos.victim.node}
    assert not old & {p["metadata"]["uid"] for p in chaos.after}
    assert not old & set(engine_pods(chaos.victim))
