"""The lease endpoint reconciler (apiserver/kubernetesservice + masterleases): two
apiservers on one etcd with different --advertise-address values (TEST-NET-1
addresses, only ever written into objects) are both in the `kubernetes` Service's
Endpoints and EndpointSlice; one killed (SIGKILL: no goodbye) is gone from both within
its lease's TTL (15 s) plus a reconcile turn (10 s) of the survivor; one stopped with
SIGTERM deletes its own lease and is gone at once."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from apiserver.kubernetesservice import ENDPOINT_INTERVAL
from apiserver.masterleases import LEASE_TTL
from deploy.controlplane import (
    ApiServer,
    Etcd,
    make_workdir,
    remove_workdir,
    start_apiserver,
    start_etcd,
)
from tests.support.wait import eventually

FIRST, SECOND = "192.0.2.11", "192.0.2.12"
ENDPOINTS = "/api/v1/namespaces/default/endpoints/kubernetes"
SLICE = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices/kubernetes"


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    path = make_workdir("minik-leases-")
    yield path
    remove_workdir(path)


@pytest.fixture(scope="module")
def etcd(workdir: Path) -> Iterator[Etcd]:
    etcd = start_etcd(workdir)
    yield etcd
    etcd.stop()


@pytest.fixture(scope="module")
def first(etcd: Etcd, workdir: Path) -> Iterator[ApiServer]:
    server = start_apiserver(etcd, workdir / "a", [f"--advertise-address={FIRST}"])
    yield server
    server.stop()


def _start_second(etcd: Etcd, workdir: Path, run: int) -> ApiServer:
    return start_apiserver(etcd, workdir / f"b{run}", [f"--advertise-address={SECOND}"])


def listed(server: ApiServer) -> tuple[list[str], list[str]]:
    """The addresses in the Endpoints and in the EndpointSlice."""
    with server.http() as http:
        eps = http.get(ENDPOINTS).json()
        sl = http.get(SLICE).json()
    subsets = eps.get("subsets") or [{}]
    in_eps = [a["ip"] for a in subsets[0].get("addresses") or []]
    in_slice = [a for e in sl.get("endpoints") or [] for a in e["addresses"]]
    return in_eps, in_slice


def test_every_live_apiserver_is_listed_and_a_dead_one_leaves(
    etcd: Etcd, first: ApiServer, workdir: Path
):
    eventually(lambda: listed(first) == ([FIRST], [FIRST]), timeout=15, message="first alone")
    second = _start_second(etcd, workdir, 1)
    try:
        both = ([FIRST, SECOND], [FIRST, SECOND])
        eventually(lambda: listed(first) == both, timeout=15, message="both listed")
        ports = first.http().get(ENDPOINTS).json()["subsets"][0]["ports"]
        assert [p["name"] for p in ports] == ["https"]
        os.kill(second.running().pid, signal.SIGKILL)
        killed = time.monotonic()
        bound = LEASE_TTL + ENDPOINT_INTERVAL + 3
        eventually(
            lambda: listed(first) == ([FIRST], [FIRST]),
            timeout=bound,
            interval=0.2,
            message="the killed apiserver leaves the endpoints",
        )
        took = time.monotonic() - killed
        print(f"killed apiserver gone from the endpoints after {took:.1f}s (bound {bound}s)")
        assert took >= 2, "gone before its lease could have ended: not the lease's doing"
    finally:
        second.stop()


def test_a_stopping_apiserver_takes_itself_out_at_once(etcd: Etcd, first: ApiServer, workdir: Path):
    second = _start_second(etcd, workdir, 2)
    both = ([FIRST, SECOND], [FIRST, SECOND])
    try:
        eventually(lambda: listed(first) == both, timeout=15, message="both listed")
    finally:
        began = time.monotonic()
        second.stop()  # SIGTERM
    eventually(lambda: listed(first) == ([FIRST], [FIRST]), timeout=5, message="gone at once")
    took = time.monotonic() - began
    print(f"stopped apiserver gone from the endpoints after {took:.1f}s")
