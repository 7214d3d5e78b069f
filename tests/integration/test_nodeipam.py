"""The node IPAM controller against a real etcd and apiserver: each Node gets a
podCIDR of its own from --cluster-cidr, set once; a deleted Node's subnet is free
again; a restarted controller first takes the subnets Nodes already have, so it
hands out no duplicate; an exhausted range is an Event CIDRNotAvailable on the Node
and a retry that succeeds as soon as a subnet is freed.

A cluster of its own: the allocator counts every Node in the cluster. The cluster
CIDR has room for 4 Nodes (/22 into /24s)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator

import httpx
import pytest

from deploy.controlplane import ApiServer, make_workdir, remove_workdir, start_apiserver, start_etcd
from tests.support.controllermanager import ManagerProcess
from tests.support.wait import eventually

CLUSTER_CIDR = "10.250.0.0/22"
FLAGS = (
    "--controllers=nodeipam",
    "--allocate-node-cidrs",
    f"--cluster-cidr={CLUSTER_CIDR}",
    "--node-cidr-mask-size=24",
)


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[ApiServer, ManagerProcess]]:
    workdir = make_workdir("minik-nodeipam-")
    etcd = start_etcd(workdir)
    apiserver = start_apiserver(etcd, workdir / "apiserver")
    manager = ManagerProcess(apiserver, workdir, *FLAGS).start()
    try:
        yield apiserver, manager
    finally:
        manager.stop()
        apiserver.stop()
        etcd.stop()
        remove_workdir(workdir)


def create_node(http: httpx.Client, name: str) -> None:
    body = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}
    r = http.post("/api/v1/nodes", json=body)
    assert r.status_code == 201, r.text


def pod_cidr(http: httpx.Client, name: str) -> str | None:
    spec = http.get(f"/api/v1/nodes/{name}").json().get("spec") or {}
    if spec.get("podCIDR"):
        assert spec["podCIDRs"] == [spec["podCIDR"]], spec
    return spec.get("podCIDR")


def wait_cidr(http: httpx.Client, name: str, timeout: float = 20) -> str:
    return eventually(lambda: pod_cidr(http, name), timeout=timeout, message=f"{name} podCIDR")


def clear_nodes(http: httpx.Client) -> None:
    """Whatever the module's other test left: the range is the module's."""
    for node in http.get("/api/v1/nodes").json()["items"]:
        http.delete(f"/api/v1/nodes/{node['metadata']['name']}")


def cidr_events(http: httpx.Client, node: str) -> list[dict]:
    items = http.get("/api/v1/namespaces/default/events").json()["items"]
    return [
        e
        for e in items
        if e.get("reason") == "CIDRNotAvailable"
        and (e.get("involvedObject") or {}).get("name") == node
    ]


def test_distinct_subnets_set_once_released_and_not_reused_after_restart(cluster):
    apiserver, manager = cluster
    with apiserver.http() as http:
        clear_nodes(http)
        for name in ("ipam-a", "ipam-b", "ipam-c"):
            create_node(http, name)
        cidrs = {name: wait_cidr(http, name) for name in ("ipam-a", "ipam-b", "ipam-c")}
        assert len(set(cidrs.values())) == 3, cidrs
        net = ipaddress.ip_network(CLUSTER_CIDR)
        for cidr in cidrs.values():
            sub = ipaddress.ip_network(cidr)
            assert sub.prefixlen == 24 and sub.subnet_of(net), cidr  # type: ignore[arg-type]

        # set once: the apiserver refuses to move it (Kubernetes' rule and words)
        r = http.patch(
            "/api/v1/nodes/ipam-a",
            json={"spec": {"podCIDR": "10.9.9.0/24", "podCIDRs": ["10.9.9.0/24"]}},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert r.status_code == 422, r.text
        cause = r.json()["details"]["causes"][0]
        assert cause["field"] == "spec.podCIDRs" and cause["reason"] == "FieldValueForbidden"
        assert 'may not change podCIDR except from "" to valid' in cause["message"]
        assert pod_cidr(http, "ipam-a") == cidrs["ipam-a"]

        # delete one, restart the controller, add two: no duplicate of a live Node's
        assert http.delete("/api/v1/nodes/ipam-b").status_code == 200
        manager.stop()
        create_node(http, "ipam-d")
        create_node(http, "ipam-e")
        manager.start()
        d, e = wait_cidr(http, "ipam-d"), wait_cidr(http, "ipam-e")
        live = [cidrs["ipam-a"], cidrs["ipam-c"], d, e]
        assert len(set(live)) == 4, live
        assert cidrs["ipam-b"] in (d, e)  # the freed subnet is free again
        assert "2 Node(s) already have podCIDRs" in manager.log()


def test_exhausted_range_is_an_event_and_a_retry(cluster):
    apiserver, manager = cluster
    with apiserver.http() as http:
        clear_nodes(http)  # then fill the 4 subnets with this test's Nodes
        names = [f"full-{i}" for i in range(4)]
        for name in names:
            create_node(http, name)
        taken = {n: wait_cidr(http, n) for n in names}
        assert len(set(taken.values())) == 4, taken
        create_node(http, "full-x")
        event = eventually(lambda: cidr_events(http, "full-x"), timeout=20)[0]
        assert event["type"] == "Warning"
        assert event["message"] == "Node full-x status is now: CIDRNotAvailable"
        assert event["source"]["component"] == "cidrAllocator"
        assert event["involvedObject"]["kind"] == "Node"
        assert pod_cidr(http, "full-x") is None
        # a freed subnet goes to the waiting Node at once, not after its back-off
        assert http.delete("/api/v1/nodes/full-2").status_code == 200
        assert wait_cidr(http, "full-x", timeout=10) == taken["full-2"]
        assert manager.alive()
        assert "Traceback" not in manager.log()
