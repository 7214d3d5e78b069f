"""The network agent on a real kernel: three hosts (network namespaces; h1 and h2 on
one LAN segment, h3 on another behind a router) with a pod each, a real etcd and
apiserver, one `python -m netagent` per host started inside its namespace with the
host's kubelet credential, and pings from pod to pod across hosts.

- host-gw: pods on h1 and h2 reach each other once the agents turned ip_forward on
  and h2's iptables FORWARD policy is ACCEPT (with DROP, as a dockerd may leave it,
  the agent warns and the ping fails); h3's pod network gets no route on h1
  (its InternalIP is not on h1's segment, the kernel refuses the gateway), so host-gw
  alone cannot carry it; deleting Node h2 takes its route away; a route somebody else
  made stays.
- vxlan: every pod reaches every other, h3's across the router too; each agent
  publishes its VTEP MAC on its own Node; deleting Node h3 takes its route, neighbour
  and FDB entries away; the agent leaves the kernel as it is on exit and `--cleanup`
  removes what it made.
- restart: an agent SIGKILLed, a Node deleted meanwhile; the restarted agent finds its
  own routes by their protocol number and removes the stale one.

Everything lives in namespaces named after this process; they are deleted at the end.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from deploy import netlab, processes
from deploy.controlplane import ApiServer
from tests.support.components import etcd_and_apiserver

PROTO = "161"  # netagent.kernel.ROUTE_PROTO
DEV = "minik.1"
ANNOTATION = "netagent.minik.io/backend-data"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root for network namespaces")


def wait_until(check: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def control_plane() -> Iterator[ApiServer]:
    with etcd_and_apiserver("minik-netagent-") as server:
        yield server


@pytest.fixture(scope="module")
def lab(control_plane: ApiServer) -> Iterator[netlab.Lab]:
    # ip_forward off in the hosts: the agent turns it on
    built = netlab.build(f"na{os.getpid()}", [["h1", "h2"], ["h3"]], forwarding=False)
    relay = netlab.LoopbackRelay(control_plane.port)
    try:
        for host in built.hosts:
            relay.add(host.ns)
        yield built
    finally:
        relay.close()
        built.remove()


@pytest.fixture
def nodes(control_plane: ApiServer, lab: netlab.Lab) -> Iterator[httpx.Client]:
    """The three Nodes (podCIDR and InternalIP, as node IPAM and the kubelet set them);
    deleted afterwards."""
    with control_plane.http() as http:
        for host in lab.hosts:
            made = http.post("/api/v1/nodes", json=netlab.node_object(host))
            assert made.status_code == 201, made.text
            if not (made.json().get("status") or {}).get("addresses"):
                status = {"status": netlab.node_object(host)["status"]}
                patched = http.patch(
                    f"/api/v1/nodes/{host.name}/status",
                    json=status,
                    headers={"Content-Type": "application/merge-patch+json"},
                )
                assert patched.status_code == 200, patched.text
        yield http
        for host in lab.hosts:
            http.delete(f"/api/v1/nodes/{host.name}")


@pytest.fixture
def start_agents(
    control_plane: ApiServer, lab: netlab.Lab, tmp_path: Path
) -> Iterator[Callable[..., dict[str, processes.Process]]]:
    started: list[processes.Process] = []

    def start(backend: str, only: tuple[str, ...] = ()) -> dict[str, processes.Process]:
        out = {}
        for host in lab.hosts:
            if only and host.name not in only:
                continue
            kubeconfig = control_plane.kubeconfig_as(f"kubelet-{host.name}")
            argv = netlab.netagent_argv(
                sys.executable, host.ns, str(kubeconfig), host.name, backend,
                "--resync-period", "5s", "-v", "4",
            )  # fmt: skip
            proc = processes.spawn(
                f"netagent-{host.name}", argv, tmp_path / f"netagent-{host.name}-{len(started)}.log"
            )
            started.append(proc)
            out[host.name] = proc
        return out

    yield start
    for proc in started:
        proc.stop()
    for host in lab.hosts:  # whatever the test left: nothing of ours stays in the lab
        netlab.in_ns(host.ns, sys.executable, "-m", "netagent", "--cleanup", check=False)


def routes(host: netlab.Host) -> dict[str, dict]:
    out = netlab.in_ns(host.ns, "ip", "-j", "-4", "route", "show", "proto", PROTO).stdout
    return {r["dst"]: r for r in json.loads(out or "[]")}


def hosts(lab: netlab.Lab) -> dict[str, netlab.Host]:
    return {h.name: h for h in lab.hosts}


def pod_reaches(src: netlab.Host, dst: netlab.Host) -> Callable[[], bool]:
    return lambda: netlab.ping(src.pods[0], dst.pods[0].ip)


def test_host_gw_routes_pods_across_hosts_on_one_segment(
    lab: netlab.Lab, nodes: httpx.Client, start_agents: Callable[[str], dict]
) -> None:
    h = hosts(lab)
    assert not netlab.ping(h["h1"].pods[0], h["h2"].pods[0].ip)  # no route yet
    netlab.in_ns(h["h1"].ns, "ip", "route", "add", "10.250.0.0/16", "via", "192.168.201.254")
    assert netlab.in_ns(h["h1"].ns, "sysctl", "-n", "net.ipv4.ip_forward").stdout.strip() == "0"
    # h2 drops what it forwards, as under a dockerd that turned ip_forward on itself
    netlab.in_ns(h["h2"].ns, "iptables", "-P", "FORWARD", "DROP")
    agents = start_agents("host-gw")

    wait_until(lambda: "10.244.1.0/24" in routes(h["h2"]), "h1's route on h2")
    wait_until(lambda: "FORWARD policy here is DROP" in agents["h2"].log_tail(50), "a warning")
    assert not netlab.ping(h["h1"].pods[0], h["h2"].pods[0].ip)
    netlab.in_ns(h["h2"].ns, "iptables", "-P", "FORWARD", "ACCEPT")
    wait_until(pod_reaches(h["h1"], h["h2"]), "pod h1 -> pod h2")
    wait_until(pod_reaches(h["h2"], h["h1"]), "pod h2 -> pod h1")
    # a route of ours somebody removed comes back at the next resync (5 s here)
    netlab.in_ns(h["h2"].ns, "ip", "route", "del", "10.244.1.0/24")
    wait_until(lambda: "10.244.1.0/24" in routes(h["h2"]), "h1's route back on h2", 15)
    for host in lab.hosts:  # the agents turned forwarding on
        forwarding = netlab.in_ns(host.ns, "sysctl", "-n", "net.ipv4.ip_forward").stdout
        assert forwarding.strip() == "1"
    assert netlab.ping(h["h1"], h["h2"].pods[0].ip)  # the host too (the proxy's path)
    on_h1 = routes(h["h1"])
    assert on_h1["10.244.2.0/24"]["gateway"] == h["h2"].ip
    # h3 is behind the router: the kernel refuses it as a gateway, host-gw cannot do it
    assert "10.244.3.0/24" not in on_h1
    assert not netlab.ping(h["h1"].pods[0], h["h3"].pods[0].ip)
    log = agents["h1"].log_tail(200)
    assert "10.244.3.0/24" in log and "refused" in log, log

    # each agent published its backend on its own Node, with the node's own credential
    for host in lab.hosts:
        annotations = nodes.get(f"/api/v1/nodes/{host.name}").json()["metadata"]["annotations"]
        assert annotations["netagent.minik.io/backend-type"] == "host-gw"
        assert annotations["netagent.minik.io/public-ip"] == host.ip

    assert nodes.delete("/api/v1/nodes/h2").status_code == 200
    wait_until(lambda: "10.244.2.0/24" not in routes(h["h1"]), "h2's route gone from h1")
    assert not netlab.ping(h["h1"].pods[0], h["h2"].pods[0].ip)
    # the route we did not make is untouched
    foreign = netlab.in_ns(h["h1"].ns, "ip", "route", "show", "10.250.0.0/16").stdout
    assert "via 192.168.201.254" in foreign
    netlab.in_ns(h["h1"].ns, "ip", "route", "del", "10.250.0.0/16")


def test_vxlan_carries_pods_across_routed_segments(
    lab: netlab.Lab, nodes: httpx.Client, start_agents: Callable[[str], dict]
) -> None:
    h = hosts(lab)
    agents = start_agents("vxlan")
    for src, dst in (("h1", "h3"), ("h3", "h1"), ("h1", "h2"), ("h2", "h3")):
        wait_until(pod_reaches(h[src], h[dst]), f"pod {src} -> pod {dst} over vxlan")

    macs = {}
    for host in lab.hosts:
        data = json.loads(
            nodes.get(f"/api/v1/nodes/{host.name}").json()["metadata"]["annotations"][ANNOTATION]
        )
        link = json.loads(netlab.in_ns(host.ns, "ip", "-j", "-d", "link", "show", DEV).stdout)[0]
        assert data == {"VNI": 1, "VtepMAC": link["address"]}
        info = link["linkinfo"]["info_data"]
        assert (info["id"], info["port"], info["learning"]) == (1, 8472, False)
        macs[host.name] = link["address"]
    # the host itself reaches a remote pod too (the proxy's path to a Service's endpoint):
    # from its VXLAN address, to which the remote pod's answer is routed back
    assert netlab.ping(h["h1"], h["h3"].pods[0].ip)
    on_h1 = routes(h["h1"])
    assert on_h1["10.244.3.0/24"]["gateway"] == "10.244.3.0"
    assert on_h1["10.244.3.0/24"]["dev"] == DEV and "onlink" in on_h1["10.244.3.0/24"]["flags"]
    fdb = netlab.in_ns(h["h1"].ns, "bridge", "fdb", "show", "dev", DEV).stdout
    assert f"{macs['h3']} dst {h['h3'].ip}" in fdb
    neigh = netlab.in_ns(h["h1"].ns, "ip", "neigh", "show", "dev", DEV).stdout
    assert f"10.244.3.0 lladdr {macs['h3']} PERMANENT" in neigh

    assert nodes.delete("/api/v1/nodes/h3").status_code == 200

    def h3_gone() -> bool:
        return (
            "10.244.3.0/24" not in routes(h["h1"])
            and macs["h3"]
            not in netlab.in_ns(h["h1"].ns, "bridge", "fdb", "show", "dev", DEV).stdout
            and "10.244.3.0"
            not in netlab.in_ns(h["h1"].ns, "ip", "neigh", "show", "dev", DEV).stdout
        )

    wait_until(h3_gone, "h3's route, FDB and neighbour entries gone from h1")
    assert not netlab.ping(h["h1"].pods[0], h["h3"].pods[0].ip)

    # on exit the kernel stays as it is (pods keep their network across a restart) ...
    agents["h1"].stop()
    assert "10.244.2.0/24" in routes(h["h1"])
    assert netlab.ping(h["h1"].pods[0], h["h2"].pods[0].ip)
    # ... and --cleanup removes what the agent made
    netlab.in_ns(h["h1"].ns, sys.executable, "-m", "netagent", "--cleanup")
    assert routes(h["h1"]) == {}
    assert netlab.in_ns(h["h1"].ns, "ip", "link", "show", DEV, check=False).returncode != 0


def test_a_restarted_agent_removes_what_changed_while_it_was_down(
    lab: netlab.Lab, nodes: httpx.Client, start_agents: Callable[..., dict]
) -> None:
    h = hosts(lab)
    agents = start_agents("host-gw", ("h1", "h2"))
    wait_until(pod_reaches(h["h1"], h["h2"]), "pod h1 -> pod h2")
    os.kill(agents["h1"].pid, signal.SIGKILL)  # no chance to tidy up
    agents["h1"].stop()
    assert nodes.delete("/api/v1/nodes/h2").status_code == 200
    assert "10.244.2.0/24" in routes(h["h1"])  # nobody to remove it
    again = start_agents("host-gw", ("h1",))
    # its own routes are found by their protocol number, the Nodes by a fresh list
    wait_until(lambda: "10.244.2.0/24" not in routes(h["h1"]), "the stale route removed")
    assert again["h1"].alive()
