"""The seed walkthrough on `minik up --hosts 3` (issue 16's "Done when"), with the pod
network as Kubernetes users build it: the controller's node IPAM gives each Node its
spec.podCIDR (`--allocate-node-cidrs --cluster-cidr`), each host's kubelet builds its
pod network from it, and the hosts' network agents route the other Nodes' podCIDRs,
host-gw or vxlan (`--pod-network-backend`); the machine (ingress controller, this
test) reaches pods through its own `--no-node` agent.

Two clusters, one after the other (a module fixture parametrized by backend, each
with 3 hosts): on both, pod-to-pod across hosts, pod-to-ClusterIP, cluster DNS,
NodePort on every host and the machine to pods, with kubectl; on host-gw the whole
walkthrough (tests/support/walkthrough.py: image load, apply, LoadBalancer on every
host, ingress, scale, a rolling update with no failed request, undo, self-healing
after a pod deletion and a hung kubelet). `minik down` leaves nothing behind.

Own subnets, prefix, data dirs and ports. Run under `flock -o /tmp/minik-e2e.lock`."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from deploy import processes
from deploy.hostplan import Host, Plan
from tests.support.hostsjoin import assert_hosts_joined_the_kubeadm_way
from tests.support.minikcli import MinikCluster, own_ports
from tests.support.wait import eventually
from tests.support.walkthrough import (
    DEPLOYMENT,
    IMAGES,
    SERVICE,
    Hammer,
    answers,
    build_images,
    running_ready,
)

pytestmark = pytest.mark.slow

PREFIX = "h25n-"
# outside Docker's default address pools (172.17-31.0.0/16, 192.168.0.0/16): Docker hands
# them out in turn, and a network made meanwhile could take the /16 over this subnet
HOSTS_CIDR = "10.216.121.0/24"
CLUSTER_CIDR = "10.121.0.0/16"
HOSTS = 3
BIG = 1 << 20  # bytes: a transfer of many full-size segments (the VXLAN MTU is 1450)


@dataclass
class Cluster(MinikCluster):
    backend: str = ""
    plan: Plan | None = None
    ingress_port: int = 0

    @property
    def hosts(self) -> tuple[Host, ...]:
        assert self.plan is not None
        return self.plan.hosts

    def pods(self, selector: str = "app=web") -> list[dict]:
        return json.loads(self.kubectl("get", "pods", "-l", selector, "-o", "json"))["items"]

    def nodes(self) -> dict[str, dict]:
        items = json.loads(self.kubectl("get", "nodes", "-o", "json"))["items"]
        return {n["metadata"]["name"]: n for n in items}

    def exec(self, pod: str, *argv: str) -> str:
        return self.kubectl("exec", pod, "--", *argv)

    def pids(self) -> dict[str, dict]:
        return json.loads((self.data_dir / "pids.json").read_text())


def agent_routes(netns: str = "") -> list[dict]:
    """The network agent's routes (proto 161) in a host, or on the machine."""
    argv = ["ip", *(["-n", netns] if netns else []), "-j", "route", "show", "proto", "161"]
    return json.loads(subprocess.run(argv, capture_output=True, text=True).stdout or "[]")


@pytest.fixture(scope="module")
def images() -> None:
    build_images()


@pytest.fixture(scope="module", params=["host-gw", "vxlan"])
def cluster(
    request: pytest.FixtureRequest, images: None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    backend = request.param
    data_dir = tmp_path_factory.mktemp(f"minik-hosts-{backend}")
    c = Cluster(data_dir, {**os.environ, "HOME": str(data_dir / "home")}, backend)
    c.ingress_port = processes.free_port()
    up = c.minik(
        "up",
        "--hosts",
        str(HOSTS),
        "--allocate-node-cidrs",
        "--cluster-cidr",
        CLUSTER_CIDR,
        "--pod-network-backend",
        backend,
        "--node-prefix",
        PREFIX,
        "--hosts-cidr",
        HOSTS_CIDR,
        "--node-grace-period",
        "15",
        "--toleration-seconds",
        "5",
        *own_ports(c.ingress_port),
    )
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        c.plan = Plan.from_dict(json.loads((data_dir / "hosts.json").read_text())["plan"])
        loaded = c.minik("image", "load", *IMAGES, timeout=180)  # as `kind load docker-image`
        assert loaded.returncode == 0, loaded.stderr
        yield c
    finally:
        c.minik("down")  # again after test_down_leaves_nothing_behind: a no-op then


def test_each_node_has_its_podcidr_from_node_ipam_and_the_agents_route_them(
    cluster: Cluster,
) -> None:
    """Distinct /24s of the cluster CIDR on the Nodes (the controller's, not minik's
    plan: the plan has none); in each host a route per peer podCIDR, via the peer's
    address (host-gw) or its VTEP on minik.1 (vxlan); on the machine one per Node via
    its host, whatever the backend (it shares the hosts' segment)."""

    def allocated() -> dict[str, dict] | None:
        nodes = cluster.nodes()
        return nodes if all(n["spec"].get("podCIDR") for n in nodes.values()) else None

    nodes = eventually(allocated, timeout=30, message="every Node has a podCIDR")
    cidrs = {name: n["spec"]["podCIDR"] for name, n in nodes.items()}
    assert set(cidrs) == {h.node for h in cluster.hosts} and len(set(cidrs.values())) == HOSTS
    for cidr in cidrs.values():
        net = ipaddress.ip_network(cidr)
        assert net.prefixlen == 24 and net.subnet_of(ipaddress.ip_network(CLUSTER_CIDR))
    assert all(h.pod_cidr == "" for h in cluster.hosts)
    vxlan = cluster.backend == "vxlan"
    for host in cluster.hosts:
        annotations = nodes[host.node]["metadata"].get("annotations") or {}
        assert annotations.get("netagent.minik.io/backend-type") == cluster.backend
        peers = [p for p in cluster.hosts if p.node != host.node]
        want = {
            (
                cidrs[p.node],
                str(ipaddress.ip_network(cidrs[p.node]).network_address) if vxlan else p.address,
                "minik.1" if vxlan else "eth0",
            )
            for p in peers
        }

        def routed(netns: str = host.netns, want: set = want) -> bool:
            got = {(r["dst"], r.get("gateway"), r.get("dev")) for r in agent_routes(netns)}
            return got == want

        eventually(routed, timeout=30, message=f"the agent's routes in {host.node}")
    machine = {(r["dst"], r.get("gateway")) for r in agent_routes()}
    want_machine = {(cidrs[h.node], h.address) for h in cluster.hosts}
    eventually(
        lambda: want_machine <= {(r["dst"], r.get("gateway")) for r in agent_routes()},
        timeout=30,
        message=f"the machine's routes to every Node's podCIDR (has {machine})",
    )


def test_each_host_joined_with_a_bootstrap_token_the_kubeadm_way(cluster: Cluster) -> None:
    """tests/support/hostsjoin.py: `up`'s bootstrap token, each kubelet's approved CSR
    and its system:node:<name> identity, each proxy the kube-proxy ServiceAccount."""
    assert_hosts_joined_the_kubeadm_way(cluster.data_dir, [h.node for h in cluster.hosts])


@pytest.fixture
def web(cluster: Cluster) -> Iterator[list[dict]]:
    """The walkthrough's Deployment and Service, scaled to one replica per host."""
    cluster.kubectl("apply", "-f", str(DEPLOYMENT), "-f", str(SERVICE))
    cluster.kubectl("scale", "deployment/my-webapp", f"--replicas={HOSTS}")
    cluster.kubectl("rollout", "status", "deployment/my-webapp", "--timeout=90s")
    pods = eventually(
        lambda: len(r := running_ready(cluster.pods())) == HOSTS and r,
        timeout=30,
        message=f"{HOSTS} ready pods",
    )
    yield pods
    cluster.kubectl("delete", "-f", str(DEPLOYMENT), "-f", str(SERVICE), "--wait=true")
    eventually(lambda: cluster.pods() == [], timeout=60, message="the web pods gone")


def test_pods_clusterip_dns_and_nodeports_work_across_hosts(
    cluster: Cluster, web: list[dict]
) -> None:
    names = {p["metadata"]["name"] for p in web}
    by_node = {p["spec"]["nodeName"]: p for p in web}
    assert set(by_node) == {h.node for h in cluster.hosts}, "one replica per host"
    for host in cluster.hosts:  # every pod's address is in its own Node's podCIDR
        pod = by_node[host.node]
        cidr = cluster.nodes()[host.node]["spec"]["podCIDR"]
        assert ipaddress.ip_address(pod["status"]["podIP"]) in ipaddress.ip_network(cidr)

    # pod to pod, every pair across hosts, and a 1 MiB transfer (full-size segments)
    first = web[0]["metadata"]["name"]
    cluster.exec(first, "dd", "if=/dev/zero", "of=/www/big", "bs=1024", f"count={BIG >> 10}")
    for src in web:
        for dst in web:
            if src is dst:
                continue
            body = cluster.exec(
                src["metadata"]["name"],
                "wget",
                "-q",
                "-O-",
                f"http://{dst['status']['podIP']}/",
            )
            assert body.split()[2] == dst["metadata"]["name"]
        if src["metadata"]["name"] != first:
            size = cluster.exec(
                src["metadata"]["name"],
                "sh",
                "-c",
                f"wget -q -O- http://{web[0]['status']['podIP']}/big | wc -c",
            )
            assert int(size) == BIG

    # the machine to every pod (its agent's routes), a big answer too
    for pod in web:
        r = httpx.get(f"http://{pod['status']['podIP']}/", timeout=5)
        assert r.text.split()[2] == pod["metadata"]["name"]
    assert len(httpx.get(f"http://{web[0]['status']['podIP']}/big", timeout=10).content) == BIG

    # a pod to the ClusterIP, and to the Service by its names (cluster DNS of its host)
    svc = json.loads(cluster.kubectl("get", "svc", "web-service", "-o", "json"))
    cluster_ip, node_port = svc["spec"]["clusterIP"], svc["spec"]["ports"][0]["nodePort"]
    for pod in web:
        seen: set[str] = set()
        name = pod["metadata"]["name"]

        def all_backends(name: str = name, seen: set[str] = seen) -> bool:
            body = cluster.exec(name, "wget", "-q", "-O-", f"http://{cluster_ip}/")
            seen.add(body.split()[2])
            return seen == names

        eventually(all_backends, timeout=30, interval=0, message=f"{name} to the ClusterIP")
        for url in ("http://web-service/", "http://web-service.default.svc.cluster.local/"):
            assert cluster.exec(name, "wget", "-q", "-O-", url).split()[2] in names
    fqdn = "web-service.default.svc.cluster.local"  # its A record (exit status: AAAA's too)
    lookup = cluster.kubectl("exec", first, "--", "nslookup", fqdn, check=False)
    assert re.search(
        rf"^Name:\s*{re.escape(fqdn)}\.?\s*\nAddress:\s*{cluster_ip}\s*$", lookup, re.M
    )

    # the NodePort on every host, each reaching the pods of all hosts
    for host in cluster.hosts:
        seen_here: set[str] = set()

        def through(host: Host = host, seen: set[str] = seen_here) -> bool:
            seen.add(httpx.get(f"http://{host.address}:{node_port}/", timeout=5).text.split()[2])
            return seen == names

        eventually(
            through,
            timeout=30,
            interval=0,
            message=f"NodePort on {host.node}",
            retry_on=(httpx.HTTPError,),
        )


def test_the_seed_walkthrough_with_kubectl(cluster: Cluster) -> None:
    if cluster.backend != "host-gw":
        pytest.skip("the whole walkthrough once (host-gw); vxlan: the pod network checks")
    hosts = cluster.hosts
    out = cluster.kubectl("apply", "-f", str(DEPLOYMENT))
    assert "deployment.apps/my-webapp created" in out
    cluster.kubectl("apply", "-f", str(SERVICE))
    pods = eventually(
        lambda: len(r := running_ready(cluster.pods())) == 2 and r,
        timeout=90,
        interval=0.5,
        message="2 Running pods",
    )
    assert len({p["spec"]["nodeName"] for p in pods}) == 2, "spread over two hosts"

    # the LoadBalancer: every host's proxy answers on its address (as k3s' ServiceLB)
    def external_ips() -> set[str]:
        svc = json.loads(cluster.kubectl("get", "svc", "web-service", "-o", "json"))
        return {i["ip"] for i in svc["status"].get("loadBalancer", {}).get("ingress") or []}

    addresses = {h.address for h in hosts}
    eventually(lambda: external_ips() == addresses, timeout=60, message="EXTERNAL-IPs")
    assert "LoadBalancer" in cluster.kubectl("get", "services")
    served = {p["metadata"]["name"] for p in pods}
    for host in hosts:
        url = f"http://{host.address}:80/"
        eventually(
            lambda url=url: answers(url) == served,
            timeout=60,
            interval=0.5,
            message=f"both replicas through {url}",
            retry_on=(httpx.HTTPError,),
        )

    # beside it, the ingress controller on the machine reaches the pods on the hosts
    cluster.kubectl("create", "ingress", "web", "--rule=web.local/*=web-service:80")
    ingress = f"http://127.0.0.1:{cluster.ingress_port}/"

    def through_the_ingress() -> str:
        r = httpx.get(ingress, headers={"Host": "web.local"}, timeout=5)
        assert r.status_code == 200, (r.status_code, r.text)
        return r.text

    assert (
        eventually(
            through_the_ingress, timeout=60, interval=0.5, retry_on=(httpx.HTTPError,)
        ).split()[2]
        in served
    )
    cluster.kubectl("delete", "ingress", "web")

    cluster.kubectl("scale", "deployment/my-webapp", "--replicas=5")
    eventually(
        lambda: len(running_ready(cluster.pods())) == 5,
        timeout=90,
        interval=0.5,
        message="5 ready pods",
    )
    with Hammer(f"http://{hosts[0].address}:80/") as hammer:
        cluster.kubectl("set", "image", "deployment/my-webapp", "web-container=my-image:v2")
        cluster.kubectl("rollout", "status", "deployment/my-webapp", "--timeout=180s")
        eventually(
            lambda: "(v2)" in hammer.bodies, timeout=30, interval=0.5, message="v2 answering"
        )
    assert hammer.failures == [], hammer.failures[:5]
    assert hammer.ok > 20
    cluster.kubectl("rollout", "undo", "deployment/my-webapp")
    cluster.kubectl("rollout", "status", "deployment/my-webapp", "--timeout=180s")
    ready = running_ready(cluster.pods())
    assert {p["spec"]["containers"][0]["image"] for p in ready} == {"my-image:v1"}
    assert len({p["spec"]["nodeName"] for p in ready}) == HOSTS

    victim = ready[0]["metadata"]["name"]
    cluster.kubectl("delete", "pod", victim)
    eventually(
        lambda: (
            len(r := running_ready(cluster.pods())) == 5
            and victim not in {p["metadata"]["name"] for p in r}
        ),
        timeout=90,
        interval=0.5,
        message="a replacement pod",
    )

    # a hung host: its kubelet frozen (alive to the supervisor, silent to the apiserver)
    last = hosts[-1].node
    kubelet = int(cluster.pids()[f"kubelet-{HOSTS}"]["pid"])
    os.kill(kubelet, signal.SIGSTOP)
    try:
        eventually(
            lambda: (
                len(r := running_ready(cluster.pods())) == 5
                and last not in {p["spec"]["nodeName"] for p in r}
            ),
            timeout=150,
            interval=0.5,
            message=f"all pods off {last}",
        )
        assert len(answers(f"http://{hosts[0].address}:80/", 10)) >= 2
    finally:
        os.kill(kubelet, signal.SIGCONT)
    cluster.kubectl("delete", "-f", str(SERVICE), "-f", str(DEPLOYMENT))
    eventually(lambda: cluster.pods() == [], timeout=90, interval=0.5, message="pods gone")


def test_down_leaves_nothing_behind(cluster: Cluster) -> None:
    plan = cluster.plan
    assert plan is not None
    down = cluster.minik("down")
    assert down.returncode == 0, down.stderr
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    for name in (plan.switch, *(h.netns for h in plan.hosts)):
        assert name not in namespaces.split()
    assert subprocess.run(["ip", "link", "show", plan.gateway_link], capture_output=True).returncode
    routes = subprocess.run(["ip", "route"], capture_output=True, text=True).stdout
    assert "10.121." not in routes and "10.216.121." not in routes
    assert not (cluster.data_dir / "hosts.json").exists()
