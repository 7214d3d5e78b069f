"""client/ against the real apiserver on a real etcd: CRUD, typed errors, pagination,
watches that survive an apiserver restart and an etcd compaction, and informers."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from api.errors import Conflict, Invalid, NotFound, Unauthorized
from api.resources import lookup
from client.errors import ConnectionFailed
from client.informer import Informer
from client.kubeconfig import load
from client.rest import ALL_NAMESPACES, AsyncClient, Client
from client.watch import RELIST, Backoff, ResumableWatch
from deploy.controlplane import (
    start_apiserver,
)
from tests.support.wait import eventually, eventually_async

PODS, DEPLOY, NAMESPACES, CONFIGS = (
    lookup(n) for n in ("pods", "deployments", "namespaces", "leases")
)
LEASES = CONFIGS


def pod(name: str, **labels: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": labels},
        "spec": {"containers": [{"name": "c", "image": "busybox"}]},
    }


def lease(name: str, holder: str = "a") -> dict[str, Any]:
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": name},
        "spec": {"holderIdentity": holder},
    }


@pytest.fixture
def client(apiserver) -> Iterator[Client]:
    with Client(load(str(apiserver.kubeconfig))) as c:
        yield c


def test_crud_round_trip(client, namespace):
    created = client.create(PODS, pod("a", app="web"), namespace)
    assert created["kind"] == "Pod" and created["metadata"]["namespace"] == namespace
    got = client.get(PODS, "a", namespace)
    assert got["metadata"]["uid"] == created["metadata"]["uid"]

    got["metadata"]["labels"]["tier"] = "front"
    updated = client.update(PODS, got)
    assert updated["metadata"]["labels"] == {"app": "web", "tier": "front"}
    got["metadata"]["labels"]["tier"] = "back"
    with pytest.raises(Conflict):
        client.update(PODS, got)  # stale resourceVersion

    merged = client.patch(PODS, "a", {"metadata": {"labels": {"tier": None}}}, "merge", namespace)
    assert merged["metadata"]["labels"] == {"app": "web"}
    strategic = client.patch(
        PODS,
        "a",
        {"spec": {"containers": [{"name": "c", "image": "busybox:2"}]}},
        "strategic",
        namespace,
    )
    assert strategic["spec"]["containers"][0]["image"] == "busybox:2"
    jsonp = client.patch(
        PODS, "a", [{"op": "add", "path": "/metadata/labels/x", "value": "y"}], "json", namespace
    )
    assert jsonp["metadata"]["labels"]["x"] == "y"

    status = dict(jsonp, status={"phase": "Running", "podIP": "10.0.0.9"})
    assert client.update_status(PODS, status)["status"]["phase"] == "Running"

    client.delete(PODS, "a", namespace, grace_period_seconds=0)

    def not_found() -> NotFound | None:
        try:
            client.get(PODS, "a", namespace)
        except NotFound as err:
            return err
        return None

    assert eventually(not_found, message="pod deleted").message == 'pods "a" not found'


def test_server_side_apply_creates_then_updates(client, namespace):
    first = client.patch(LEASES, "l1", lease("l1"), "apply", namespace, field_manager="test")
    assert first["spec"]["holderIdentity"] == "a"
    second = client.patch(
        LEASES, "l1", lease("l1", "b"), "apply", namespace, field_manager="test", force=True
    )
    assert second["spec"]["holderIdentity"] == "b"


def test_list_selectors_and_pagination(client, namespace):
    for i in range(5):
        client.create(
            LEASES,
            {**lease(f"l{i}"), "metadata": {"name": f"l{i}", "labels": {"even": str(i % 2 == 0)}}},
            namespace,
        )
    everything = client.list(LEASES, namespace, limit=2)  # three pages, followed
    assert [o["metadata"]["name"] for o in everything["items"]] == [f"l{i}" for i in range(5)]
    assert "continue" not in everything["metadata"]
    assert everything["metadata"]["resourceVersion"]
    even = client.list(LEASES, namespace, label_selector="even=True")
    assert [o["metadata"]["name"] for o in even["items"]] == ["l0", "l2", "l4"]
    one = client.list(LEASES, namespace, field_selector="metadata.name=l3")
    assert [o["metadata"]["name"] for o in one["items"]] == ["l3"]
    across = client.list(LEASES, ALL_NAMESPACES, label_selector="even=True")
    assert {o["metadata"]["namespace"] for o in across["items"]} >= {namespace}
    table = client.list(LEASES, namespace, as_table=True)
    assert table["kind"] == "Table" and len(table["rows"]) == 5

    client.delete_collection(LEASES, namespace, label_selector="even=False")
    left = client.list(LEASES, namespace)
    assert [o["metadata"]["name"] for o in left["items"]] == ["l0", "l2", "l4"]


def test_typed_errors(apiserver, client, namespace):
    bad = pod("bad")
    bad["spec"]["containers"] = []
    with pytest.raises(Invalid) as info:
        client.create(PODS, bad, namespace)
    assert any("spec.containers" in c.get("field", "") for c in info.value.causes)
    with pytest.raises(NotFound):
        client.get(DEPLOY, "nope", namespace)
    with (
        Client(
            server=apiserver.url, token="wrong", config=load(str(apiserver.kubeconfig))
        ) as intruder,
        pytest.raises(Unauthorized),
    ):
        intruder.list(PODS, namespace)


def test_unreachable_server_is_one_line():
    with (
        Client(server="https://127.0.0.1:1", token="t") as c,
        pytest.raises(ConnectionFailed) as info,
    ):
        c.get_path("/version")
    assert str(info.value) == (
        "the connection to the server 127.0.0.1:1 was refused - did "
        "you specify the right host or port?"
    )


def test_watch_sees_every_change_in_order(client, namespace):
    start = client.list(LEASES, namespace)["metadata"]["resourceVersion"]
    client.create(LEASES, lease("w"), namespace)
    client.patch(LEASES, "w", {"spec": {"holderIdentity": "z"}}, "merge", namespace)
    client.delete(LEASES, "w", namespace)
    events = []
    with contextlib.closing(
        client.watch(LEASES, namespace, resource_version=start, timeout_seconds=5)
    ) as stream:
        for event_type, obj in stream:
            events.append(
                (event_type, obj["metadata"]["name"], int(obj["metadata"]["resourceVersion"]))
            )
            if len(events) == 3:
                break
    assert [e[0] for e in events] == ["ADDED", "MODIFIED", "DELETED"]
    rvs = [e[2] for e in events]
    assert rvs == sorted(rvs) and len(set(rvs)) == 3  # the delete carries its own revision


def test_async_client_and_watch(apiserver, namespace):
    async def scenario() -> list[str]:
        async with AsyncClient(load(str(apiserver.kubeconfig))) as c:
            start = (await c.list(LEASES, namespace))["metadata"]["resourceVersion"]
            await c.create(LEASES, lease("x"), namespace)
            assert (await c.get(LEASES, "x", namespace))["spec"]["holderIdentity"] == "a"
            await c.delete(LEASES, "x", namespace)
            seen = []
            stream = c.watch(LEASES, namespace, resource_version=start, timeout_seconds=5)
            async for event_type, _ in stream:
                seen.append(event_type)
                if len(seen) == 2:
                    break
            await stream.aclose()
            return seen

    assert asyncio.run(scenario()) == ["ADDED", "DELETED"]


def test_informer_tracks_the_server(apiserver, namespace):
    calls: list[tuple[str, str]] = []

    async def scenario() -> list[str]:
        async with AsyncClient(load(str(apiserver.kubeconfig))) as c:
            await c.create(LEASES, lease("before"), namespace)
            inf = Informer(
                c,
                LEASES,
                namespace,
                on_add=lambda o: calls.append(("add", o["metadata"]["name"])),
                on_update=lambda a, b: calls.append(("update", b["metadata"]["name"])),
                on_delete=lambda o: calls.append(("delete", o["metadata"]["name"])),
            )
            inf.start()
            assert await inf.wait_for_sync(10)
            await c.create(LEASES, lease("after"), namespace)
            await c.patch(LEASES, "before", {"spec": {"holderIdentity": "q"}}, "merge", namespace)
            await c.delete(LEASES, "after", namespace)
            await eventually_async(lambda: ("delete", "after") in calls, message="the delete seen")
            keys = sorted(inf.keys())
            await inf.stop()
            return keys

    keys = asyncio.run(scenario())
    assert calls == [("add", "before"), ("add", "after"), ("update", "before"), ("delete", "after")]
    assert keys == [f"{namespace}/before"]


# ---- disruptive tests: their own etcd and apiserver ------------------------------------


def test_resumable_watch_survives_an_apiserver_restart(own_cluster):
    etcd, server = own_cluster

    async def scenario() -> list[tuple[str, str]]:
        async with AsyncClient(load(str(server.kubeconfig))) as c:
            await c.create(LEASES, lease("r0"), "default")
            seen: list[tuple[str, str]] = []
            watch = ResumableWatch(c, LEASES, "default", backoff=Backoff(0.05, maximum=0.5))

            async def consume() -> None:
                async for event_type, obj in watch:
                    if event_type == RELIST:
                        seen.extend(("LIST", i["metadata"]["name"]) for i in obj["items"])
                    else:
                        seen.append((event_type, obj["metadata"]["name"]))

            task = asyncio.create_task(consume())
            await eventually_async(lambda: ("LIST", "r0") in seen)
            await c.create(LEASES, lease("r1"), "default")
            await eventually_async(lambda: ("ADDED", "r1") in seen)
            await asyncio.to_thread(server.stop)
            # written behind the apiserver's back, straight through a second one
            helper = start_apiserver(etcd, server.workdir.parent / "helper")
            try:
                async with AsyncClient(load(str(helper.kubeconfig))) as h:
                    await h.create(LEASES, lease("r2"), "default")
                    await h.delete(LEASES, "r0", "default")
            finally:
                await asyncio.to_thread(helper.stop)
            await asyncio.to_thread(server.start)
            await c.create(LEASES, lease("r3"), "default")
            await eventually_async(lambda: ("ADDED", "r3") in seen, timeout=20)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return seen

    seen = asyncio.run(scenario())
    assert seen == [
        ("LIST", "r0"),
        ("ADDED", "r1"),
        ("ADDED", "r2"),
        ("DELETED", "r0"),
        ("ADDED", "r3"),
    ]


def test_compacted_history_relists(own_cluster):
    etcd, server = own_cluster
    with Client(load(str(server.kubeconfig))) as c:
        old = c.create(LEASES, lease("c0"), "default")["metadata"]["resourceVersion"]
        c.create(LEASES, lease("c1"), "default")
        latest = c.create(LEASES, lease("c2"), "default")["metadata"]["resourceVersion"]
        subprocess.run(
            ["etcdctl", f"--endpoints={etcd.url}", "compact", latest],
            check=True,
            capture_output=True,
        )
        server.restart()  # a fresh watch cache: its history starts after the compaction
        watch = ResumableWatch(
            c, LEASES, "default", resource_version=old, backoff=Backoff(0.05, maximum=0.5)
        )
        event_type, listing = next(iter(watch))
    assert event_type == RELIST
    names = {i["metadata"]["name"] for i in listing["items"]}
    assert {"c0", "c1", "c2"} <= names
    assert int(listing["metadata"]["resourceVersion"]) >= int(latest)
