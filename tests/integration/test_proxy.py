"""The proxy as a real process (`python -m proxy`) against a real apiserver on etcd.

Services and Endpoints are written through the API by the tests themselves, with
endpoints pointing at servers the tests run: plain TCP/UDP servers on 127.0.0.x,
or busybox containers on a Docker network of the test's own. Traffic goes only to
loopback, to those containers, and to ClusterIPs once the proxy holds them on
`lo` (every test waits for the address before sending anything to it, so nothing
is ever routed off the host). Names outside the cluster go to a fake upstream DNS
server on loopback.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dns.exception
import dns.message
import dns.query
import dns.rcode
import dns.rrset
import httpx
import pytest

from deploy import processes
from deploy.controlplane import ApiServer, make_workdir, remove_workdir, start_apiserver
from tests.support.fakedns import FakeUpstreamDns
from tests.support.scrape import Scrape, scrape
from tests.support.wait import eventually

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the proxy adds addresses to lo")

CLUSTER_DNS = "10.96.0.10"
LABEL = "lo:minik"
DOCKER_LABEL = "minik-test-proxy"
NODE_IP = "127.0.0.1"


# ---- small helpers ----------------------------------------------------------------------

# What a check meets while the proxy is still binding or reprogramming: "not yet".
NETWORK_ERRORS = (OSError, httpx.HTTPError, dns.exception.DNSException)


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


def on_lo(ip: str) -> bool:
    return lo_addresses().get(ip) == LABEL


def listening(ip: str, port: int, proto: str = "tcp") -> bool:
    flag = "-ltn" if proto == "tcp" else "-lun"
    out = subprocess.run(
        ["ss", "-H", flag, "src", f"{ip}:{port}"], capture_output=True, text=True
    ).stdout
    return bool(out.strip())


def free_port() -> int:
    """A port free on every address (NodePort/LoadBalancer ports listen on 0.0.0.0)."""
    with socket.socket() as s:
        s.bind(("0.0.0.0", 0))
        return s.getsockname()[1]


def ask(host: str, port: int, timeout: float = 2.0) -> str:
    """One request on a fresh connection: the backend answers with its name."""
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(b"who\n")
        return s.makefile().readline().strip()


# ---- backends ---------------------------------------------------------------------------


class NamedBackend(socketserver.ThreadingTCPServer):
    """Answers each line with its name, on a connection kept as long as the client likes."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, name: str, ip: str) -> None:
        self.name = name

        class Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                for _ in self.rfile:
                    self.wfile.write(name.encode() + b"\n")

        super().__init__((ip, 0), Handler)
        self.ip, self.port = self.server_address
        threading.Thread(target=self.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


class UdpBackend(threading.Thread):
    def __init__(self, name: str, ip: str) -> None:
        super().__init__(daemon=True)
        self.name = name
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((ip, 0))
        self.sock.settimeout(0.1)
        self.ip, self.port = self.sock.getsockname()
        self.running = True
        self.start()

    def run(self) -> None:
        while self.running:
            try:
                data, addr = self.sock.recvfrom(2048)
            except TimeoutError:
                continue
            self.sock.sendto(f"{self.name}:".encode() + data, addr)

    def stop(self) -> None:
        self.running = False
        self.join(2)
        self.sock.close()


@pytest.fixture
def backends() -> Iterator[Callable[..., Any]]:
    started: list[Any] = []

    def make(*names: str, udp: bool = False) -> list[Any]:
        made = [
            (UdpBackend if udp else NamedBackend)(name, f"127.0.0.{len(started) + i + 2}")
            for i, name in enumerate(names)
        ]
        started.extend(made)
        return made

    yield make
    for backend in started:
        with contextlib.suppress(OSError):
            backend.stop()


# ---- the cluster and the proxy ----------------------------------------------------------


class ProxyProcess:
    def __init__(self, kubeconfig: Path, upstream: str, workdir: Path) -> None:
        self.kubeconfig, self.upstream, self.workdir = kubeconfig, upstream, workdir
        self.process: processes.Process | None = None
        self.starts = 0
        self.metrics_port = processes.free_port()

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    def start(self) -> None:
        argv = [
            sys.executable,
            "-m",
            "proxy",
            "--kubeconfig",
            str(self.kubeconfig),
            "--node-name",
            "test-node",
            "--node-ip",
            NODE_IP,
            "--upstream-dns",
            self.upstream,
            "--metrics-bind-address",
            f"127.0.0.1:{self.metrics_port}",
        ]
        self.starts += 1
        self.process = processes.spawn("proxy", argv, self.workdir / f"proxy-{self.starts}.log")
        eventually(
            lambda: on_lo(CLUSTER_DNS) or not self.alive(),
            timeout=15,
            interval=0.02,
            retry_on=NETWORK_ERRORS,
        )
        assert self.alive(), self.log()
        query = dns.message.make_query("kubernetes.default.svc.cluster.local.", "A")
        eventually(
            lambda: dns.query.udp(query, CLUSTER_DNS, timeout=0.5).answer,
            timeout=15,
            interval=0.02,
            retry_on=NETWORK_ERRORS,
        )

    def alive(self) -> bool:
        return self.process is not None and self.process.alive()

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()  # SIGTERM by PID, then SIGKILL if it hangs
            self.process = None

    def kill(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.popen.wait(5)
        self.process = None

    def log(self) -> str:
        return self.process.log_tail(60) if self.process else ""


@pytest.fixture(scope="module")
def cluster(etcd) -> Iterator[ApiServer]:
    """An apiserver of this module's own (on the shared etcd), so that one test can
    restart it without disturbing the rest of the suite."""
    workdir = make_workdir("minik-proxy-api-")
    server = start_apiserver(etcd, workdir)
    yield server
    server.stop()
    remove_workdir(workdir)


@pytest.fixture(scope="module")
def upstream_dns() -> Iterator[FakeUpstreamDns]:
    server = FakeUpstreamDns()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def proxy(cluster: ApiServer, upstream_dns: FakeUpstreamDns) -> Iterator[ProxyProcess]:
    workdir = make_workdir("minik-proxy-")
    kube_dns = "/api/v1/namespaces/kube-system/services/kube-dns"
    with cluster.http() as http:
        had_kube_dns = http.get(kube_dns).status_code == 200
    proc = ProxyProcess(cluster.kubeconfig, upstream_dns.address, workdir)
    proc.start()
    yield proc
    proc.stop()
    if not had_kube_dns:  # leave the shared etcd as we found it
        with cluster.http() as http:
            http.delete(kube_dns)
    leftover = [ip for ip, label in lo_addresses().items() if label == LABEL]
    if os.environ.get("MINIK_KEEP_PROXY_LOGS"):
        print(f"proxy logs kept in {workdir}")
    else:
        remove_workdir(workdir)
    assert leftover == [], f"the proxy left {leftover} on lo"


@pytest.fixture
def api(cluster: ApiServer) -> Iterator[httpx.Client]:
    with cluster.http() as http:
        yield http


@pytest.fixture
def ns(api: httpx.Client) -> Iterator[str]:
    name = f"px-{uuid.uuid4().hex[:6]}"
    r = api.post("/api/v1/namespaces", json={"metadata": {"name": name}})
    assert r.status_code == 201, r.text
    yield name
    api.delete(f"/api/v1/namespaces/{name}")


def create_service(api: httpx.Client, ns: str, name: str, ports: list[dict], **spec: Any) -> dict:
    body = {"metadata": {"name": name}, "spec": {"ports": ports, **spec}}
    r = api.post(f"/api/v1/namespaces/{ns}/services", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def set_endpoints(
    api: httpx.Client,
    ns: str,
    name: str,
    ready: list[Any],
    port_name: str = "",
    protocol: str = "TCP",
    not_ready: list[Any] = (),
) -> None:
    """One subset per backend (each listens on a port of its own), as the endpoints
    controller writes them for pods whose ports differ."""

    def subset(b: Any, key: str) -> dict:
        address = {"ip": b.ip, **({"hostname": b.hostname} if getattr(b, "hostname", "") else {})}
        port = {"port": b.port, "protocol": protocol, **({"name": port_name} if port_name else {})}
        return {key: [address], "ports": [port]}

    subsets = [subset(b, "addresses") for b in ready]
    subsets += [subset(b, "notReadyAddresses") for b in not_ready]
    body = {"metadata": {"name": name, "namespace": ns}, "subsets": subsets}
    path = f"/api/v1/namespaces/{ns}/endpoints"
    r = api.put(f"{path}/{name}", json=body)
    if r.status_code == 404:
        r = api.post(path, json=body)
    assert r.status_code in (200, 201), r.text


def served(ip: str, port: int, expect: str | set[str] | None = None) -> Callable[[], bool]:
    """A predicate: the address is ours on lo (checked first: a ClusterIP that is not
    on lo would be routed off the host) and a request gets an expected answer."""

    def check() -> bool:
        if not ip.startswith("127.") and not on_lo(ip):
            return False
        answer = ask(ip, port, timeout=1)
        if expect is None:
            return bool(answer)
        return answer in ({expect} if isinstance(expect, str) else expect)

    return check


def get_service(api: httpx.Client, ns: str, name: str) -> dict:
    r = api.get(f"/api/v1/namespaces/{ns}/services/{name}")
    assert r.status_code == 200, r.text
    return r.json()


def ingress_of(api: httpx.Client, ns: str, name: str) -> list | None:
    status = get_service(api, ns, name).get("status") or {}
    return (status.get("loadBalancer") or {}).get("ingress")


# ---- the tests --------------------------------------------------------------------------


def test_host_reaches_cluster_ip_node_port_and_load_balancer(proxy, api, ns, backends, cluster):
    (web,) = backends("web-0")
    port = free_port()
    svc = create_service(api, ns, "web", [{"name": "http", "port": port}], type="LoadBalancer")
    node_port = svc["spec"]["ports"][0]["nodePort"]
    set_endpoints(api, ns, "web", [web], "http")
    cluster_ip = svc["spec"]["clusterIP"]
    eventually(served(cluster_ip, port, "web-0"), timeout=2, interval=0.02, retry_on=NETWORK_ERRORS)
    assert ask("127.0.0.1", node_port) == "web-0"
    assert ask("127.0.0.1", port) == "web-0"  # the LoadBalancer port on the node
    assert eventually(
        lambda: ingress_of(api, ns, "web"), timeout=3, interval=0.02, retry_on=NETWORK_ERRORS
    ) == [{"ip": NODE_IP, "ipMode": "VIP"}]
    kubectl = [
        "kubectl",
        "--kubeconfig",
        str(cluster.kubeconfig),
        "--cache-dir",
        str(cluster.workdir / "kubectl-cache"),
    ]
    out = subprocess.run(
        [*kubectl, "get", "svc", "web", "-n", ns], capture_output=True, text=True, timeout=60
    )
    header, row = out.stdout.splitlines()[:2]
    assert row.split()[header.split().index("EXTERNAL-IP")] == NODE_IP, out.stdout + out.stderr


def test_requests_spread_over_backends_and_follow_endpoint_changes(proxy, api, ns, backends):
    a, b, c = backends("a", "b", "c")
    ip = create_service(api, ns, "spread", [{"port": 8080}])["spec"]["clusterIP"]
    set_endpoints(api, ns, "spread", [a])
    eventually(served(ip, 8080, "a"), timeout=2, interval=0.02, retry_on=NETWORK_ERRORS)
    set_endpoints(api, ns, "spread", [a, b, c])
    changed = time.monotonic()
    eventually(served(ip, 8080, {"b", "c"}), timeout=1.0, interval=0.02, retry_on=NETWORK_ERRORS)
    assert time.monotonic() - changed < 1.0
    counts = Counter(ask(ip, 8080) for _ in range(30))
    assert counts == {"a": 10, "b": 10, "c": 10}  # round robin, nobody else is asking
    set_endpoints(api, ns, "spread", [c])
    eventually(served(ip, 8080, "c"), timeout=1.0, interval=0.02, retry_on=NETWORK_ERRORS)
    assert Counter(ask(ip, 8080) for _ in range(6)) == {"c": 6}


def test_removing_a_backend_under_load_cuts_no_established_connection(proxy, api, ns, backends):
    a, b, c = backends("a", "b", "c")
    ip = create_service(api, ns, "load", [{"port": 80}])["spec"]["clusterIP"]
    set_endpoints(api, ns, "load", [a, b, c])
    eventually(served(ip, 80), timeout=2, interval=0.02, retry_on=NETWORK_ERRORS)
    # A long-lived connection that lands on the backend we will remove.
    for _ in range(3):
        held = socket.create_connection((ip, 80), timeout=2)
        held_io = held.makefile("rw")
        held_io.write("who\n")
        held_io.flush()
        if held_io.readline().strip() == "a":
            break
        held.close()
    else:
        pytest.fail("round robin never reached backend a")
    results: list[str] = []
    errors: list[str] = []
    stop = threading.Event()

    def client() -> None:  # bounded: at most 2,000 requests or 5 s
        deadline = time.monotonic() + 5
        while not stop.is_set() and len(results) + len(errors) < 2000:
            if time.monotonic() > deadline:
                break
            try:
                results.append(ask(ip, 80))
            except OSError as err:
                errors.append(repr(err))

    loop = threading.Thread(target=client)
    loop.start()
    time.sleep(0.3)
    set_endpoints(api, ns, "load", [b, c])  # "a" is leaving, but still running
    removed_at = len(results)
    time.sleep(1.2)
    after = results[len(results) - 50 :] if len(results) > removed_at + 50 else []
    stop.set()
    loop.join(10)
    assert errors == []
    assert after and "a" not in after, "new connections still go to a removed endpoint"
    assert removed_at >= 10 and {"a", "b", "c"} <= set(results[:removed_at])
    held_io.write("who\n")
    held_io.flush()
    assert held_io.readline().strip() == "a", "the established connection was cut"
    held.close()


def test_session_affinity_sticks(proxy, api, ns, backends):
    trio = backends("a", "b", "c")
    ip = create_service(
        api,
        ns,
        "sticky",
        [{"port": 80}],
        sessionAffinity="ClientIP",
        sessionAffinityConfig={"clientIP": {"timeoutSeconds": 60}},
    )["spec"]["clusterIP"]
    set_endpoints(api, ns, "sticky", trio)
    eventually(served(ip, 80), timeout=2, interval=0.02, retry_on=NETWORK_ERRORS)
    assert len(Counter(ask(ip, 80) for _ in range(12))) == 1
    r = api.patch(
        f"/api/v1/namespaces/{ns}/services/sticky",
        json={"spec": {"sessionAffinity": "None"}},
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 200, r.text
    eventually(
        lambda: len(Counter(ask(ip, 80) for _ in range(6))) == 3,
        timeout=2,
        interval=0.02,
        retry_on=NETWORK_ERRORS,
    )


def test_udp_through_a_service(proxy, api, ns, backends):
    one, two = backends("u1", "u2", udp=True)
    ip = create_service(api, ns, "udp", [{"name": "u", "port": 5300, "protocol": "UDP"}])["spec"][
        "clusterIP"
    ]
    set_endpoints(api, ns, "udp", [one, two], "u", "UDP")
    eventually(
        lambda: on_lo(ip) and listening(ip, 5300, "udp"),
        timeout=2,
        interval=0.02,
        retry_on=NETWORK_ERRORS,
    )
    seen = set()
    for i in range(4):  # a fresh client socket each time: a new session, the next backend
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.settimeout(2)
            s.sendto(f"ping{i}".encode(), (ip, 5300))
            name, _, echo = s.recv(2048).decode().partition(":")
            assert echo == f"ping{i}"
            seen.add(name)
    assert seen == {"u1", "u2"}


@dataclass
class Endpoint:
    """A pod-like endpoint that is not one of our servers (DNS tests, containers)."""

    ip: str
    port: int
    hostname: str = ""


def query(name: str, rdtype: str, tcp: bool = False) -> dns.message.Message:
    q = dns.message.make_query(name, rdtype)
    return (dns.query.tcp if tcp else dns.query.udp)(q, CLUSTER_DNS, timeout=2)


def rdata(response: dns.message.Message) -> list[str]:
    return sorted(rd.to_text() for rrset in response.answer for rd in rrset)


def test_dns_answers_for_cluster_ip_and_headless_services(proxy, api, ns, upstream_dns):
    web = create_service(api, ns, "web", [{"name": "http", "port": 80}])
    ip = web["spec"]["clusterIP"]
    create_service(api, ns, "db", [{"name": "pg", "port": 5432}], clusterIP="None")
    pods = [Endpoint("172.30.0.5", 5432, "db-0"), Endpoint("172.30.0.6", 5432)]
    set_endpoints(api, ns, "db", pods, "pg", not_ready=[Endpoint("172.30.0.7", 5432)])
    kube_dns = get_service(api, "kube-system", "kube-dns")["spec"]
    assert kube_dns["clusterIP"] == CLUSTER_DNS and "selector" not in kube_dns
    assert {(p["name"], p["port"], p["protocol"]) for p in kube_dns["ports"]} == {
        ("dns", 53, "UDP"),
        ("dns-tcp", 53, "TCP"),
    }
    assert rdata(query("_dns._udp.kube-dns.kube-system.svc.cluster.local.", "SRV")) == [
        "0 100 53 kube-dns.kube-system.svc.cluster.local."
    ]
    domain = f"{ns}.svc.cluster.local."
    for tcp in (False, True):
        assert eventually(
            lambda tcp=tcp: rdata(query(f"web.{domain}", "A", tcp)),
            timeout=3,
            interval=0.02,
            retry_on=NETWORK_ERRORS,
        ) == [ip]
        assert rdata(query(f"_http._tcp.web.{domain}", "SRV", tcp)) == [f"0 100 80 web.{domain}"]
        assert eventually(
            lambda tcp=tcp: rdata(query(f"db.{domain}", "A", tcp)) == ["172.30.0.5", "172.30.0.6"],
            timeout=3,
            interval=0.02,
            retry_on=NETWORK_ERRORS,
        )
        assert rdata(query(f"_pg._tcp.db.{domain}", "SRV", tcp)) == [
            f"0 50 5432 172-30-0-6.db.{domain}",
            f"0 50 5432 db-0.db.{domain}",
        ]
        assert rdata(query(f"db-0.db.{domain}", "A", tcp)) == ["172.30.0.5"]
        assert query(f"nothing.{domain}", "A", tcp).rcode() == dns.rcode.NXDOMAIN
        # Outside the cluster domain: forwarded to the (fake, loopback) upstream.
        outside = "www.outside.test."
        assert rdata(query(outside, "A", tcp)) == [FakeUpstreamDns.ANSWER]
        assert outside in upstream_dns.asked


def test_a_service_without_endpoints_refuses_at_once(proxy, api, ns):
    ip = create_service(api, ns, "empty", [{"port": 80}])["spec"]["clusterIP"]
    eventually(
        lambda: on_lo(ip) and listening(ip, 80), timeout=2, interval=0.02, retry_on=NETWORK_ERRORS
    )
    started = time.monotonic()
    # The reset may come before connect() returns (the proxy accepts and resets at once).
    with (
        contextlib.suppress(ConnectionResetError),
        socket.create_connection((ip, 80), timeout=2) as s,
    ):
        s.sendall(b"who\n")
        assert s.recv(10) == b""
    assert time.monotonic() - started < 0.5


def test_metrics_count_connections_and_bytes_per_service_port(proxy, api, ns, backends):
    (counted,) = backends("m-0")
    ip = create_service(api, ns, "counted", [{"name": "web", "port": 8080}])["spec"]["clusterIP"]
    set_endpoints(api, ns, "counted", [counted], "web")
    eventually(served(ip, 8080, "m-0"), timeout=2, interval=0.02, retry_on=NETWORK_ERRORS)
    service = {"service": f"{ns}/counted", "port": "web", "protocol": "TCP"}
    before = scrape(proxy.metrics_url)
    for _ in range(3):
        assert ask(ip, 8080) == "m-0"  # "who\n" out, "m-0\n" back: 4 bytes each way

    def counted_all() -> Scrape | None:
        now = scrape(proxy.metrics_url)
        gained = now.value("minik_proxy_bytes_total", **service, direction="out") - (
            before.value("minik_proxy_bytes_total", **service, direction="out")
        )
        return now if gained >= 12 else None

    after = eventually(counted_all, timeout=5, interval=0.05)
    for metric, labels, gained in (
        ("minik_proxy_connections_total", {}, 3),
        ("minik_proxy_bytes_total", {"direction": "in"}, 12),
        ("minik_proxy_bytes_total", {"direction": "out"}, 12),
    ):
        assert (
            after.value(metric, **service, **labels) - before.value(metric, **service, **labels)
            == gained
        ), (metric, labels)
    empty_ip = create_service(api, ns, "none", [{"port": 81}])["spec"]["clusterIP"]
    eventually(
        lambda: on_lo(empty_ip) and listening(empty_ip, 81),
        timeout=2,
        interval=0.02,
        retry_on=NETWORK_ERRORS,
    )
    with contextlib.suppress(ConnectionResetError), socket.create_connection((empty_ip, 81)) as s:
        s.recv(10)
    refused = scrape(proxy.metrics_url)
    empty = {"service": f"{ns}/none", "port": "", "protocol": "TCP"}
    assert refused.value("minik_proxy_rejected_connections_total", **empty) == 1
    assert refused.value("process_open_fds") > 0


def test_a_deleted_service_loses_its_listener_and_address_within_a_second(proxy, api, ns, backends):
    (web,) = backends("w")
    svc = create_service(api, ns, "gone", [{"port": 81}], type="NodePort")
    ip, node_port = svc["spec"]["clusterIP"], svc["spec"]["ports"][0]["nodePort"]
    set_endpoints(api, ns, "gone", [web])
    eventually(served(ip, 81, "w"), timeout=2, interval=0.02, retry_on=NETWORK_ERRORS)
    assert ask("127.0.0.1", node_port) == "w"
    r = api.delete(f"/api/v1/namespaces/{ns}/services/gone")
    assert r.status_code == 200, r.text
    deleted = time.monotonic()
    # Only look, never send: a ClusterIP that left lo would be routed off the host.
    eventually(
        lambda: not on_lo(ip) and not listening(ip, 81) and not listening("0.0.0.0", node_port),
        timeout=1.0,
        interval=0.02,
        retry_on=NETWORK_ERRORS,
    )
    assert time.monotonic() - deleted < 1.0
    with pytest.raises(ConnectionRefusedError):
        ask("127.0.0.1", node_port)


def test_a_port_already_taken_gives_an_event_and_no_crash(proxy, api, ns, backends):
    (web,) = backends("w")
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", 0))
    squatter.listen()
    port = squatter.getsockname()[1]
    try:
        svc = create_service(api, ns, "taken", [{"port": port}], type="LoadBalancer")
        set_endpoints(api, ns, "taken", [web])

        def event() -> dict | None:
            items = api.get(f"/api/v1/namespaces/{ns}/events").json()["items"]
            return next((e for e in items if e["reason"] == "PortInUse"), None)

        found = eventually(event, timeout=3, interval=0.02, retry_on=NETWORK_ERRORS)
        assert found["involvedObject"]["name"] == "taken" and found["type"] == "Warning"
        assert str(port) in found["message"]
        assert proxy.alive()
        eventually(
            served(svc["spec"]["clusterIP"], port, "w"),
            timeout=2,
            interval=0.02,
            retry_on=NETWORK_ERRORS,
        )  # ClusterIP works
        assert not ingress_of(api, ns, "taken")  # pending, as k3s leaves it
    finally:
        squatter.close()
    # Once the port is free the proxy takes it (it retries every 2 s).
    assert eventually(
        lambda: ingress_of(api, ns, "taken"), timeout=5, interval=0.02, retry_on=NETWORK_ERRORS
    )
    assert ask("127.0.0.1", port) == "w"


def test_the_proxy_survives_its_own_restart(proxy, api, ns, backends):
    (web,) = backends("w")
    keep = create_service(api, ns, "keep", [{"port": 80}])["spec"]["clusterIP"]
    drop = create_service(api, ns, "drop", [{"port": 80}])["spec"]["clusterIP"]
    set_endpoints(api, ns, "keep", [web])
    eventually(served(keep, 80, "w"), timeout=2, interval=0.02, retry_on=NETWORK_ERRORS)
    eventually(lambda: on_lo(drop), timeout=2, interval=0.02, retry_on=NETWORK_ERRORS)
    proxy.kill()  # SIGKILL: no chance to clean up
    assert on_lo(keep) and on_lo(drop)
    assert api.delete(f"/api/v1/namespaces/{ns}/services/drop").status_code == 200
    proxy.start()
    eventually(
        served(keep, 80, "w"), timeout=2, interval=0.02, retry_on=NETWORK_ERRORS
    )  # kept its address, bound again
    eventually(
        lambda: not on_lo(drop), timeout=2, interval=0.02, retry_on=NETWORK_ERRORS
    )  # the stale one is cleaned up


def test_the_proxy_rides_out_an_apiserver_restart(proxy, api, ns, backends, cluster):
    a, b = backends("a", "b")
    ip = create_service(api, ns, "steady", [{"port": 80}])["spec"]["clusterIP"]
    set_endpoints(api, ns, "steady", [a])
    eventually(served(ip, 80, "a"), timeout=2, interval=0.02, retry_on=NETWORK_ERRORS)
    cluster.stop()
    try:
        time.sleep(0.5)
        assert [ask(ip, 80) for _ in range(3)] == ["a"] * 3  # serving what it knew
        assert proxy.alive()
    finally:
        cluster.start()
    with cluster.http() as http:
        eventually(
            lambda: http.get("/readyz").status_code == 200,
            timeout=20,
            interval=0.02,
            retry_on=NETWORK_ERRORS,
        )
        set_endpoints(http, ns, "steady", [b])
        fresh = create_service(http, ns, "fresh", [{"port": 80}])["spec"]["clusterIP"]
        set_endpoints(http, ns, "fresh", [a])
    eventually(
        served(ip, 80, "b"), timeout=15, interval=0.02, retry_on=NETWORK_ERRORS
    )  # informers resynced
    eventually(served(fresh, 80, "a"), timeout=5, interval=0.02, retry_on=NETWORK_ERRORS)


# ---- a container on a Docker network of the test's own ----------------------------------


@pytest.fixture
def docker_net() -> Iterator[Any]:
    import docker

    from tests.support.images import ensure_busybox_image

    client = docker.from_env()
    image = ensure_busybox_image()
    label = {DOCKER_LABEL: uuid.uuid4().hex[:8]}
    network = client.networks.create(f"minik-proxy-test-{label[DOCKER_LABEL]}", labels=label)
    containers: list[Any] = []

    def run(command: list[str]) -> Any:
        container = client.containers.run(
            image, command, detach=True, labels=label, network=network.name, auto_remove=False
        )
        containers.append(container)
        return container

    try:
        yield run
    finally:
        for container in client.containers.list(
            all=True, ignore_removed=True, filters={"label": DOCKER_LABEL}
        ):
            if container.labels.get(DOCKER_LABEL) == label[DOCKER_LABEL]:
                container.remove(force=True)
        network.remove()


def test_a_container_reaches_a_cluster_ip_and_resolves_service_names(proxy, api, ns, docker_net):
    httpd = docker_net(
        [
            "sh",
            "-c",
            "mkdir -p /www && echo hello-from-httpd > /www/index.html && "
            "exec httpd -f -p 80 -h /www",
        ]
    )
    client = docker_net(["sleep", "60"])
    httpd.reload()
    pod_ip = next(iter(httpd.attrs["NetworkSettings"]["Networks"].values()))["IPAddress"]
    ip = create_service(api, ns, "web", [{"name": "http", "port": 80}])["spec"]["clusterIP"]
    set_endpoints(api, ns, "web", [Endpoint(pod_ip, 80)], "http")
    eventually(
        lambda: on_lo(ip) and listening(ip, 80), timeout=2, interval=0.02, retry_on=NETWORK_ERRORS
    )

    def fetch() -> str:  # httpd may still be starting: a few bounded tries
        code, out = client.exec_run(["wget", "-q", "-O-", f"http://{ip}:80/"])
        return out.decode().strip() if code == 0 else ""

    assert (
        eventually(fetch, timeout=10, interval=0.2, retry_on=NETWORK_ERRORS) == "hello-from-httpd"
    )
    code, out = client.exec_run(["nslookup", f"web.{ns}.svc.cluster.local", CLUSTER_DNS])
    assert code == 0 and ip in out.decode(), out.decode()
