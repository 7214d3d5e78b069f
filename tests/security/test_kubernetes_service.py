"""Issue 11, "The `kubernetes` Service and its endpoints are reconciled continuously;
deleting it no longer prevents the next apiserver start ("provided IP is already
allocated")".

The apiserver created default/kubernetes once at start: a deleted one stayed gone
until a restart, and a restart failed while its address was still allocated (to a
Service that no longer existed, or to another one). This module has its own etcd
(it edits etcd behind the apiserver's back) and its own apiserver, restarted by the
tests. Re-creation is awaited with watches from before the deletion."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from apiserver.allocator import ip_key
from apiserver.storage import Storage, object_key
from deploy.controlplane import ApiServer, Etcd, start_apiserver

KUBERNETES_IP = "10.96.0.1"  # the first address of the default service range
SERVICES = "/api/v1/namespaces/default/services"
ENDPOINTS = "/api/v1/namespaces/default/endpoints"
SLICES = "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices"
PROMPTLY = 5.0  # seconds; Kubernetes' loop takes up to 10


@pytest.fixture(scope="module")
def server(own_etcd: Etcd, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    server = start_apiserver(own_etcd, Path(tmp_path_factory.mktemp("k8ssvc")))
    yield server
    server.stop()


@pytest.fixture
def http(server: ApiServer) -> Iterator[httpx.Client]:
    with server.http() as client:
        yield client


def watch_until(
    http: httpx.Client, path: str, resource_version: str, done: Callable[[dict], bool]
) -> dict:
    """The first event on `path` (for name=kubernetes) after `resource_version` that
    `done` accepts; fails after PROMPTLY seconds."""
    params = {
        "watch": "true",
        "resourceVersion": resource_version,
        "fieldSelector": "metadata.name=kubernetes",
        "timeoutSeconds": str(int(PROMPTLY)),
    }
    seen = []
    with http.stream("GET", path, params=params, timeout=PROMPTLY + 5) as r:
        assert r.status_code == 200, r.read()
        for line in r.iter_lines():
            if not line:
                continue
            event = json.loads(line)
            seen.append((event["type"], event["object"].get("metadata", {}).get("name")))
            if done(event):
                return event["object"]
    raise AssertionError(f"{path}: not made again within {PROMPTLY}s; events: {seen}")


def added(event: dict) -> bool:
    return event["type"] == "ADDED"


def current_revision(http: httpx.Client) -> str:
    return http.get(SERVICES, params={"limit": "1"}).json()["metadata"]["resourceVersion"]


def etcd_edit(etcd: Etcd, edit: Callable[[Storage], object]) -> None:
    """Runs `edit` on the etcd itself (the apiserver stopped)."""

    async def run() -> None:
        storage = Storage([etcd.url])
        await storage.connect()
        try:
            await edit(storage)  # type: ignore[misc]
        finally:
            await storage.close()

    asyncio.run(run())


def test_deleted_service_and_endpoints_are_made_again_at_once(server, http):
    """The finding: deleting the kubernetes Service was permanent until a restart."""
    before = http.get(f"{SERVICES}/kubernetes").json()
    assert before["spec"]["clusterIP"] == KUBERNETES_IP
    revision = current_revision(http)
    for path in (SERVICES, ENDPOINTS, SLICES):
        r = http.delete(f"{path}/kubernetes")
        assert r.status_code == 200, r.text
    service = watch_until(http, SERVICES, revision, added)
    assert service["spec"]["clusterIP"] == KUBERNETES_IP
    assert [(p["name"], p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [
        ("https", 443, server.port)
    ]
    assert service["metadata"]["uid"] != before["metadata"]["uid"]
    endpoints = watch_until(http, ENDPOINTS, revision, added)
    assert endpoints["subsets"][0]["ports"][0]["port"] == server.port
    endpoint_slice = watch_until(http, SLICES, revision, added)
    assert endpoint_slice["ports"][0]["port"] == server.port


def test_start_survives_an_allocated_ip_whose_service_is_gone(server, own_etcd, http):
    """The finding: "provided IP is already allocated" stopped the next start. Here
    the Service is gone and its address's allocation left behind (a leak)."""
    server.stop()

    async def leak(storage: Storage) -> None:
        await storage.delete(object_key("services", "default", "kubernetes"))
        assert await storage.exists(ip_key(KUBERNETES_IP))

    etcd_edit(own_etcd, leak)
    server.restart()  # fails with "apiserver exited with 3" before the fix
    with server.http() as fresh:
        service = fresh.get(f"{SERVICES}/kubernetes").json()
        assert service["spec"]["clusterIP"] == KUBERNETES_IP


def test_start_survives_another_service_holding_the_ip_and_takes_it_once_freed(server, own_etcd):
    """The squatted case: while the kubernetes Service was gone, another Service got
    its address. The apiserver starts all the same (logging "unable to sync
    kubernetes service") and makes the Service again as soon as the address is free."""
    server.stop()
    squat_key = object_key("services", "default", "squat")

    async def squat(storage: Storage) -> None:
        service = await storage.get(object_key("services", "default", "kubernetes"))
        assert service is not None
        await storage.delete(object_key("services", "default", "kubernetes"))
        service["metadata"] = {"name": "squat", "namespace": "default", "uid": "squat-uid"}
        await storage.client.put(squat_key.encode(), json.dumps(service).encode())
        await storage.client.put(ip_key(KUBERNETES_IP).encode(), squat_key.encode())

    etcd_edit(own_etcd, squat)
    server.restart()
    log = (server.workdir / f"apiserver-{server.restarts}.log").read_text()
    assert "unable to sync kubernetes service" in log and "held by another Service" in log
    with server.http() as http:
        assert http.get(f"{SERVICES}/kubernetes").status_code == 404
        revision = current_revision(http)
        assert http.delete(f"{SERVICES}/squat").status_code == 200
        service = watch_until(http, SERVICES, revision, added)
        assert service["spec"]["clusterIP"] == KUBERNETES_IP


def test_start_corrects_the_services_ports_and_the_endpoints(server):
    """Kubernetes corrects the Service's ports and type at start; the endpoints
    point at the apiserver that started."""
    with server.http() as http:
        patch = {"spec": {"ports": [{"name": "https", "port": 8443, "targetPort": 1}]}}
        r = http.patch(
            f"{SERVICES}/kubernetes",
            json=patch,
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert r.status_code == 200, r.text
        r = http.patch(
            f"{ENDPOINTS}/kubernetes",
            json={"subsets": [{"addresses": [{"ip": "192.0.2.1"}], "ports": [{"port": 1}]}]},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        assert r.status_code == 200, r.text
    server.restart()
    with server.http() as http:
        ports = http.get(f"{SERVICES}/kubernetes").json()["spec"]["ports"]
        assert [(p["port"], p["targetPort"]) for p in ports] == [(443, server.port)]
        subsets = http.get(f"{ENDPOINTS}/kubernetes").json()["subsets"]
        assert subsets[0]["ports"][0]["port"] == server.port
        assert subsets[0]["addresses"][0]["ip"] != "192.0.2.1"
