"""Services with real pods (issue 5), on a `minik up --nodes 2` cluster: real Docker
pods, kubelets, scheduler, controller manager (endpoints) and the proxy.

- a pod reaches a Service by its DNS names and by its ClusterIP;
- the host reaches ClusterIP, NodePort and LoadBalancer on loopback;
- new connections spread over the replicas, `sessionAffinity: ClientIP` sticks;
- a client looping over a Service while its pods are deleted and replaced sees
  (almost) no failures;
- UDP goes through a Service;
- DNS of a headless Service answers the ready pods' IPs; other names go to the
  upstream resolver;
- pods see the service environment variables of Services older than themselves.

Traffic stays on this machine: the proxy's upstream resolver is a fake one of this
module on loopback, and nothing is sent to a ClusterIP (from the host or from a
pod) before the proxy holds it on `lo` — the pods' resolver 10.96.0.10 included.

busybox's `nc` has no UDP, so the UDP backend (and the pods' UDP client) are two
small scripts for this host's `perl` (Debian's perl-base), copied into an image
with the shared libraries it needs; they use only perl's built-in socket calls.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import docker
import httpx
import pytest

from client.kubeconfig import load as load_kubeconfig
from deploy import processes
from tests.support.fakedns import UPSTREAM_ANSWER, FakeUpstreamDns
from tests.support.images import BUSYBOX_IMAGE, build_image, ensure_busybox_image
from tests.support.wait import eventually

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="the proxy adds addresses to lo"),
]

VENV_BIN = Path(sys.executable).parent
MINIK = str(VENV_BIN / "minik")
NODES = ("minik-node-1", "minik-node-2")
NODE_IP = "127.0.0.1"
CLUSTER_DNS = "10.96.0.10"
LO_LABEL = "lo:minik"
PROXY_LOCK = "/run/minik-proxy.lock"  # the proxy's default: one proxy per host
PERL_IMAGE = "minik-test/perl:1"
UDP_PORT = 9000


# ---- waiting and small helpers ----------------------------------------------------------

# What a check meets while a service is still being wired: "not yet".
NETWORK_ERRORS = (OSError, httpx.HTTPError)


def lo_addresses() -> dict[str, str]:
    """/32 addresses on lo → their label."""
    out = subprocess.run(
        ["ip", "-o", "-4", "addr", "show", "dev", "lo"], capture_output=True, text=True
    ).stdout
    found = {}
    for line in out.splitlines():
        words = line.split("\\", 1)[0].split()
        address, _, prefix = words[words.index("inet") + 1].partition("/")
        if prefix == "32":
            found[address] = words[-1]
    return found


def held_by_proxy(ip: str) -> bool:
    return lo_addresses().get(ip) == LO_LABEL


def free_port() -> int:
    """A port free on every address (LoadBalancer ports listen on the node address)."""
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        return s.getsockname()[1]


def is_ready(pod: dict) -> bool:
    return (
        (pod.get("status") or {}).get("phase") == "Running"
        and not pod["metadata"].get("deletionTimestamp")
        and any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in (pod.get("status") or {}).get("conditions") or []
        )
    )


def http_get(url: str) -> str:
    """One request on a fresh connection (no keep-alive), the body stripped."""
    r = httpx.get(url, timeout=5, headers={"Connection": "close"})
    r.raise_for_status()
    return r.text.strip()


def udp_ask(ip: str, port: int, payload: bytes, timeout: float = 3.0) -> str:
    """One datagram from a fresh socket (so a fresh proxy session), the reply decoded."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(payload, (ip, port))
        return s.recv(2048).decode().strip()


# ---- images -------------------------------------------------------------------------------

UDP_ECHO = rb"""# UDP echo: every datagram comes back prefixed with this pod's name.
my ($name, $port) = @ARGV;
$SIG{TERM} = sub { exit 0 };
socket(my $s, 2, 2, 17) or die "socket: $!";            # AF_INET, SOCK_DGRAM, UDP
bind($s, pack("S n N x8", 2, $port, 0)) or die "bind: $!";
$| = 1;
print "listening on udp port $port\n";
while (1) {
    my $peer = recv($s, my $data, 2048, 0);
    next unless defined $peer;
    send($s, "$name $data", 0, $peer);
}
"""

UDP_ASK = rb"""# UDP client: COUNT datagrams to IP PORT, each from a fresh socket; prints replies.
my ($ip, $port, $count) = @ARGV;
my $to = pack("S n C4 x8", 2, $port, split(/\./, $ip));
for my $i (1 .. ($count || 1)) {
    socket(my $s, 2, 2, 17) or die "socket: $!";
    send($s, "ping$i", 0, $to) or die "send: $!";
    my $in = "";
    vec($in, fileno($s), 1) = 1;
    if (select(my $ready = $in, undef, undef, 3)) {
        recv($s, my $reply, 2048, 0);
        print "$reply\n";
    } else {
        print "TIMEOUT\n";
    }
    close($s);
}
"""


def shared_libraries(binary: str) -> list[str]:
    out = subprocess.run(["ldd", binary], capture_output=True, text=True, check=True).stdout
    found = []
    for line in out.splitlines():
        words = line.split()
        path = words[2] if "=>" in words and len(words) > 2 else words[0]
        if path.startswith("/"):
            found.append(path)
    return found


def ensure_perl_image() -> str:
    """busybox plus this host's perl and its shared libraries (no modules needed)."""
    perl = shutil.which("perl") or "/usr/bin/perl"
    if not Path(perl).exists():
        pytest.skip("no perl on this host for the UDP backend (busybox nc has no UDP)")
    files = {"rootfs/usr/bin/perl": Path(perl).read_bytes()}
    for lib in shared_libraries(perl):
        files[f"rootfs{lib}"] = Path(lib).read_bytes()  # follows symlinks
    files["rootfs/udp-echo.pl"] = UDP_ECHO
    files["rootfs/udp-ask.pl"] = UDP_ASK
    return build_image(PERL_IMAGE, "COPY rootfs/ /\nENV PATH=/bin:/usr/bin\n", files)


# ---- the cluster --------------------------------------------------------------------------


@dataclass
class Cluster:
    data_dir: Path
    api: httpx.Client
    upstream: FakeUpstreamDns
    namespace: str
    services: dict[str, dict] = field(default_factory=dict)
    client_pod: str = "client"
    lb_port: int = field(default_factory=free_port)  # web-lb's port on the node address

    def path(self, kind: str, name: str = "") -> str:
        base = f"/api/v1/namespaces/{self.namespace}/{kind}"
        return f"{base}/{name}" if name else base

    def create(self, kind: str, obj: dict, group: str = "/api/v1") -> dict:
        r = self.api.post(f"{group}/namespaces/{self.namespace}/{kind}", json=obj)
        assert r.status_code == 201, r.text
        return r.json()

    def get(self, kind: str, name: str) -> dict:
        r = self.api.get(self.path(kind, name))
        assert r.status_code == 200, r.text
        return r.json()

    def pods(self, selector: str) -> list[dict]:
        r = self.api.get(self.path("pods"), params={"labelSelector": selector})
        assert r.status_code == 200, r.text
        return r.json()["items"]

    def ready_pods(self, selector: str = "app=web") -> list[dict]:
        return [p for p in self.pods(selector) if is_ready(p)]

    def exec(self, pod: str, *command: str, timeout: float = 60) -> tuple[int, str]:
        """Run a command in a pod through the apiserver (`pods/exec`)."""
        r = self.api.post(
            self.path("pods", pod) + "/exec",
            params=[("command", c) for c in command],
            timeout=timeout,
        )
        assert r.status_code == 200, f"exec {command}: {r.status_code} {r.text}"
        return int(r.headers.get("X-Exit-Code", "0")), r.text

    def sh(self, script: str, timeout: float = 60) -> str:
        """A shell script in the client pod; must succeed."""
        code, out = self.exec(self.client_pod, "sh", "-c", script, timeout=timeout)
        assert code == 0, f"{script!r} exited {code}:\n{out}"
        return out

    def cluster_ip(self, service: str) -> str:
        return self.services[service]["spec"]["clusterIP"]

    def fqdn(self, service: str) -> str:
        return f"{service}.{self.namespace}.svc.cluster.local"


def minik(*args: str, env: dict[str, str], timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([MINIK, *args], capture_output=True, text=True, timeout=timeout, env=env)


def node_containers() -> list[dict]:
    client = docker.from_env()
    return [
        c
        for node in NODES
        for c in client.api.containers(all=True, filters={"label": f"io.minik.node={node}"})
    ]


def web_pod_spec() -> dict:
    """busybox httpd answering with the pod's name; stops at once on SIGTERM."""
    script = (
        "mkdir -p /www; hostname > /www/index.html; "
        "httpd -f -p 80 -h /www & pid=$!; trap 'kill $pid; exit 0' TERM; wait $pid"
    )
    return {
        "terminationGracePeriodSeconds": 5,
        "containers": [
            {
                "name": "web",
                "image": BUSYBOX_IMAGE,
                "command": ["sh", "-c", script],
                "ports": [{"name": "http", "containerPort": 80}],
                "readinessProbe": {
                    "httpGet": {"path": "/", "port": 80},
                    "periodSeconds": 1,
                    "failureThreshold": 1,
                },
            }
        ],
    }


def deployment(name: str, labels: dict[str, str], replicas: int, pod_spec: dict) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": pod_spec},
        },
    }


def service(name: str, selector: dict[str, str], ports: list[dict], **spec: Any) -> dict:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": selector, "ports": ports, **spec},
    }


HTTP = [{"name": "http", "port": 80, "targetPort": "http"}]


def create_workloads(c: Cluster) -> None:
    """Services first (the client pod then sees them as environment variables), then
    the pods; everything is ready and every ClusterIP held on lo when this returns."""
    web = {"app": "web"}
    specs = [
        service("web", web, HTTP),
        service("web-headless", web, HTTP, clusterIP="None"),
        service("web-sticky", web, HTTP, sessionAffinity="ClientIP"),
        service("web-nodeport", web, HTTP, type="NodePort"),
        service(
            "web-lb",
            web,
            [{"name": "http", "port": c.lb_port, "targetPort": 80}],
            type="LoadBalancer",
        ),
        service(
            "udp-echo",
            {"app": "udp-echo"},
            [{"name": "echo", "port": UDP_PORT, "protocol": "UDP", "targetPort": UDP_PORT}],
        ),
    ]
    for spec in specs:
        created = c.create("services", spec)
        c.services[created["metadata"]["name"]] = created
    for name in c.services:
        ip = c.cluster_ip(name)
        if ip != "None":
            eventually(
                lambda ip=ip: held_by_proxy(ip),
                timeout=30,
                interval=0.2,
                message=f"{name}'s ClusterIP {ip} on lo",
                retry_on=NETWORK_ERRORS,
            )

    c.create("deployments", deployment("web", web, 3, web_pod_spec()), group="/apis/apps/v1")
    echo = {
        "terminationGracePeriodSeconds": 2,
        "containers": [
            {
                "name": "echo",
                "image": PERL_IMAGE,
                "command": ["sh", "-c", f'exec perl /udp-echo.pl "$(hostname)" {UDP_PORT}'],
                "ports": [{"containerPort": UDP_PORT, "protocol": "UDP"}],
            }
        ],
    }
    c.create(
        "deployments", deployment("udp-echo", {"app": "udp-echo"}, 2, echo), group="/apis/apps/v1"
    )
    # A pod the web Services select that never becomes ready: in no answer.
    unready = web_pod_spec()
    unready["containers"][0]["readinessProbe"]["httpGet"]["port"] = 81
    c.create(
        "pods",
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "web-unready", "labels": web},
            "spec": unready,
        },
    )
    c.create(
        "pods",
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": c.client_pod, "labels": {"app": "client"}},
            "spec": {
                "terminationGracePeriodSeconds": 1,
                "containers": [
                    {
                        "name": "client",
                        "image": PERL_IMAGE,
                        "command": ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done"],
                    }
                ],
            },
        },
    )
    eventually(
        lambda: len(c.ready_pods()) == 3,
        timeout=90,
        interval=0.2,
        message="3 ready web pods",
        retry_on=NETWORK_ERRORS,
    )
    eventually(
        lambda: len(c.ready_pods("app=udp-echo")) == 2,
        timeout=60,
        interval=0.2,
        message="2 ready udp-echo pods",
        retry_on=NETWORK_ERRORS,
    )
    eventually(
        lambda: is_ready(c.get("pods", c.client_pod)),
        timeout=60,
        interval=0.2,
        message="the client pod running",
        retry_on=NETWORK_ERRORS,
    )
    eventually(
        lambda: len(ready_endpoint_ips(c, "web")) == 3,
        timeout=30,
        interval=0.2,
        message="web's Endpoints with 3 ready addresses",
        retry_on=NETWORK_ERRORS,
    )


def our_proxy_serves_dns(data_dir: Path) -> bool:
    """This cluster's proxy runs, holds the host's proxy lock and answers DNS."""
    pid = int(json.loads((data_dir / "pids.json").read_text())["proxy"]["pid"])  # serves first
    log = data_dir / "logs" / "proxy.log"
    holder = Path(PROXY_LOCK).read_text().strip() if Path(PROXY_LOCK).exists() else ""
    if not processes.pid_alive(pid):
        raise AssertionError(
            f"the cluster's proxy exited (another proxy on this host? lock {PROXY_LOCK} "
            f"holder: {holder or '-'}); run this module alone:\n{log.read_text()[-2000:]}"
        )
    return (
        holder == str(pid)
        and "serving cluster DNS" in log.read_text()
        and held_by_proxy(CLUSTER_DNS)
    )


def ready_endpoint_ips(c: Cluster, name: str) -> set[str]:
    r = c.api.get(c.path("endpoints", name))
    if r.status_code != 200:
        return set()
    return {a["ip"] for s in r.json().get("subsets") or [] for a in s.get("addresses") or []}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    ensure_busybox_image()
    ensure_perl_image()
    data_dir = tmp_path_factory.mktemp("minik-services")
    env = {**os.environ, "HOME": str(data_dir / "home")}
    upstream = FakeUpstreamDns()
    up = minik(
        "up",
        "--nodes",
        "2",
        "--data-dir",
        str(data_dir),
        "--api-port",
        str(processes.free_port()),
        "--node-ip",
        NODE_IP,
        "--upstream-dns",
        f"127.0.0.1:{upstream.port}",
        env=env,
    )
    api = None
    cluster_ips: list[str] = []
    try:
        assert up.returncode == 0, f"minik up failed:\n{up.stdout}\n{up.stderr}"
        config = load_kubeconfig(data_dir / "kubeconfig")
        api = httpx.Client(
            base_url=config.server,
            verify=ssl.create_default_context(cafile=str(data_dir / "pki" / "ca.crt")),
            headers={"Authorization": f"Bearer {config.token}"},
            timeout=30,
        )
        # The pods' resolver must be our proxy (on lo) before any pod looks a name up:
        # not another cluster's proxy, whose upstream is not our fake one.
        eventually(
            lambda: our_proxy_serves_dns(data_dir),
            timeout=30,
            interval=0.2,
            message="our proxy serving DNS",
            retry_on=NETWORK_ERRORS,
        )
        namespace = f"svc-{secrets.token_hex(3)}"
        r = api.post("/api/v1/namespaces", json={"metadata": {"name": namespace}})
        assert r.status_code == 201, r.text
        c = Cluster(data_dir, api, upstream, namespace)
        try:
            create_workloads(c)
        finally:
            cluster_ips = [c.cluster_ip(n) for n in c.services if c.cluster_ip(n) != "None"]
        yield c
    finally:
        if api is not None:
            api.close()
        down = minik("down", "--data-dir", str(data_dir), env=env)
        upstream.stop()
        assert down.returncode == 0, down.stderr
        assert node_containers() == []
        # the proxy gave back the addresses it held on lo
        assert not set(cluster_ips) & set(lo_addresses()), lo_addresses()


# ---- the tests ----------------------------------------------------------------------------


def test_client_pod_uses_cluster_dns_and_sees_service_env(cluster: Cluster) -> None:
    resolv = cluster.sh("cat /etc/resolv.conf")
    assert f"nameserver {CLUSTER_DNS}" in resolv
    assert re.search(rf"nameserver (?!{re.escape(CLUSTER_DNS)})", resolv) is None, resolv
    ns = cluster.namespace
    assert f"search {ns}.svc.cluster.local svc.cluster.local cluster.local" in resolv
    assert "ndots:5" in resolv

    env = dict(line.split("=", 1) for line in cluster.sh("env").splitlines() if "=" in line)
    ip = cluster.cluster_ip("web")
    assert env["WEB_SERVICE_HOST"] == ip
    assert env["WEB_SERVICE_PORT"] == "80"
    assert env["WEB_SERVICE_PORT_HTTP"] == "80"
    assert env["WEB_PORT"] == f"tcp://{ip}:80"
    assert env["WEB_PORT_80_TCP"] == f"tcp://{ip}:80"
    assert env["WEB_PORT_80_TCP_PROTO"] == "tcp"
    assert env["WEB_PORT_80_TCP_PORT"] == "80"
    assert env["WEB_PORT_80_TCP_ADDR"] == ip
    udp_ip = cluster.cluster_ip("udp-echo")
    assert env["UDP_ECHO_SERVICE_HOST"] == udp_ip
    assert env["UDP_ECHO_PORT_9000_UDP"] == f"udp://{udp_ip}:{UDP_PORT}"
    assert env["WEB_NODEPORT_SERVICE_HOST"] == cluster.cluster_ip("web-nodeport")
    assert not any(k.startswith("WEB_HEADLESS_") for k in env), "headless: no variables"
    assert "KUBERNETES_SERVICE_HOST" in env


def test_pod_reaches_service_by_name_and_cluster_ip(cluster: Cluster) -> None:
    names = {p["metadata"]["name"] for p in cluster.ready_pods()}
    ip = cluster.cluster_ip("web")
    for target in (cluster.fqdn("web"), f"web.{cluster.namespace}", "web", ip, "$WEB_SERVICE_HOST"):
        body = cluster.sh(f"timeout 10 wget -q -O- http://{target}/").strip()
        assert body in names, f"{target}: {body!r}"
    # The NodePort and the LoadBalancer Services have ClusterIPs too.
    for svc in ("web-nodeport", "web-lb"):
        port = cluster.services[svc]["spec"]["ports"][0]["port"]
        body = cluster.sh(f"timeout 10 wget -q -O- http://{svc}:{port}/").strip()
        assert body in names, f"{svc}: {body!r}"


def test_host_reaches_cluster_ip_node_port_and_load_balancer(cluster: Cluster) -> None:
    names = {p["metadata"]["name"] for p in cluster.ready_pods()}
    assert http_get(f"http://{cluster.cluster_ip('web')}/") in names

    node_port = cluster.services["web-nodeport"]["spec"]["ports"][0]["nodePort"]
    assert 30000 <= node_port <= 32767
    eventually(
        lambda: http_get(f"http://{NODE_IP}:{node_port}/"),
        timeout=10,
        interval=0.2,
        message="the NodePort answering",
        retry_on=NETWORK_ERRORS,
    )
    assert http_get(f"http://{NODE_IP}:{node_port}/") in names

    lb = eventually(
        lambda: (
            (cluster.get("services", "web-lb").get("status") or {}).get("loadBalancer") or {}
        ).get("ingress"),
        timeout=30,
        interval=0.2,
        message="web-lb's load balancer ingress",
        retry_on=NETWORK_ERRORS,
    )
    assert [e["ip"] for e in lb] == [NODE_IP]
    assert http_get(f"http://{NODE_IP}:{cluster.lb_port}/") in names


def test_new_connections_spread_over_the_replicas(cluster: Cluster) -> None:
    names = {p["metadata"]["name"] for p in cluster.ready_pods()}
    assert len(names) == 3
    from_host = Counter(http_get(f"http://{cluster.cluster_ip('web')}/") for _ in range(30))
    assert set(from_host) == names, from_host
    assert min(from_host.values()) >= 5, from_host  # round robin: about 10 each

    out = cluster.sh("for i in $(seq 15); do timeout 5 wget -q -O- http://web/; done")
    from_pod = Counter(out.split())
    assert set(from_pod) == names, from_pod


def test_session_affinity_client_ip_sticks(cluster: Cluster) -> None:
    names = {p["metadata"]["name"] for p in cluster.ready_pods()}
    out = cluster.sh("for i in $(seq 12); do timeout 5 wget -q -O- http://web-sticky/; done")
    from_pod = Counter(out.split())
    assert len(from_pod) == 1 and set(from_pod) <= names, from_pod
    assert sum(from_pod.values()) == 12

    ip = cluster.cluster_ip("web-sticky")
    from_host = Counter(http_get(f"http://{ip}/") for _ in range(12))
    assert len(from_host) == 1 and set(from_host) <= names, from_host
    # ...while the Service without affinity, over the same pods, keeps spreading
    assert len(Counter(http_get(f"http://{cluster.cluster_ip('web')}/") for _ in range(6))) > 1


def test_udp_through_a_service(cluster: Cluster) -> None:
    echoes = {p["metadata"]["name"] for p in cluster.ready_pods("app=udp-echo")}
    assert len(echoes) == 2
    ip = cluster.cluster_ip("udp-echo")

    replies = [udp_ask(ip, UDP_PORT, f"hello{i}".encode()) for i in range(8)]
    for i, reply in enumerate(replies):
        name, _, payload = reply.partition(" ")
        assert name in echoes and payload == f"hello{i}", reply
    assert {r.split()[0] for r in replies} == echoes, "fresh sockets spread over backends"

    out = cluster.sh(f"perl /udp-ask.pl $UDP_ECHO_SERVICE_HOST {UDP_PORT} 6")
    lines = out.split("\n")[:6]
    assert all(line.split(" ")[0] in echoes for line in lines), out
    assert [line.split(" ")[1] for line in lines] == [f"ping{i}" for i in range(1, 7)], out
    assert {line.split(" ")[0] for line in lines} == echoes, out


def nslookup_ips(cluster: Cluster, name: str, answer_name: str | None = None) -> set[str]:
    """The A records busybox's nslookup prints for `answer_name` (default `name`). For
    a short name it asks every search domain at once and exits 1 for those that do
    not exist, so its exit code is not looked at; the answers are."""
    _, out = cluster.exec(cluster.client_pod, "nslookup", name)
    wanted = (answer_name or name).rstrip(".")
    pairs = re.findall(r"^Name:\s*(\S+)\s*\nAddress:\s*([0-9.]+)\s*$", out, re.M)
    return {ip for owner, ip in pairs if owner.rstrip(".") == wanted}


def test_headless_dns_returns_the_ready_pod_ips(cluster: Cluster) -> None:
    ready = {p["status"]["podIP"] for p in cluster.ready_pods()}
    unready = cluster.get("pods", "web-unready")
    assert not is_ready(unready)
    assert len(ready) == 3
    assert nslookup_ips(cluster, cluster.fqdn("web-headless")) == ready
    # through the search path
    assert nslookup_ips(cluster, "web-headless", cluster.fqdn("web-headless")) == ready
    assert unready["status"]["podIP"] not in ready
    # a Service with a ClusterIP answers that address instead
    assert nslookup_ips(cluster, cluster.fqdn("web")) == {cluster.cluster_ip("web")}
    # names outside the cluster go to the upstream resolver (our fake one)
    assert nslookup_ips(cluster, "outside.example.") == {UPSTREAM_ANSWER}
    assert "outside.example." in cluster.upstream.asked
    assert not any(n.endswith("cluster.local.") for n in cluster.upstream.asked)


class PodLoop(threading.Thread):
    """REQUESTS requests to http://web/ from inside the client pod, each a fresh
    connection (and DNS lookup), paced over ~20 s; one line each: OK and the
    answering pod's name, or FAIL and wget's complaint."""

    REQUESTS = 300
    PAUSE_US = 50000

    def __init__(self, cluster: Cluster) -> None:
        super().__init__(daemon=True)
        self.cluster = cluster
        self.lines: list[str] = []
        self.error: BaseException | None = None
        self.started_at = self.finished_at = 0.0

    def run(self) -> None:
        script = (
            f"i=0; while [ $i -lt {self.REQUESTS} ]; do i=$((i+1)); "
            'if out=$(timeout 5 wget -q -O- http://web/ 2>&1); then echo "OK $out"; '
            'else echo "FAIL $i $out"; fi; '
            f"usleep {self.PAUSE_US}; done"
        )
        self.started_at = time.monotonic()
        try:
            out = self.cluster.sh(script, timeout=120)
            self.lines = [line for line in out.splitlines() if line.strip()]
        except BaseException as err:  # reported by the test
            self.error = err
        self.finished_at = time.monotonic()

    @property
    def failures(self) -> list[str]:
        return [line for line in self.lines if not line.startswith("OK ")]

    @property
    def answered(self) -> Counter:
        return Counter(line.split(" ", 1)[1] for line in self.lines if line.startswith("OK "))


class HostLoop(threading.Thread):
    """The same from the host, to the ClusterIP, until told to stop (bounded)."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.answered: Counter = Counter()
        self.failures: list[str] = []
        self.seconds: list[float] = []  # how long each request took
        self.stopping = threading.Event()

    def run(self) -> None:
        for _ in range(600):
            if self.stopping.is_set():
                return
            began = time.monotonic()
            try:
                self.answered[http_get(self.url)] += 1
            except httpx.HTTPError as err:
                self.failures.append(repr(err))
            self.seconds.append(time.monotonic() - began)
            time.sleep(0.05)

    @property
    def requests(self) -> int:
        return sum(self.answered.values()) + len(self.failures)


def test_replacing_pods_under_load_fails_only_in_flight_requests(cluster: Cluster) -> None:
    """Pods of the Service are deleted one after another (each replaced by the
    Deployment before the next goes) while clients keep opening connections."""
    originals = [p["metadata"]["name"] for p in cluster.ready_pods()]
    assert len(originals) == 3
    in_pod = PodLoop(cluster)
    on_host = HostLoop(f"http://{cluster.cluster_ip('web')}/")
    in_pod.start()
    on_host.start()
    deleted: dict[str, float] = {}
    try:
        time.sleep(2)
        while in_pod.is_alive() and time.monotonic() - in_pod.started_at < 13:
            victim = min(
                (p for p in cluster.ready_pods() if p["metadata"]["name"] not in deleted),
                key=lambda p: p["metadata"]["creationTimestamp"],
            )["metadata"]["name"]
            r = cluster.api.delete(cluster.path("pods", victim))
            assert r.status_code == 200, r.text
            deleted[victim] = time.monotonic() - in_pod.started_at
            eventually(
                lambda v=victim: (
                    len(ready := cluster.ready_pods()) == 3
                    and v not in {p["metadata"]["name"] for p in ready}
                ),
                timeout=40,
                interval=0.3,
                message=f"a replacement for {victim} ready",
                retry_on=NETWORK_ERRORS,
            )
            time.sleep(1)
        in_pod.join(120)
    finally:
        on_host.stopping.set()
        on_host.join(10)
    assert not in_pod.is_alive(), "the client loop in the pod did not finish"
    assert in_pod.error is None, in_pod.error
    duration = in_pod.finished_at - in_pod.started_at
    report = (
        f"pod: {len(in_pod.lines)} requests in {duration:.1f}s, {len(in_pod.failures)} failed "
        f"{in_pod.failures[:5]}; host: {on_host.requests} requests, "
        f"{len(on_host.failures)} failed {on_host.failures[:5]}, slowest "
        f"{', '.join(f'{t:.2f}s' for t in sorted(on_host.seconds)[-4:])}; "
        f"{len(deleted)} pods deleted at "
        f"{', '.join(f'{t:.1f}s' for t in deleted.values())}; "
        f"answers per pod (pod loop): {sorted(in_pod.answered.values(), reverse=True)}"
    )
    print(report)
    assert len(in_pod.lines) == PodLoop.REQUESTS, report
    assert len(deleted) >= 3, report  # every original pod was replaced at least
    assert set(originals) <= set(deleted), report
    assert len(in_pod.failures) <= 3, report
    assert len(on_host.failures) <= 3, report
    ready = cluster.ready_pods()
    assert len(ready) == 3 and not {p["metadata"]["name"] for p in ready} & set(deleted)
    assert {p["metadata"]["name"] for p in ready} & set(in_pod.answered), "replacements answer"
    # after the churn, the Service's backends and DNS are exactly the ready pods
    ready_ips = {p["status"]["podIP"] for p in ready}
    assert ready_endpoint_ips(cluster, "web") == ready_ips
    assert nslookup_ips(cluster, cluster.fqdn("web-headless")) == ready_ips
