"""The kubelet and its Docker engine (issue #17), on a private dockerd of this test
(its own data root, exec root, socket, default bridge and no iptables): the machine's
dockerd is shared and never restarted here.

- With `live-restore` a dockerd restart leaves the pod's container running.
- While the engine does not answer, the kubelet keeps running and reports its node
  NotReady (KubeletNotReady, "container runtime is down: ..."); when the engine is back
  the node is Ready again, without a kubelet restart."""

from __future__ import annotations

import contextlib
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import docker.errors
import httpx
import pytest

from deploy import processes
from tests.e2e.conftest import (
    KubeletProcess,
    create_pod,
    docker_id,
    is_ready,
    pod_manifest,
    wait_pod,
)
from tests.support.wait import eventually

pytestmark = pytest.mark.slow


class PrivateDockerd:
    """A dockerd of our own: started, stopped and restarted by its PID only."""

    def __init__(self) -> None:
        # short: unix socket paths (and containerd's below the exec root) are limited
        self.root = Path(tempfile.mkdtemp(prefix="mkd-", dir="/tmp"))
        self.socket = self.root / "docker.sock"
        self.url = f"unix://{self.socket}"
        self.process: processes.Process | None = None
        self.starts = 0
        # A default bridge of its own: with `--bridge=none` in the host's network
        # namespace dockerd deletes `docker0`, the machine engine's default bridge.
        self.bridge = f"mkd{secrets.token_hex(4)}"
        octet = int(self.bridge[-2:], 16) % 200 + 20
        self.bridge_cidr = f"10.254.{octet}.1/24"

    def _config_file(self) -> Path:
        path = self.root / "daemon.json"
        path.write_text('{"live-restore": true}\n')
        return path

    def _ensure_bridge(self) -> None:
        if subprocess.run(["ip", "link", "show", self.bridge], capture_output=True).returncode:
            subprocess.run(["ip", "link", "add", self.bridge, "type", "bridge"], check=True)
            subprocess.run(["ip", "addr", "add", self.bridge_cidr, "dev", self.bridge], check=True)
            subprocess.run(["ip", "link", "set", self.bridge, "up"], check=True)

    def start(self) -> None:
        self._ensure_bridge()
        argv = [
            shutil.which("dockerd") or "dockerd",
            "--data-root",
            str(self.root / "data"),
            "--exec-root",
            str(self.root / "x"),
            "--pidfile",
            str(self.root / "docker.pid"),
            "-H",
            self.url,
            f"--bridge={self.bridge}",
            "--iptables=false",
            "--ip-masq=false",
            # its own configuration: the machine's /etc/docker/daemon.json (which
            # deploy/setup.sh gives live-restore) would clash with any flag it repeats
            "--config-file",
            str(self._config_file()),
        ]
        self.process = processes.spawn("dockerd", argv, self.root / f"dockerd-{self.starts}.log")
        self.starts += 1
        processes.wait_for(self.answers, 60, self.process, "private dockerd")

    def answers(self) -> bool:
        try:
            with contextlib.closing(docker.DockerClient(base_url=self.url, timeout=2)) as client:
                return bool(client.ping())
        except (docker.errors.DockerException, OSError):
            return False

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(timeout=30)
            self.process = None

    def client(self) -> docker.DockerClient:
        return docker.DockerClient(base_url=self.url, timeout=30)

    def remove(self) -> None:
        """Our containers, our engine, its containerd, our files (each step tried)."""
        if self.process is None and self.starts:
            with contextlib.suppress(Exception):
                self.start()
        try:
            if self.process is not None:
                with contextlib.closing(self.client()) as client:
                    for entry in client.api.containers(all=True):
                        with contextlib.suppress(docker.errors.APIError):
                            client.api.remove_container(entry["Id"], force=True, v=True)
                    # the kubelet's pod network is a bridge on this host: remove it too
                    for net in client.api.networks(filters={"label": ["io.minik.network"]}):
                        with contextlib.suppress(docker.errors.APIError):
                            client.api.remove_network(net["Id"])
        finally:
            self.finish()

    def finish(self) -> None:
        self.stop()
        pid_file = self.root / "x" / "containerd" / "containerd.pid"
        with contextlib.suppress(OSError, ValueError):
            processes.stop_pid(int(pid_file.read_text().strip()), 10)
        # dockerd makes its data root a (private) mount point of itself, and leaves it
        data = self.root / "data"
        if f" {data} " in Path("/proc/self/mounts").read_text():  # a bind: not ismount()
            subprocess.run(["umount", str(data)], check=False)
        subprocess.run(["rm", "-rf", str(self.root)], check=False)
        subprocess.run(["ip", "link", "del", self.bridge], capture_output=True, check=False)


@pytest.fixture(scope="module")
def dockerd(busybox: str) -> Iterator[PrivateDockerd]:
    engine = PrivateDockerd()
    try:
        engine.start()
        main = docker.from_env()
        with contextlib.closing(engine.client()) as client:
            client.api.load_image(main.api.get_image(busybox))
        yield engine
    finally:
        engine.remove()


def node_ready(api: httpx.Client, node: str) -> dict[str, Any]:
    r = api.get(f"/api/v1/nodes/{node}")
    assert r.status_code == 200, r.text
    return next(c for c in r.json()["status"]["conditions"] if c["type"] == "Ready")


def test_runtime_down_makes_the_node_not_ready_and_back(
    dockerd: PrivateDockerd,
    kubelet_factory: Callable[..., KubeletProcess],
    api: httpx.Client,
    namespace: str,
    busybox: str,
) -> None:
    cidr = f"10.199.{secrets.randbelow(200) + 20}.0/24"
    kubelet = kubelet_factory(
        "rt",
        extra_args=["--container-runtime-endpoint", dockerd.url, "--pod-cidr", cidr],
        network=f"minik-rt-{secrets.token_hex(3)}",
    )
    pod = pod_manifest(
        "survivor",
        kubelet.node,
        [
            {
                "name": "app",
                "image": busybox,
                "imagePullPolicy": "IfNotPresent",
                "command": ["sleep", "3600"],
            }
        ],
    )
    try:
        check_runtime_down(dockerd, kubelet, api, namespace, pod)
    finally:
        kubelet.stop()  # before the module's dockerd goes


def check_runtime_down(
    dockerd: PrivateDockerd,
    kubelet: KubeletProcess,
    api: httpx.Client,
    namespace: str,
    pod: dict[str, Any],
) -> None:
    create_pod(api, namespace, pod)
    running = wait_pod(api, namespace, "survivor", is_ready, timeout=60, what="Ready")
    container = docker_id(running, "app")
    assert node_ready(api, kubelet.node)["status"] == "True"

    # live-restore: a dockerd restart leaves the container running
    dockerd.stop()
    dockerd.start()
    with contextlib.closing(dockerd.client()) as client:
        assert client.api.inspect_container(container)["State"]["Running"]

    # the engine gone: NotReady with the runtime named, the kubelet still running
    dockerd.stop()
    stopped_at = time.monotonic()

    def not_ready() -> dict[str, Any]:
        cond = node_ready(api, kubelet.node)
        assert cond["status"] == "False", cond
        return cond

    cond = eventually(not_ready, timeout=40, message="node NotReady while Docker is down")
    went_not_ready = time.monotonic() - stopped_at
    assert cond["reason"] == "KubeletNotReady"
    assert cond["message"].startswith("container runtime is down"), cond
    assert kubelet.process is not None and kubelet.process.alive()

    dockerd.start()
    started_at = time.monotonic()
    eventually(
        lambda: node_ready(api, kubelet.node)["status"] == "True",
        timeout=40,
        message="node Ready once Docker is back",
    )
    print(
        f"\nNotReady {went_not_ready:.1f}s after dockerd stopped; "
        f"Ready {time.monotonic() - started_at:.1f}s after it answered again"
    )
    assert kubelet.process.alive()
    back = wait_pod(api, namespace, "survivor", is_ready, timeout=60, what="Ready again")
    assert back["status"]["containerStatuses"][0]["restartCount"] == 0
    assert docker_id(back, "app") == container
