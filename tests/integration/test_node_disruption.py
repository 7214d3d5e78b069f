"""Eviction storms do not happen: the node lifecycle controller rate-limits the
evicting (NoExecute) taints per zone, withholds them in a partially disrupted small
zone, and lifts them when every node is down at once ("master disruption mode").

A cluster of its own (etcd, apiserver, controller manager), because zone states count
every Node in the cluster."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from deploy.controlplane import ApiServer, make_workdir, remove_workdir, start_apiserver, start_etcd
from tests.support.controllermanager import GRACE, ManagerProcess
from tests.support.fakenode import FakeCluster
from tests.support.wait import eventually

UNREACHABLE = "node.kubernetes.io/unreachable"
EVICTION_RATE = 0.25  # one node every 4 s


@pytest.fixture(scope="module")
def cluster() -> Iterator[ApiServer]:
    workdir = make_workdir("minik-disruption-")
    etcd = start_etcd(workdir)
    apiserver = start_apiserver(etcd, workdir / "apiserver")
    manager = ManagerProcess(
        apiserver,
        workdir,
        "--controllers=nodelifecycle",
        f"--node-eviction-rate={EVICTION_RATE}",
    ).start()
    try:
        yield apiserver
    finally:
        manager.stop()
        apiserver.stop()
        etcd.stop()
        remove_workdir(workdir)


def taints(http: httpx.Client, node: str) -> set[tuple[str, str]]:
    spec = http.get(f"/api/v1/nodes/{node}").json().get("spec") or {}
    return {(t["key"], t["effect"]) for t in spec.get("taints") or []}


def unreachable_noschedule(http: httpx.Client, nodes: list[str]) -> bool:
    """The pass that would add the evicting taint has run on every node."""
    return all((UNREACHABLE, "NoSchedule") in taints(http, n) for n in nodes)


def test_two_of_five_nodes_down_are_tainted_one_by_one_at_the_eviction_rate(cluster):
    with cluster.http() as http, FakeCluster(http, "rate", list("abcde")) as fake:
        down = [fake.node_name("a"), fake.node_name("b")]
        fake.kill("a")
        fake.kill("b")
        tainted_at: dict[str, float] = {}

        def both_tainted() -> bool:
            for node in down:
                if node not in tainted_at and (UNREACHABLE, "NoExecute") in taints(http, node):
                    tainted_at[node] = time.monotonic()
            return len(tainted_at) == 2

        eventually(both_tainted, timeout=GRACE + 15, interval=0.1, message="both evicting taints")
        first, second = sorted(tainted_at.values())
        assert second - first >= 1 / EVICTION_RATE - 1.0, tainted_at


def test_a_partially_disrupted_small_zone_gets_no_evicting_taints(cluster):
    with cluster.http() as http, FakeCluster(http, "partial", list("abcde")) as fake:
        down = [fake.node_name(n) for n in "abc"]  # 3 of 5: >2 and >= 55%
        for n in "abc":
            fake.kill(n)
        eventually(lambda: unreachable_noschedule(http, down), timeout=GRACE + 10)
        time.sleep(2.5)  # past the 1 s settling and one more look at the zone
        assert not any((UNREACHABLE, "NoExecute") in taints(http, n) for n in down)


def test_all_nodes_down_is_master_disruption_and_nothing_is_evicted(cluster):
    with cluster.http() as http, FakeCluster(http, "all", list("ab")) as fake:
        # Other tests' clusters are gone (FakeCluster deletes its nodes), so these two
        # are the whole cluster.
        nodes = [fake.node_name("a"), fake.node_name("b")]
        fake.kill("a")
        fake.kill("b")
        eventually(lambda: unreachable_noschedule(http, nodes), timeout=GRACE + 10)
        time.sleep(2.5)
        assert not any((UNREACHABLE, "NoExecute") in taints(http, n) for n in nodes)
        fake.revive("a")
        fake.revive("b")
        eventually(lambda: not any(taints(http, n) for n in nodes), timeout=10)
