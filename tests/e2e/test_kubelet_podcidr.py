"""`--pod-cidr-from-node` with the node IPAM controller, real Docker: the kubelet
registers, waits for its Node's spec.podCIDR, creates its pod network with exactly
that subnet (gateway the first address), and its pods' IPs lie in the podCIDR. A
second kubelet on the same engine with the same network name gets another podCIDR
and refuses to start, saying why, rather than join the first one's subnet.

A control plane of its own (etcd, apiserver, controller manager with nodeipam only):
the allocator hands out subnets to every Node of the cluster. The cluster CIDR is a
random 10.x.0.0/16 that overlaps no Docker network of this machine."""

from __future__ import annotations

import ipaddress
import random
import secrets
from collections.abc import Iterator

import docker
import httpx
import pytest

from deploy import processes
from deploy.controlplane import ApiServer, make_workdir, remove_workdir, start_apiserver, start_etcd
from tests.e2e.conftest import (
    KubeletProcess,
    create_pod,
    is_ready,
    node_containers,
    pod_manifest,
    remove_network,
    remove_node_containers,
    wait_pod,
)
from tests.support.controllermanager import ManagerProcess
from tests.support.wait import eventually


def free_cluster_cidr() -> ipaddress.IPv4Network:
    """A 10.x.0.0/16 no Docker network on this engine overlaps."""
    used = [
        ipaddress.ip_network(c["Subnet"])
        for net in docker.from_env().api.networks()
        for c in ((net.get("IPAM") or {}).get("Config") or [])
        if c.get("Subnet") and ":" not in c["Subnet"]
    ]
    for _ in range(100):
        candidate = ipaddress.IPv4Network(f"10.{random.randint(150, 254)}.0.0/16")
        if not any(candidate.overlaps(u) for u in used):
            return candidate
    raise AssertionError("no free 10.x.0.0/16 for the cluster CIDR")


@pytest.fixture(scope="module")
def plane() -> Iterator[tuple[ApiServer, ipaddress.IPv4Network, ManagerProcess]]:
    workdir = make_workdir("minik-ipam-e2e-")
    etcd = start_etcd(workdir)
    apiserver = start_apiserver(etcd, workdir / "apiserver")
    cidr = free_cluster_cidr()
    manager = ManagerProcess(
        apiserver,
        workdir,
        "--controllers=nodeipam",
        "--allocate-node-cidrs",
        f"--cluster-cidr={cidr}",
        "--node-cidr-mask-size=24",
    ).start()
    try:
        yield apiserver, cidr, manager
    finally:
        manager.stop()
        apiserver.stop()
        etcd.stop()
        remove_workdir(workdir)


def kubelet(apiserver: ApiServer, network: str, workdir_name: str) -> KubeletProcess:
    node = f"ipam-{secrets.token_hex(3)}"
    workdir = apiserver.workdir / workdir_name
    workdir.mkdir(exist_ok=True)
    return KubeletProcess(
        apiserver,
        node,
        workdir / node,
        processes.free_port(),
        network,
        workdir,
        ["--pod-cidr-from-node"],
    )


def ready_condition(api: httpx.Client, node: str) -> dict | None:
    r = api.get(f"/api/v1/nodes/{node}")
    if r.status_code != 200:
        return None
    conditions = (r.json().get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c["type"] == "Ready"), None)


def test_pod_network_is_the_nodes_pod_cidr(plane, busybox: str) -> None:
    apiserver, cluster_cidr, manager = plane
    network = f"minik-e2e-ipam-{secrets.token_hex(3)}"
    first = kubelet(apiserver, network, "kubelets")
    second = kubelet(apiserver, network, "kubelets")
    try:
        # no node IPAM yet: the kubelet registers, heartbeats, and waits NotReady
        manager.stop()
        first.start(wait=False)
        with apiserver.http() as api:
            waiting = eventually(
                lambda: ready_condition(api, first.node), timeout=60, message="node registered"
            )
            assert waiting["status"] == "False"
            assert "NetworkPluginNotReady" in waiting["message"], waiting
            lease = f"/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/{first.node}"
            eventually(lambda: api.get(lease).status_code == 200, timeout=20, message="lease")
            assert not docker.from_env().api.networks(names=[network])
            manager.start()
            assert first.process is not None
            processes.wait_for(first._ready, 60, first.process, f"kubelet {first.node}")
            spec = api.get(f"/api/v1/nodes/{first.node}").json()["spec"]
            cidr = ipaddress.ip_network(spec["podCIDR"])
            assert spec["podCIDRs"] == [str(cidr)] and cidr.subnet_of(cluster_cidr)
            nets = docker.from_env().api.networks(names=[network])
            assert [n["Name"] for n in nets] == [network]
            ipam = docker.from_env().api.inspect_network(nets[0]["Id"])["IPAM"]["Config"]
            assert ipam == [{"Subnet": str(cidr), "Gateway": str(cidr.network_address + 1)}]
            eventually(
                lambda: (ready_condition(api, first.node) or {}).get("status") == "True",
                timeout=30,
                message="node Ready",
            )

            container = {"name": "c", "image": busybox, "command": ["sleep", "3600"]}
            create_pod(api, "default", pod_manifest("in-cidr", first.node, [container]))
            pod = wait_pod(api, "default", "in-cidr", is_ready, what="Ready", timeout=60)
            assert ipaddress.ip_address(pod["status"]["podIP"]) in cidr

            # a second kubelet on this engine, same network name: another podCIDR,
            # so it refuses to start
            second.start(wait=False)
            assert second.process is not None
            code = second.process.popen.wait(60)
            assert code == 1, second.log_tail()
            other = ipaddress.ip_network(
                api.get(f"/api/v1/nodes/{second.node}").json()["spec"]["podCIDR"]
            )
            assert other != cidr
            assert f"not this Node's podCIDR {other}" in second.log_tail(), second.log_tail()
            # the first kubelet's pod kept its address
            assert wait_pod(api, "default", "in-cidr", is_ready)["status"]["podIP"] == str(
                pod["status"]["podIP"]
            )
            # a restarted kubelet finds its network as it left it and adopts the pod
            sandbox_ids = {c["Id"] for c in node_containers(first.node)}
            first.kill()
            first.start()
            assert len(docker.from_env().api.networks(names=[network])) == 1
            again = wait_pod(api, "default", "in-cidr", is_ready)
            assert again["status"]["podIP"] == pod["status"]["podIP"]
            assert {c["Id"] for c in node_containers(first.node)} == sandbox_ids
            assert manager.alive()
            api.delete(
                "/api/v1/namespaces/default/pods/in-cidr", params={"gracePeriodSeconds": "0"}
            )
    finally:
        for k in (first, second):
            k.stop()
            remove_node_containers(k.node)
        remove_network(network)
