"""Each isolated host's own Docker engine, and images moved into it.

dockerd runs inside the host's network namespace (`nsenter --net`, see
hostplan.Host.enter) with its data root under the host's directory in the cluster's
data dir, and its exec root, pid file and socket under /run/minik-hosts (short paths
for unix sockets). Its flags, decided once here:

- `--bridge=none`: no docker0. The pod network is the kubelet's own bridge network
  on the host's pod subnet (`--pod-cidr`, later the Node's spec.podCIDR), and a
  docker0 on that subnet would overlap it.
- `--iptables=false`: no NAT and no filtering. Pods reach other hosts' pods and the
  machine by routes, with their own addresses (Kubernetes' network model: no NAT
  between pods and nodes); the namespace's own tables stay empty. Nothing outside the
  cluster's addresses is reachable from a pod, which is what we want on this machine.

Images: `docker save` from the machine's engine, then `docker load` into each host's
(`minik image load`, as `kind load docker-image`)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import docker
import docker.errors

from deploy import processes
from deploy.hostplan import Host


class EngineError(Exception):
    pass


def dockerd_argv(host: Host, registry: str | None = None) -> list[str]:
    """`registry`: the cluster-local registry (plain HTTP, deploy/hostregistry.py)."""
    return host.enter(
        [
            shutil.which("dockerd") or "dockerd",
            "--data-root",
            host.data_root,
            "--exec-root",
            host.exec_root,
            "--pidfile",
            host.docker_pidfile,
            "--host",
            host.docker_host,
            "--bridge=none",
            "--iptables=false",
            "--ip-masq=false",
            *(["--insecure-registry", registry] if registry else []),
        ]
    )


def client(host: Host, timeout: int = 60) -> docker.DockerClient:
    return docker.DockerClient(base_url=host.docker_host, timeout=timeout)


def answers(host: Host) -> bool:
    try:
        with contextlib.closing(client(host, timeout=2)) as c:
            return bool(c.ping())
    except (docker.errors.DockerException, OSError):
        return False


def engine_pid(host: Host) -> int | None:
    """The live dockerd of this host, by its pid file and command line (a pid file
    left by a dead engine may name a reused PID)."""
    try:
        pid = int(Path(host.docker_pidfile).read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return None
    if b"--pidfile" in cmdline and host.docker_pidfile.encode() in cmdline:
        return pid
    return None


def start(host: Host, log_path: Path, registry: str | None = None, timeout: float = 60) -> int:
    """Start the host's dockerd unless it runs; wait until its socket answers."""
    pid = engine_pid(host)
    if pid is None:
        Path(host.dir).mkdir(parents=True, exist_ok=True)
        Path(host.run_dir).mkdir(parents=True, exist_ok=True)
        proc = processes.spawn(f"dockerd-{host.node}", dockerd_argv(host, registry), log_path)
        pid = proc.pid
    deadline = time.monotonic() + timeout
    while not answers(host):
        if not processes.pid_alive(pid):
            raise EngineError(f"dockerd of {host.node} exited; see {log_path}")
        if time.monotonic() > deadline:
            raise EngineError(f"dockerd of {host.node} did not answer within {timeout:.0f}s")
        time.sleep(0.1)
    return pid


def stop(host: Host, timeout: float = 30) -> bool:
    """Remove the engine's containers (killed: pods are gone with the cluster), stop
    dockerd by its pid file, then remove its roots. Whether a dockerd was running."""
    pid = engine_pid(host)
    if pid is not None:
        with (
            contextlib.suppress(docker.errors.DockerException, OSError),
            contextlib.closing(client(host, timeout=20)) as c,
        ):
            for entry in c.api.containers(all=True):
                with contextlib.suppress(docker.errors.NotFound):
                    c.api.remove_container(entry["Id"], force=True)
        processes.stop_pid(pid, timeout)
    for shim in leftover_shims(host):  # a container dockerd left running: kill it too
        for child in [*children(shim), shim]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
    for directory in (host.run_dir, host.dir):
        unmount_under(Path(directory))
        shutil.rmtree(directory, ignore_errors=True)
    for parent in Path(host.run_dir).parents[:2]:  # the cluster's, then /run/minik-hosts
        with contextlib.suppress(OSError):
            parent.rmdir()  # once empty: the last host gone
    return pid is not None


def _cmdlines() -> dict[int, list[str]]:
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                raw = (entry / "cmdline").read_bytes()
                found[int(entry.name)] = raw.decode(errors="replace").split("\0")
    return found


def leftover_shims(host: Host) -> list[int]:
    """containerd shims serving this host's engine (their -address is in its exec root)."""
    prefix = host.exec_root + "/"
    return [
        pid
        for pid, argv in _cmdlines().items()
        if argv and "containerd-shim" in argv[0] and any(a.startswith(prefix) for a in argv)
    ]


def children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = (entry / "stat").read_text()
                if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(entry.name))
    return out


def unmount_under(directory: Path) -> None:
    """Mounts a killed engine left under `directory` (overlays, netns bind mounts),
    deepest first, so its roots can be removed."""
    prefix = str(directory.resolve()) + "/"
    mounts = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            point = line.split()[4].replace("\\040", " ")
            if point.startswith(prefix):
                mounts.append(point)
    for point in sorted(mounts, key=len, reverse=True):
        subprocess.run(["umount", "-l", point], capture_output=True, timeout=10)


def load_images(hosts: Sequence[Host], images: list[str]) -> None:
    """`docker save IMAGES` from the machine's engine, `docker load` into each host's."""
    machine = docker.from_env(timeout=120)
    for image in images:
        try:
            machine.images.get(image)
        except docker.errors.ImageNotFound:
            raise EngineError(f"image {image} is not in this machine's Docker engine") from None
    for image in images:
        with tempfile.TemporaryFile() as tar:
            for chunk in machine.api.get_image(image):
                tar.write(chunk)
            for host in hosts:
                tar.seek(0)
                with contextlib.closing(client(host, timeout=300)) as c:
                    c.api.load_image(tar)
