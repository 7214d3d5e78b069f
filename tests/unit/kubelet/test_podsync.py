"""A pod sync against a fake Docker and a fake apiserver: the Events it writes on
the way (Pulled, Created, Started) reach the apiserver with the container's
`fieldPath`, also when the kubelet bind-mounts a resolv.conf of its own.

The apiserver is an httpx MockTransport behind the real `AsyncClient`, so each Event
goes through the real sink, recorder and JSON encoding."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx

from client.events import EventRecorder
from client.rest import AsyncClient
from kubelet.containerspec import DnsSettings
from kubelet.events import EventSink
from kubelet.images import ImageManager
from kubelet.pleg import Pleg, RuntimeCache
from kubelet.podsync import PodSyncer, SyncSettings
from kubelet.records import EXITED, RUNNING, ContainerRecord
from kubelet.statusmanager import StatusManager


class FakeDocker:
    """Creates and starts containers that never show up in `inspect`."""

    def __init__(self) -> None:
        self.created: list[Any] = []

    async def image(self, ref: str) -> dict[str, Any] | None:
        return {"Id": "sha256:abc"}

    async def create(self, spec: Any) -> str:
        self.created.append(spec)
        return f"c{len(self.created)}"

    async def start(self, container_id: str) -> None:
        return None

    async def inspect(self, container_id: str) -> dict[str, Any] | None:
        return None


class NoProbes:
    def ready(self, uid: str) -> dict[str, bool]:
        return {}

    def started(self, uid: str) -> dict[str, bool]:
        return {}

    def kill_requests(self, uid: str, pod: dict[str, Any], runtime: Any) -> dict[str, str]:
        return {}

    def sync_pod(self, pod: dict[str, Any], runtime: Any, pod_ip: str) -> None:
        return None


class FakeApiServer:
    """Answers every request as created, keeping the decoded Events."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else {}
        if request.url.path.endswith("/events"):
            self.events.append(body)
        return httpx.Response(201, json=body)


def pod_with_cluster_dns() -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "namespace": "shop", "uid": "u1"},
        "spec": {
            "dnsPolicy": "ClusterFirst",
            "restartPolicy": "Always",
            "containers": [
                {"name": "app", "image": "busybox:1.36", "imagePullPolicy": "IfNotPresent"}
            ],
        },
        "status": {"phase": "Pending"},
    }


def sandbox() -> ContainerRecord:
    return ContainerRecord(
        id="sandbox1",
        pod_uid="u1",
        pod_name="web",
        pod_namespace="shop",
        name="POD",
        sandbox=True,
        init=False,
        attempt=0,
        state=RUNNING,
        ip="10.244.0.5",
    )


def test_events_of_a_pod_with_a_kubelet_written_resolv_conf_reach_the_apiserver(
    tmp_path: Path,
) -> None:
    server = FakeApiServer()

    async def scenario() -> FakeDocker:
        api = AsyncClient(server="http://apiserver", transport=httpx.MockTransport(server.handle))
        docker = FakeDocker()
        cache = RuntimeCache()
        cache.upsert(sandbox())
        events = EventSink(EventRecorder(api, "kubelet", "n1"))
        writers = asyncio.create_task(events.run())
        syncer = PodSyncer(
            SyncSettings(
                node="n1",
                root_dir=tmp_path,
                network="minik",
                sandbox_image="pause",
                host_ip="192.168.1.10",
                dns=DnsSettings(servers=("10.96.0.10",)),
                allocatable={},
            ),
            docker,  # type: ignore[arg-type]
            cache,
            Pleg(docker, cache, "n1", "minik", on_change=lambda uids: None),  # type: ignore[arg-type]
            ImageManager(docker, events),  # type: ignore[arg-type]
            NoProbes(),  # type: ignore[arg-type]
            StatusManager(api),
            events,
        )
        await syncer.sync(pod_with_cluster_dns())
        for _ in range(500):  # up to 5 s on a busy machine
            if len(server.events) >= 3:
                break
            await asyncio.sleep(0.01)
        writers.cancel()
        await api.aclose()
        return docker

    docker = asyncio.run(scenario())
    [spec] = docker.created
    assert (
        f"{tmp_path / 'pods' / 'u1' / 'resolv.conf'}:/etc/resolv.conf:rw"
        in spec.host_config["binds"]
    )
    written = {(e["reason"], e["involvedObject"].get("fieldPath")) for e in server.events}
    assert written == {
        ("Pulled", "spec.containers{app}"),
        ("Created", "spec.containers{app}"),
        ("Started", "spec.containers{app}"),
    }


class StoppingDocker(FakeDocker):
    """Records what the status manager wanted when each container was stopped."""

    def __init__(self, status: StatusManager) -> None:
        super().__init__()
        self.status = status
        self.stopped: list[tuple[str, str | None]] = []

    async def stop(self, container_id: str, timeout: int) -> None:
        desired = self.status.desired("u1") or {}
        self.stopped.append((container_id, desired.get("phase")))


def test_a_finished_pod_is_reported_succeeded_before_its_sandbox_is_stopped(
    tmp_path: Path,
) -> None:
    """A Job's next pod waits on this phase: it must not wait for the sandbox's stop."""
    server = FakeApiServer()

    async def scenario() -> StoppingDocker:
        api = AsyncClient(server="http://apiserver", transport=httpx.MockTransport(server.handle))
        status = StatusManager(api)
        docker = StoppingDocker(status)
        cache = RuntimeCache()
        cache.upsert(sandbox())
        cache.upsert(
            ContainerRecord(
                id="app1",
                pod_uid="u1",
                pod_name="web",
                pod_namespace="shop",
                name="app",
                sandbox=False,
                init=False,
                attempt=0,
                state=EXITED,
                exit_code=0,
                sandbox_id="sandbox1",
            )
        )
        events = EventSink(EventRecorder(api, "kubelet", "n1"))
        syncer = PodSyncer(
            SyncSettings(
                node="n1",
                root_dir=tmp_path,
                network="minik",
                sandbox_image="pause",
                host_ip="192.168.1.10",
                dns=DnsSettings(servers=("10.96.0.10",)),
                allocatable={},
            ),
            docker,  # type: ignore[arg-type]
            cache,
            Pleg(docker, cache, "n1", "minik", on_change=lambda uids: None),  # type: ignore[arg-type]
            ImageManager(docker, events),  # type: ignore[arg-type]
            NoProbes(),  # type: ignore[arg-type]
            status,
            events,
        )
        pod = pod_with_cluster_dns()
        pod["spec"]["restartPolicy"] = "Never"
        await syncer.sync(pod)
        await api.aclose()
        return docker

    docker = asyncio.run(scenario())
    assert docker.stopped == [("sandbox1", "Succeeded")]


def test_a_pod_that_runs_one_container_once_starts_it_without_a_sandbox(tmp_path: Path) -> None:
    server = FakeApiServer()

    async def scenario() -> FakeDocker:
        api = AsyncClient(server="http://apiserver", transport=httpx.MockTransport(server.handle))
        docker = FakeDocker()
        cache = RuntimeCache()
        events = EventSink(EventRecorder(api, "kubelet", "n1"))
        syncer = PodSyncer(
            SyncSettings(
                node="n1",
                root_dir=tmp_path,
                network="net-id",
                sandbox_image="pause",
                host_ip="192.168.1.10",
                dns=DnsSettings(servers=("10.96.0.10",)),
                allocatable={},
            ),
            docker,  # type: ignore[arg-type]
            cache,
            Pleg(docker, cache, "n1", "net-id", on_change=lambda uids: None),  # type: ignore[arg-type]
            ImageManager(docker, events),  # type: ignore[arg-type]
            NoProbes(),  # type: ignore[arg-type]
            StatusManager(api),
            events,
        )
        pod = pod_with_cluster_dns()
        pod["spec"]["restartPolicy"] = "Never"
        await syncer.sync(pod)
        await api.aclose()
        return docker

    docker = asyncio.run(scenario())
    [spec] = docker.created  # no sandbox
    assert spec.name.startswith("k8s_app_web_shop_u1_")
    assert spec.host_config["network_mode"] == "net-id" and spec.hostname == "web"


def test_a_container_is_cached_as_running_before_its_start_call(tmp_path: Path) -> None:
    """So its `die` event, which may reach the PLEG before the start call returns, is
    read from the cache: Docker would answer an inspect only after the teardown."""
    server = FakeApiServer()
    seen: list[ContainerRecord | None] = []

    async def scenario() -> None:
        api = AsyncClient(server="http://apiserver", transport=httpx.MockTransport(server.handle))
        cache = RuntimeCache()

        class Watching(FakeDocker):
            async def start(self, container_id: str) -> None:
                seen.append(cache.get(container_id))

        docker = Watching()
        events = EventSink(EventRecorder(api, "kubelet", "n1"))
        syncer = PodSyncer(
            SyncSettings(
                node="n1",
                root_dir=tmp_path,
                network="net-id",
                sandbox_image="pause",
                host_ip="192.168.1.10",
                dns=DnsSettings(servers=("10.96.0.10",)),
                allocatable={},
            ),
            docker,  # type: ignore[arg-type]
            cache,
            Pleg(docker, cache, "n1", "net-id", on_change=lambda uids: None),  # type: ignore[arg-type]
            ImageManager(docker, events),  # type: ignore[arg-type]
            NoProbes(),  # type: ignore[arg-type]
            StatusManager(api),
            events,
        )
        pod = pod_with_cluster_dns()
        pod["spec"]["restartPolicy"] = "Never"
        await syncer.sync(pod)
        await api.aclose()

    asyncio.run(scenario())
    [record] = seen
    assert record is not None and record.running and record.solo and record.name == "app"
    assert record.pod_uid == "u1" and record.image_id == "sha256:abc"
