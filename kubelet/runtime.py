"""The kubelet's container runtime interface, over the Docker Engine API.

The Docker SDK blocks, so every call runs in a bounded thread pool and the event
loop never waits on Docker. Exec calls (probes, `kubectl exec`) get a pool of their
own, so a hung exec cannot starve container lifecycle calls. Log streams get one
thread each, fed back to the loop through a bounded queue (back-pressure, and a
disconnecting client closes the Docker stream).
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import functools
import io
import logging
import os
import socket
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import docker
import docker.errors
import docker.types
import docker.utils
import requests.exceptions

from kubelet import metrics, podcidr

log = logging.getLogger(__name__)
T = TypeVar("T")


class RuntimeFailure(Exception):
    """A Docker call failed; `str()` is Docker's own message."""


class NameConflict(RuntimeFailure):
    """A container with that name exists already."""


class PullFailure(RuntimeFailure):
    pass


ADDRESS_IN_USE = "address already in use"
NO_FIXED_ADDRESSES = "user specified ip address is supported only"


def address_in_use(err: Exception) -> bool:
    """Docker refused a fixed address another container holds (or one whose last
    container is still being torn down)."""
    return ADDRESS_IN_USE in str(err).lower()


def fixed_addresses_refused(err: Exception) -> bool:
    """Docker refused a fixed address: the network has no subnet of its own."""
    return NO_FIXED_ADDRESSES in str(err).lower()


@dataclass
class CreateSpec:
    """Arguments for one `docker create` (host_config: create_host_config kwargs)."""

    name: str
    image: str
    labels: dict[str, str]
    command: list[str] | None = None  # Docker Cmd (Kubernetes `args`)
    entrypoint: list[str] | None = None  # Docker Entrypoint (Kubernetes `command`)
    environment: list[str] = field(default_factory=list)
    working_dir: str | None = None
    hostname: str | None = None
    domainname: str | None = None  # with hostname, the /etc/hosts FQDN Docker writes
    user: str | None = None
    tty: bool = False
    stdin_open: bool = False
    stdin_once: bool = False
    ports: list[tuple[int, str]] = field(default_factory=list)
    host_config: dict[str, Any] = field(default_factory=dict)
    ip: str | None = None  # a fixed address on host_config's network_mode (kubelet/ipam.py)


def _message(err: Exception) -> str:
    if isinstance(err, docker.errors.APIError):
        explanation = err.explanation
        if isinstance(explanation, bytes):
            explanation = explanation.decode(errors="replace")
        return str(explanation or err)
    return str(err) or type(err).__name__


class DockerRuntime:
    """Async facade over one Docker daemon."""

    def __init__(
        self, max_workers: int = 24, timeout: float = 120.0, endpoint: str | None = None
    ) -> None:
        if endpoint:  # --container-runtime-endpoint: this engine, not DOCKER_HOST's
            self.client = docker.DockerClient(
                base_url=endpoint, timeout=int(timeout), max_pool_size=max_workers + 8
            )
        else:
            self.client = docker.from_env(timeout=int(timeout), max_pool_size=max_workers + 8)
        self.api = self.client.api
        self._pool = ThreadPoolExecutor(max_workers, thread_name_prefix="docker")
        self._exec_pool = ThreadPoolExecutor(8, thread_name_prefix="docker-exec")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._exec_pool.shutdown(wait=False, cancel_futures=True)
        with contextlib.suppress(Exception):
            self.client.close()

    async def _call(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await self._in(self._pool, fn, *args, **kwargs)

    @staticmethod
    async def _in(pool: ThreadPoolExecutor, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        loop = asyncio.get_running_loop()
        operation = metrics.operation_type(fn)
        metrics.RUNTIME_TOTAL.labels(operation).inc()
        began = time.perf_counter()
        try:
            return await loop.run_in_executor(pool, functools.partial(fn, *args, **kwargs))
        except docker.errors.NotFound:
            metrics.RUNTIME_ERRORS.labels(operation).inc()
            raise
        except (docker.errors.DockerException, requests.exceptions.RequestException) as err:
            metrics.RUNTIME_ERRORS.labels(operation).inc()
            if isinstance(err, docker.errors.APIError) and err.status_code == 409:
                raise NameConflict(_message(err)) from err
            raise RuntimeFailure(_message(err)) from err
        finally:
            metrics.RUNTIME_DURATION.labels(operation).observe(time.perf_counter() - began)

    # ---- daemon -----------------------------------------------------------------
    async def version(self) -> str:
        info = await self._call(self.api.version)
        return str(info.get("Version", "unknown"))

    async def ensure_network(
        self, name: str, labels: dict[str, str], subnet: str | None = None
    ) -> str:
        """The id of the bridge network pods live on, created (labelled) when missing.

        Kubelets starting together on one host could each create a network of that
        name (Docker's duplicate check is racy), so creation holds a host-wide file
        lock, every kubelet picks the oldest network of that name, and empty
        duplicates carrying our label are removed."""
        return await self._call(self._ensure_network_sync, name, labels, subnet)

    def _ensure_network_sync(self, name: str, labels: dict[str, str], subnet: str | None) -> str:
        lock_path = Path(tempfile.gettempdir()) / "minik-docker-networks.lock"
        with open(lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                found = self._networks_named(name)
                if not found:
                    with contextlib.suppress(docker.errors.APIError):
                        self._create_network(name, labels, subnet)
                    found = self._networks_named(name)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        if not found:
            raise RuntimeFailure(f"cannot create Docker network {name}")
        found.sort(key=lambda n: (n.get("Created") or "", n["Id"]))
        for extra in found[1:]:
            if all(extra.get("Labels", {}).get(k) == v for k, v in labels.items()):
                with contextlib.suppress(docker.errors.APIError):
                    if not self.api.inspect_network(extra["Id"]).get("Containers"):
                        self.api.remove_network(extra["Id"])
        return str(found[0]["Id"])

    async def ensure_subnet_network(self, name: str, labels: dict[str, str], subnet: str) -> str:
        """The id of the pod network of exactly this subnet, its first address the
        gateway (`--pod-cidr-from-node`: the Node's podCIDR), created when missing;
        an empty one of ours with another subnet is replaced, any other raises
        kubelet.podcidr.NetworkMismatch (kubelet/podcidr.py says why)."""
        return await self._call(self._ensure_subnet_network_sync, name, labels, subnet)

    def _ensure_subnet_network_sync(self, name: str, labels: dict[str, str], subnet: str) -> str:
        lock_path = Path(tempfile.gettempdir()) / "minik-docker-networks.lock"
        with open(lock_path, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                found = self._networks_named(name)
                found.sort(key=lambda n: (n.get("Created") or "", n["Id"]))
                for summary in found[:1]:
                    network = self.api.inspect_network(summary["Id"])
                    if podcidr.check_network(network, subnet, labels) == "use":
                        return str(network["Id"])
                    log.info("replacing empty Docker network %s: subnet now %s", name, subnet)
                    self.api.remove_network(network["Id"])
                pool = docker.types.IPAMPool(subnet=subnet, gateway=podcidr.gateway(subnet))
                created = self.api.create_network(
                    name,
                    driver="bridge",
                    labels=labels,
                    check_duplicate=True,
                    ipam=docker.types.IPAMConfig(pool_configs=[pool]),
                )
                return str(created["Id"])
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _networks_named(self, name: str) -> list[dict[str, Any]]:
        return [n for n in self.api.networks(names=[name]) if n.get("Name") == name]

    def _create_network(self, name: str, labels: dict[str, str], subnet: str | None) -> None:
        """A bridge network with a subnet of its own: Docker gives fixed addresses
        (`--ip`, kubelet/ipam.py) only on those. Without `subnet`, the one Docker picks
        from its default pools (asked for by a network made and removed at once)."""
        chosen = bool(subnet)
        if not subnet:
            probe = self.api.create_network(f"{name}-subnet-{os.getpid()}", driver="bridge")
            try:
                configs = (self.api.inspect_network(probe["Id"]).get("IPAM") or {}).get("Config")
                subnet = ((configs or [{}])[0] or {}).get("Subnet")
            finally:
                self.api.remove_network(probe["Id"])
        ipam = None
        if subnet:
            pool = docker.types.IPAMPool(subnet=subnet)
            ipam = docker.types.IPAMConfig(pool_configs=[pool])
        try:
            self.api.create_network(
                name, driver="bridge", labels=labels, check_duplicate=True, ipam=ipam
            )
        except docker.errors.APIError:
            if ipam is None or chosen:
                raise
            # someone took the probed pool meanwhile: Docker's choice, no fixed addresses
            self.api.create_network(name, driver="bridge", labels=labels, check_duplicate=True)

    async def network(self, network: str) -> dict[str, Any] | None:
        """`docker network inspect`, or None when it is gone."""
        try:
            return await self._call(self.api.inspect_network, network)
        except docker.errors.NotFound:
            return None

    async def network_addresses(self, name: str) -> set[str]:
        """The IPv4 addresses of every container on the network `name`, running or
        not (a stopped one keeps its fixed address for its next start)."""
        listed = await self._call(self.api.containers, all=True, filters={"network": [name]})
        found: set[str] = set()
        for entry in listed:
            networks = (entry.get("NetworkSettings") or {}).get("Networks") or {}
            settings = networks.get(name) or {}
            fixed = (settings.get("IPAMConfig") or {}).get("IPv4Address")
            for address in (fixed, settings.get("IPAddress")):
                if address:
                    found.add(str(address))
        return found

    # ---- containers -------------------------------------------------------------
    async def list_containers(self, filters: dict[str, Any]) -> list[dict[str, Any]]:
        return await self._call(self.api.containers, all=True, filters=filters)

    async def inspect(self, container_id: str) -> dict[str, Any] | None:
        try:
            return await self._call(self.api.inspect_container, container_id)
        except docker.errors.NotFound:
            return None

    async def stats_once(self, container_id: str) -> dict[str, Any] | None:
        """One stats document, without the one-second sampling or a stream (the
        metrics' fallback where cgroup files cannot be read)."""
        try:
            return await self._call(self.api.stats, container_id, stream=False, one_shot=True)
        except docker.errors.NotFound:
            return None

    async def create(self, spec: CreateSpec) -> str:
        return await self._call(self._create_sync, spec)

    def _create_sync(self, spec: CreateSpec) -> str:
        host_config = self.api.create_host_config(**spec.host_config)
        config = self.api.create_container_config(
            spec.image,
            command=spec.command,  # type: ignore[arg-type]  # None: the image's CMD
            entrypoint=spec.entrypoint,
            labels=spec.labels,
            environment=spec.environment,
            working_dir=spec.working_dir,
            hostname=spec.hostname,
            domainname=spec.domainname,
            user=spec.user or None,
            tty=spec.tty,
            stdin_open=spec.stdin_open,
            ports=spec.ports or None,
            host_config=host_config,
            detach=True,
        )
        # Kubernetes' stdinOnce (docker-py ties StdinOnce to stdin_open otherwise).
        config["OpenStdin"] = spec.stdin_open
        config["StdinOnce"] = spec.stdin_open and spec.stdin_once
        network = spec.host_config.get("network_mode")
        if spec.ip and network:
            endpoint = {"IPAMConfig": {"IPv4Address": spec.ip}}
            config["NetworkingConfig"] = {"EndpointsConfig": {network: endpoint}}
        created = self.api.create_container_from_config(config, spec.name)
        return str(created["Id"])

    async def start(self, container_id: str) -> None:
        await self._call(self.api.start, container_id)

    async def stop(self, container_id: str, timeout: int) -> None:
        """The container's stop signal (the image's STOPSIGNAL, else SIGTERM), then
        SIGKILL after `timeout` seconds. Gone containers are not an error."""
        try:
            await self._call(self.api.stop, container_id, timeout=max(0, int(timeout)))
        except docker.errors.NotFound:
            return

    async def remove(self, container_id: str) -> None:
        try:
            await self._call(self.api.remove_container, container_id, force=True, v=True)
        except docker.errors.NotFound:
            return
        except RuntimeFailure as err:
            if "already in progress" not in str(err):
                raise

    # ---- images -----------------------------------------------------------------
    async def image(self, ref: str) -> dict[str, Any] | None:
        try:
            return await self._call(self.api.inspect_image, ref)
        except docker.errors.NotFound:
            return None
        except RuntimeFailure as err:
            if "invalid reference format" in str(err):
                return None
            raise

    async def pull(self, ref: str) -> None:
        repository, tag = docker.utils.parse_repository_tag(ref)
        try:
            await self._call(self.api.pull, repository, tag=tag or "latest")
        except docker.errors.NotFound as err:
            raise PullFailure(_message(err)) from err
        except RuntimeFailure as err:
            raise PullFailure(str(err)) from err

    async def build(self, tag: str, context: io.BytesIO) -> None:
        def build() -> None:
            for _chunk in self.api.build(
                fileobj=context, custom_context=True, tag=tag, rm=True, decode=True
            ):
                if "error" in _chunk:
                    raise RuntimeFailure(str(_chunk["error"]).strip())

        await self._call(build)

    # ---- exec and logs ----------------------------------------------------------
    async def exec(
        self, container_id: str, command: list[str], timeout: float | None = None
    ) -> tuple[int, bytes]:
        """Run a command in a running container; (exit code, stdout+stderr).
        On timeout asyncio.TimeoutError is raised (the command itself keeps running,
        as Docker cannot cancel an exec)."""

        def exec_sync() -> tuple[int, bytes]:
            created = self.api.exec_create(container_id, command, stdout=True, stderr=True)
            output = self.api.exec_start(created["Id"])
            code = self.api.exec_inspect(created["Id"]).get("ExitCode")
            return (int(code) if code is not None else -1), output

        future = self._in(self._exec_pool, exec_sync)
        if timeout is None:
            return await future
        return await asyncio.wait_for(future, timeout)

    async def exec_open(
        self, container_id: str, command: list[str], *, stdin: bool, tty: bool, stderr: bool = True
    ) -> tuple[str, socket.socket]:
        """Start an interactive exec; (exec id, the attached raw socket). The socket
        blocks: read it through `exec_output`, write it from a thread of its own."""

        def exec_open() -> tuple[str, socket.socket]:
            created = self.api.exec_create(
                container_id, command, stdin=stdin, stdout=True, stderr=stderr, tty=tty
            )
            attached = self.api.exec_start(created["Id"], socket=True, tty=tty)
            raw: object = getattr(attached, "_sock", attached)  # SocketIO wraps the socket
            if not isinstance(raw, socket.socket):
                raise RuntimeFailure(f"exec {created['Id']}: Docker attached no socket")
            return str(created["Id"]), raw

        return await self._in(self._exec_pool, exec_open)

    async def exec_resize(self, exec_id: str, width: int, height: int) -> None:
        await self._in(self._exec_pool, self.api.exec_resize, exec_id, height=height, width=width)

    async def exec_exit_code(self, exec_id: str, wait: float = 5.0) -> int:
        """The exit code of a finished exec; Docker may still call it running for a
        moment after its stream ended, so it is asked again briefly."""
        deadline = asyncio.get_running_loop().time() + wait
        while True:
            info = await self._in(self._exec_pool, self.api.exec_inspect, exec_id)
            code = info.get("ExitCode")
            if not info.get("Running") and code is not None:
                return int(code)
            if asyncio.get_running_loop().time() > deadline:
                return -1
            await asyncio.sleep(0.05)

    async def attach_open(
        self, container_id: str, *, stdin: bool, stdout: bool, stderr: bool
    ) -> socket.socket:
        """Attach to a container's main process (Docker's attach socket, as the
        kubelet's `pods/attach`); the socket blocks, like an exec's."""

        def attach_open() -> socket.socket:
            params = {"stdin": int(stdin), "stdout": int(stdout), "stderr": int(stderr)}
            attached = self.api.attach_socket(container_id, params={**params, "stream": 1})
            raw: object = getattr(attached, "_sock", attached)
            if not isinstance(raw, socket.socket):
                raise RuntimeFailure(f"attach {container_id[:12]}: Docker attached no socket")
            return raw

        return await self._in(self._exec_pool, attach_open)

    async def resize(self, container_id: str, width: int, height: int) -> None:
        await self._in(self._exec_pool, self.api.resize, container_id, height=height, width=width)

    async def exec_output(self, sock: socket.socket, exec_id: str) -> AsyncIterator[bytes]:
        """What an attached exec writes, as read from its socket; ends when the command
        does. Leaving the iteration closes the socket."""
        async for chunk in _pumped(lambda: _SocketChunks(sock), f"exec-{exec_id[:12]}"):
            yield chunk

    async def logs(
        self,
        container_id: str,
        *,
        follow: bool = False,
        timestamps: bool = False,
        tail: int | None = None,
        since: float | None = None,
    ) -> AsyncIterator[bytes]:
        """A container's stdout and stderr as they are written, chunk by chunk."""

        def open_stream() -> Any:
            return self.api.logs(
                container_id,
                stdout=True,
                stderr=True,
                stream=True,
                follow=follow,
                timestamps=timestamps,
                tail="all" if tail is None else max(0, int(tail)),
                since=since if since and since > 0 else None,
            )

        async for chunk in _pumped(open_stream, f"logs-{container_id[:12]}"):
            yield chunk

    async def events(
        self, filters: dict[str, Any], on_open: Callable[[], None] | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        """Docker's events matching `filters`, decoded, as they happen (until the
        daemon closes the stream). `on_open` is called in the loop once Docker has
        answered the request: every event from then on will come."""
        loop = asyncio.get_running_loop()

        def open_stream() -> Any:
            stream = self.api.events(decode=True, filters=filters)
            if on_open is not None:
                loop.call_soon_threadsafe(on_open)
            return stream

        async for event in _pumped(open_stream, "docker-events"):
            yield event


async def _pumped(open_stream: Callable[[], Any], name: str) -> AsyncIterator[Any]:
    """Items of a blocking Docker stream, read by a thread of its own and handed to
    the loop through a bounded queue (back-pressure); leaving the iteration closes
    the stream, which ends the thread."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[Any] = asyncio.Queue(maxsize=64)
    opened: list[Any] = []
    stopping = threading.Event()
    done = object()

    def put(item: Any) -> bool:
        if stopping.is_set():
            return False
        future = asyncio.run_coroutine_threadsafe(queue.put(item), loop)
        while True:
            try:
                future.result(timeout=0.5)
                return True
            except TimeoutError:
                if stopping.is_set():
                    future.cancel()
                    return False

    def pump() -> None:
        try:
            stream = open_stream()
            opened.append(stream)
            for item in stream:
                if not put(item):
                    break
            put(done)
        except BaseException as err:  # handed to the reader
            put(_Failure(err))

    thread = threading.Thread(target=pump, name=name, daemon=True)
    thread.start()
    try:
        while True:
            item = await queue.get()
            if item is done:
                return
            if isinstance(item, _Failure):
                raise RuntimeFailure(_message(item.error)) from item.error  # type: ignore[arg-type]
            yield item
    finally:
        stopping.set()
        for stream in opened:
            with contextlib.suppress(Exception):
                stream.close()


@dataclass(frozen=True)
class _Failure:
    """An exception from a stream's thread (a Docker event could never be one)."""

    error: BaseException


class _SocketChunks:
    """A blocking socket as an iterable of chunks, closable from another thread."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock

    def __iter__(self) -> Iterator[bytes]:
        while True:
            data = self.sock.recv(65536)
            if not data:
                return
            yield data

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            self.sock.close()
