"""`minik up --hosts 2` (issue 16): each node an isolated host on this machine — a
network namespace with its own Docker engine, kubelet and proxy. A Deployment's two
replicas land one per host, each container in its own host's engine; pods reach each
other across hosts and through a ClusterIP Service; `minik image load` makes a freshly
built image runnable on every host; `minik down` leaves no namespace, link, route or
dockerd behind.

One cluster for the module, with its own data dir, node prefix, subnets and ports.
Run under `flock -o /tmp/minik-e2e.lock` (one e2e run at a time on this machine)."""

from __future__ import annotations

import datetime
import json
import os
import secrets
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import docker
import docker.errors
import pytest
from cryptography import x509

from api.resources import CERTIFICATESIGNINGREQUESTS, LEASES
from client.kubeconfig import load
from client.rest import Client
from deploy import hostjoin, processes
from deploy.hostplan import Plan
from tests.support.hostsjoin import assert_hosts_joined_the_kubeadm_way
from tests.support.images import ensure_busybox_image
from tests.support.minikcli import MinikCluster, own_ports
from tests.support.wait import eventually

pytestmark = pytest.mark.slow

PREFIX = "h16e-"
# outside Docker's default address pools (172.17-31.0.0/16, 192.168.0.0/16): Docker hands
# them out in turn, and a network made meanwhile could take the /16 over this subnet
HOSTS_CIDR = "10.216.116.0/24"
POD_CIDR = "10.246.0.0/16"


@dataclass
class Cluster(MinikCluster):
    plan: Plan | None = None

    def pods(self, selector: str) -> list[dict]:
        return json.loads(self.kubectl("get", "pods", "-l", selector, "-o", "json"))["items"]

    def host_of(self, node: str):
        assert self.plan is not None
        return next(h for h in self.plan.hosts if h.node == node)


WEB = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: minik/busybox:latest
        imagePullPolicy: Never
        command: [sh, -c, "mkdir -p /w && hostname > /w/index.html && exec httpd -f -p 8080 -h /w"]
        readinessProbe: {httpGet: {path: /, port: 8080}, periodSeconds: 1}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    ensure_busybox_image()
    data_dir = tmp_path_factory.mktemp("minik-hosts")
    env = {**os.environ, "HOME": str(data_dir / "home")}
    c = Cluster(data_dir, env)
    up = c.minik(
        "up",
        "--hosts",
        "2",
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
        c.plan = Plan.from_dict(json.loads((data_dir / "hosts.json").read_text())["plan"])
        yield c
    finally:
        c.minik("down")  # again after test_down_leaves_nothing_behind: a no-op then


def test_both_nodes_are_ready_each_on_its_own_host(cluster: Cluster) -> None:
    assert cluster.plan is not None
    nodes = json.loads(cluster.kubectl("get", "nodes", "-o", "json"))["items"]
    addresses = {
        n["metadata"]["name"]: {a["type"]: a["address"] for a in n["status"]["addresses"]}
        for n in nodes
    }
    for host in cluster.plan.hosts:
        assert addresses[host.node]["InternalIP"] == host.address
        assert Path(host.netns_path).exists()
        info = docker.DockerClient(base_url=host.docker_host).info()
        assert info["DockerRootDir"] == host.data_root
    ready = {
        n["metadata"]["name"]
        for n in nodes
        if any(c["type"] == "Ready" and c["status"] == "True" for c in n["status"]["conditions"])
    }
    assert ready == {h.node for h in cluster.plan.hosts}


def test_each_host_joined_with_a_bootstrap_token_the_kubeadm_way(cluster: Cluster) -> None:
    """`up` made a bootstrap token; each host's kubelet TLS-bootstrapped with it (an
    approved kube-apiserver-client-kubelet CSR of system:bootstrap:<id>) and is
    system:node:<name>; each proxy is the kube-proxy ServiceAccount
    (tests/support/hostsjoin.py)."""
    assert cluster.plan is not None
    assert_hosts_joined_the_kubeadm_way(cluster.data_dir, [h.node for h in cluster.plan.hosts])


def test_up_refuses_a_subnet_the_machine_already_routes_and_makes_nothing(
    cluster: Cluster, tmp_path: Path
) -> None:
    """The subnet is this module's own cluster's switch, routed on the machine while it
    runs (a route of another cluster could go away meanwhile); the pod range is a free
    one, so the route is what `up` refuses."""
    routes = json.loads(subprocess.run(["ip", "-j", "route"], capture_output=True).stdout)
    assert HOSTS_CIDR in {r.get("dst") for r in routes}, routes
    taken = cidr = HOSTS_CIDR  # the very subnet a route of the machine's covers
    c = Cluster(tmp_path, {**os.environ, "HOME": str(tmp_path / "home")})
    up = c.minik(
        "up",
        "--hosts",
        "1",
        "--node-prefix",
        "h16r-",
        "--hosts-cidr",
        cidr,
        "--hosts-pod-cidr",
        "10.147.0.0/16",
        "--api-port",
        str(processes.free_port()),
    )
    assert up.returncode == 1
    assert f"overlaps the route to {taken}" in up.stderr and "--hosts-cidr" in up.stderr
    assert not Path("/var/run/netns/h16r-1").exists()
    assert not Path("/var/run/netns/h16r-switch").exists()
    assert not (tmp_path / "hosts.json").exists()
    assert not (tmp_path / "pids.json").exists()


@pytest.fixture(scope="module")
def web(cluster: Cluster) -> list[dict]:
    cluster.kubectl("apply", "-f", "-", stdin=WEB)
    cluster.kubectl("rollout", "status", "deployment/web", "--timeout=90s")
    return cluster.pods("app=web")


def test_the_replicas_spread_one_per_host_each_in_its_hosts_engine(
    cluster: Cluster, web: list[dict]
) -> None:
    """minik's scheduler spreads a ReplicaSet's pods over nodes (OwnerSpread, the node
    half of Kubernetes' default topology spreading); each container runs in the engine
    of the host its node is, and in no other."""
    assert cluster.plan is not None
    assert {p["spec"]["nodeName"] for p in web} == {h.node for h in cluster.plan.hosts}
    for pod in web:
        host = cluster.host_of(pod["spec"]["nodeName"])
        assert pod["status"]["podIP"].startswith(host.pod_cidr.rsplit(".", 2)[0] + ".")
        for other in cluster.plan.hosts:
            engine = docker.DockerClient(base_url=other.docker_host)
            names = {
                c.labels.get("io.minik.pod.name")
                for c in engine.containers.list(
                    ignore_removed=True, filters={"label": f"io.minik.node={other.node}"}
                )
            }
            assert (pod["metadata"]["name"] in names) == (other.node == host.node)
    machine = docker.from_env().containers.list(
        ignore_removed=True, filters={"label": f"io.minik.node={PREFIX}1"}
    )
    assert machine == []


def test_pods_reach_each_other_across_hosts(cluster: Cluster, web: list[dict]) -> None:
    """Through the network agents' host-gw routes: in each host, the other host's pod
    subnet (its Node's spec.podCIDR) via that host's address, marked as the agent's."""
    assert cluster.plan is not None
    nodes = json.loads(cluster.kubectl("get", "nodes", "-o", "json"))["items"]
    pod_cidrs = {n["metadata"]["name"]: n["spec"]["podCIDR"] for n in nodes}
    for host in cluster.plan.hosts:
        assert pod_cidrs[host.node] == host.pod_cidr
        ip = ["nsenter", f"--net={host.netns_path}", "--", "ip", "-j", "route", "show"]
        peers = {(p.pod_cidr, p.address) for p in cluster.plan.hosts if p.node != host.node}

        def routed(ip: list[str] = ip, peers: set = peers) -> bool:
            shown = subprocess.run([*ip, "proto", "161"], capture_output=True, text=True)
            return {(r["dst"], r.get("gateway")) for r in json.loads(shown.stdout or "[]")} == peers

        eventually(routed, message=f"the agent's routes in {host.node}")
    for src, dst in ((web[0], web[1]), (web[1], web[0])):
        body = cluster.kubectl(
            "exec",
            src["metadata"]["name"],
            "--",
            "wget",
            "-q",
            "-O-",
            f"http://{dst['status']['podIP']}:8080/",
        )
        assert body.strip() == dst["metadata"]["name"]


def test_a_cluster_ip_service_answers_from_inside_a_pod_with_both_hosts_backends(
    cluster: Cluster, web: list[dict]
) -> None:
    """From a pod: the Service's name (cluster DNS from its host's proxy) and its
    ClusterIP (held on its host's lo) reach the backends on both hosts."""
    names = {p["metadata"]["name"] for p in web}
    seen: set[str] = set()

    def both_backends() -> bool:
        body = cluster.kubectl(
            "exec", web[0]["metadata"]["name"], "--", "wget", "-q", "-O-", "http://web/"
        )
        seen.add(body.strip())
        return seen == names

    eventually(both_backends, timeout=30, message="both backends answer through the Service")


def build_fresh_image(word: str) -> str:
    """An image only this machine's engine has: minik/busybox plus /word."""
    tag = f"minik-e2e/hosts-fresh:{secrets.token_hex(4)}"
    build = subprocess.run(
        ["docker", "build", "-q", "-t", tag, "-"],
        input=f"FROM minik/busybox:latest\nRUN echo {word} > /word\n",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert build.returncode == 0, build.stderr
    return tag


def run_on(cluster: Cluster, pod: str, image: str, pull_policy: str, node: str) -> None:
    cluster.kubectl(
        "run",
        pod,
        f"--image={image}",
        f"--image-pull-policy={pull_policy}",
        "--restart=Never",
        f"--overrides={json.dumps({'spec': {'nodeName': node}})}",
        "--command",
        "--",
        "cat",
        "/word",
    )


def succeeded(cluster: Cluster, pod: str) -> bool:
    phase = cluster.kubectl("get", "pod", pod, "-o", "jsonpath={.status.phase}")
    assert phase != "Failed"
    return phase == "Succeeded"


def test_image_load_makes_a_local_image_runnable_on_every_host(cluster: Cluster) -> None:
    assert cluster.plan is not None
    word = secrets.token_hex(6)
    tag = build_fresh_image(word)
    try:
        for host in cluster.plan.hosts:
            with pytest.raises(docker.errors.ImageNotFound):
                docker.DockerClient(base_url=host.docker_host).images.get(tag)
        loaded = cluster.minik("image", "load", tag, timeout=120)
        assert loaded.returncode == 0, loaded.stderr
        for host in cluster.plan.hosts:
            pod = f"fresh-{host.index}"
            run_on(cluster, pod, tag, "Never", host.node)
            eventually(partial(succeeded, cluster, pod), timeout=60, message=f"{pod} ran")
            assert cluster.kubectl("logs", pod).strip() == word
    finally:
        docker.from_env().images.remove(tag, force=True)


def test_a_pod_pulls_from_the_cluster_registry_on_the_node_that_runs_it(
    cluster: Cluster,
) -> None:
    """imagePullPolicy Always: the image is pushed into the cluster-local registry
    (through host 1's engine) and pulled by host 2's kubelet into host 2's engine."""
    assert cluster.plan is not None
    if "registry" not in json.loads((cluster.data_dir / "pids.json").read_text()):
        pytest.skip("no docker-registry binary (Debian's docker-registry) on PATH at up")
    word = secrets.token_hex(6)
    tag = build_fresh_image(word)
    try:
        pushed = cluster.minik("image", "push", tag, timeout=120)
        assert pushed.returncode == 0, pushed.stderr
        name = pushed.stdout.split()[-1]
        assert name == f"{cluster.plan.gateway}:5000/{tag}"
    finally:
        docker.from_env().images.remove(tag, force=True)
    host = cluster.plan.hosts[1]
    engine = docker.DockerClient(base_url=host.docker_host)
    with pytest.raises(docker.errors.ImageNotFound):
        engine.images.get(name)
    run_on(cluster, "pulled", name, "Always", host.node)
    eventually(partial(succeeded, cluster, "pulled"), timeout=60, message="pulled ran")
    assert cluster.kubectl("logs", "pulled").strip() == word
    assert engine.images.get(name) is not None  # pulled into the node's own engine


def test_a_joined_kubelet_restarts_with_the_certificate_it_was_issued(cluster: Cluster) -> None:
    """As Kubernetes' kubelets: a restarted kubelet-1 uses kubelet-client-current.pem
    (its bootstrap token is not needed again: no new CSR) and with it renews its
    node Lease after the restart."""
    assert cluster.plan is not None
    node = cluster.plan.hosts[0].node
    current = hostjoin.cert_dir(cluster.data_dir, node) / "kubelet-client-current.pem"
    serial = x509.load_pem_x509_certificate(current.read_bytes()).serial_number
    api = Client(load(str(cluster.data_dir / "kubeconfig")))

    def csrs() -> set[str]:
        return {c["metadata"]["name"] for c in api.list(CERTIFICATESIGNINGREQUESTS)["items"]}

    def renewed() -> bool:
        lease = api.get(LEASES, node, namespace="kube-node-lease")
        return datetime.datetime.fromisoformat(lease["spec"]["renewTime"]) > since

    with api:
        before = csrs()
        restarted = cluster.minik("restart", "kubelet-1")
        assert restarted.returncode == 0, restarted.stdout + restarted.stderr
        since = datetime.datetime.now(datetime.UTC)
        eventually(renewed, timeout=60, message=f"{node}'s Lease renewed by the restarted kubelet")
        assert csrs() == before
    assert x509.load_pem_x509_certificate(current.read_bytes()).serial_number == serial


def test_up_again_after_the_supervisor_died_adopts_the_hosts_processes(
    cluster: Cluster,
) -> None:
    """The kubelets, proxies and network agents run as `nsenter … -- python -m …`: once
    running they are the python command, which a new supervisor must still recognise
    as its own."""
    assert cluster.plan is not None
    records = json.loads((cluster.data_dir / "pids.json").read_text())
    inside = {
        n: r["pid"] for n, r in records.items() if n.startswith(("kubelet-", "proxy-", "netagent-"))
    }
    assert len(inside) == 6
    dockerds = [Path(h.docker_pidfile).read_text() for h in cluster.plan.hosts]
    os.kill(int(records["supervisor"]["pid"]), signal.SIGKILL)
    up = cluster.minik("up", "--hosts", "2", "--node-prefix", PREFIX)
    assert up.returncode == 0, up.stdout + up.stderr
    assert "repaired by starting: supervisor\n" in up.stdout
    after = json.loads((cluster.data_dir / "pids.json").read_text())
    assert {n: after[n]["pid"] for n in inside} == inside
    assert [Path(h.docker_pidfile).read_text() for h in cluster.plan.hosts] == dockerds


def test_down_leaves_nothing_behind(cluster: Cluster) -> None:
    plan = cluster.plan
    assert plan is not None
    dockerds = [int(Path(h.docker_pidfile).read_text()) for h in plan.hosts]
    assert all(processes.pid_alive(pid) for pid in dockerds)
    down = cluster.minik("down")
    assert down.returncode == 0, down.stderr
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    for name in (plan.switch, *(h.netns for h in plan.hosts)):
        assert name not in namespaces.split()
        assert not Path(f"/var/run/netns/{name}").exists()
    link = subprocess.run(["ip", "link", "show", plan.gateway_link], capture_output=True)
    assert link.returncode != 0
    routes = subprocess.run(["ip", "route"], capture_output=True, text=True).stdout
    assert plan.hosts_cidr not in routes
    assert not any(h.pod_cidr in routes for h in plan.hosts)
    assert not any(processes.pid_alive(pid) for pid in dockerds)
    for host in plan.hosts:
        assert not Path(host.dir).exists() and not Path(host.run_dir).exists()
    mounts = Path("/proc/self/mountinfo").read_text()
    assert str(cluster.data_dir) not in mounts
    assert str(Path(plan.hosts[0].run_dir).parent) not in mounts
    assert not (cluster.data_dir / "hosts.json").exists()
