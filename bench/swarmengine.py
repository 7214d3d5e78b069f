"""A single-node Docker Swarm on the machine's Docker engine, for bench/workloads.py's
baseline: up only for the Swarm phase, down afterwards, nothing of it left behind.

Why `docker swarm init` exits 1 on this machine: deploy/setup.sh enables Docker's
live-restore (containers survive a dockerd restart), and dockerd refuses swarm mode
with it ("--live-restore daemon configuration is incompatible with swarm mode").
live-restore is one of the options a running dockerd reloads on SIGHUP (a reload:
no container is touched, nothing restarts), so for the Swarm phase only `LiveRestoreOff`
sets it to false in the daemon's configuration file and reloads; afterwards it puts the
file back and reloads again. A marker file lets the next run put it back if this one
was killed (SIGKILL) in between. The only exposure meanwhile: a dockerd restart in that
window would stop containers instead of keeping them.

Nothing leaves the machine: the swarm listens and advertises on 127.0.0.1 (a free
port), its VXLAN data port is a free UDP port (not 4789, which a netagent may use), and
its address pool (overlay networks such as `ingress`) is a private /16 of its own.
What it creates is labelled `io.minik.bench-swarm=<run>`: the swarm's spec, docker_gwbridge
(created here before `init`, as Docker documents for a custom gateway bridge), the
task containers (bench/workloads.py labels its services). A swarm is left only if this
module initialised it, or if it carries that label (a killed run's leftover); a swarm
someone else made is refused and never touched."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import time
from pathlib import Path
from typing import Any

import docker
import docker.errors

from deploy import processes

SWARM_LABEL = "io.minik.bench-swarm"
DOCKER_PIDFILE = Path("/var/run/docker.pid")
DEFAULT_DAEMON_JSON = Path("/etc/docker/daemon.json")
MARKER = Path("/tmp/minik-bench-swarm-live-restore.json")
ADVERTISE = "127.0.0.1"
ADDR_POOL = "10.253.0.0/16"  # overlay networks (ingress); nothing on this machine uses it
GWBRIDGE = "docker_gwbridge"
RELOAD_TIMEOUT = 15.0


class SwarmUnavailable(RuntimeError):
    """This engine cannot run the bench's swarm (and nothing was changed)."""


# ---- live-restore -----------------------------------------------------------------


def _dockerd_pid() -> int:
    try:
        pid = int(DOCKER_PIDFILE.read_text().strip())
    except (OSError, ValueError) as err:
        raise SwarmUnavailable(f"no dockerd pid in {DOCKER_PIDFILE}: {err}") from err
    if Path(f"/proc/{pid}/comm").read_text().strip() != "dockerd":
        raise SwarmUnavailable(f"{DOCKER_PIDFILE} names pid {pid}, which is not dockerd")
    return pid


def _daemon_config(pid: int) -> Path:
    """The configuration file dockerd `pid` reloads on SIGHUP."""
    argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    return config_file_of([a.decode() for a in argv if a])


def config_file_of(args: list[str]) -> Path:
    """The configuration file of a dockerd run with `args`; refuses a live-restore given
    as a flag (a reload of the file cannot lift it)."""
    if any(a == "--live-restore" or a.startswith("--live-restore=") for a in args):
        raise SwarmUnavailable("dockerd has --live-restore as a flag: a reload cannot lift it")
    for i, arg in enumerate(args):
        if arg.startswith("--config-file="):
            return Path(arg.split("=", 1)[1])
        if arg == "--config-file" and i + 1 < len(args):
            return Path(args[i + 1])
    return DEFAULT_DAEMON_JSON


def _live_restore(client: docker.DockerClient) -> bool:
    return bool(client.info().get("LiveRestoreEnabled"))


def _reload(client: docker.DockerClient, pid: int, want: bool) -> None:
    os.kill(pid, signal.SIGHUP)
    deadline = time.monotonic() + RELOAD_TIMEOUT
    while _live_restore(client) != want:
        if time.monotonic() > deadline:
            raise RuntimeError(f"dockerd did not reload live-restore={want} (see its log)")
        time.sleep(0.1)


def _set_live_restore(path: Path, value: bool) -> None:
    config: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    config["live-restore"] = value
    path.write_text(json.dumps(config, indent=2) + "\n")


def restore_after_killed_run(client: docker.DockerClient) -> None:
    """A previous run that turned live-restore off and died: turn it back on."""
    try:
        record = json.loads(MARKER.read_text())
    except (OSError, ValueError):
        return
    if processes.pid_alive(int(record.get("pid", 0))):
        raise SwarmUnavailable(f"pid {record['pid']} is running a Swarm baseline ({MARKER})")
    print(f"  a killed bench run left live-restore off; turning it back on ({MARKER})")
    _set_live_restore(Path(record["config"]), True)
    _reload(client, _dockerd_pid(), True)
    MARKER.unlink()


class LiveRestoreOff:
    """live-restore off in the daemon's configuration for the `with` block (if it was
    on), then back as it was."""

    def __init__(self, client: docker.DockerClient) -> None:
        self.client = client
        self.pid = 0
        self.path: Path | None = None

    def __enter__(self) -> LiveRestoreOff:
        restore_after_killed_run(self.client)
        if not _live_restore(self.client):
            return self
        self.pid = _dockerd_pid()
        path = _daemon_config(self.pid)
        try:
            on_in_file = json.loads(path.read_text()).get("live-restore") is True
        except (OSError, ValueError) as err:
            raise SwarmUnavailable(f"cannot read {path}: {err}") from err
        if not on_in_file:
            raise SwarmUnavailable(f"live-restore is on but not set in {path}; not guessing")
        MARKER.write_text(json.dumps({"pid": os.getpid(), "config": str(path)}))
        self.path = path
        _set_live_restore(path, False)
        print("  live-restore off for the Swarm phase (dockerd reloaded)", flush=True)
        _reload(self.client, self.pid, False)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.path is None:
            return
        _set_live_restore(self.path, True)
        self.path = None
        _reload(self.client, self.pid, True)
        MARKER.unlink(missing_ok=True)
        print("  live-restore back on (dockerd reloaded)", flush=True)


# ---- the swarm ----------------------------------------------------------------------


def _free_udp_port(low: int = 40000, high: int = 49151) -> int:
    """A UDP port nobody is bound to (Docker takes data path ports 1024-49151)."""
    for port in range(low + os.getpid() % 1000, high):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind(("0.0.0.0", port))
            except OSError:
                continue
            return port
    raise SwarmUnavailable("no free UDP port for the swarm's data path")


def _state(client: docker.DockerClient) -> str:
    return str((client.info().get("Swarm") or {}).get("LocalNodeState") or "inactive")


def _ours(client: docker.DockerClient) -> bool:
    """The daemon's swarm carries the bench's label (a swarm this module initialised)."""
    try:
        labels = client.api.inspect_swarm().get("Spec", {}).get("Labels") or {}
    except docker.errors.APIError:
        return False
    return SWARM_LABEL in labels


class BenchSwarm:
    """`with BenchSwarm(client, run):` a single-node swarm for the block; live-restore
    is off only for that long."""

    def __init__(self, client: docker.DockerClient, run_id: str) -> None:
        self.client = client
        self.run_id = run_id
        self.live_restore = LiveRestoreOff(client)
        self.initialised = False

    def __enter__(self) -> BenchSwarm:
        state = _state(self.client)
        if state != "inactive":
            if not _ours(self.client):
                raise SwarmUnavailable(
                    f"this Docker engine is in a swarm ({state}) the bench did not make"
                )
            print("  leaving a swarm a killed bench run left", flush=True)
            self._leave()
        self.live_restore.__enter__()
        try:
            self._init()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _init(self) -> None:
        self._gateway_bridge()
        spec = self.client.api.create_swarm_spec(labels={SWARM_LABEL: self.run_id})
        port = processes.free_port()
        self.initialised = True  # a half-done init is still ours to leave
        try:
            self.client.api.init_swarm(
                advertise_addr=ADVERTISE,
                listen_addr=f"{ADVERTISE}:{port}",
                swarm_spec=spec,
                default_addr_pool=[ADDR_POOL],
                subnet_size=24,
                data_path_port=_free_udp_port(),
            )
        except docker.errors.APIError as err:
            if "already part of a swarm" in str(err):
                self.initialised = False  # someone else's, made since we looked
            raise

    def _gateway_bridge(self) -> None:
        """docker_gwbridge, labelled, unless the engine already has one (then it stays)."""
        if self.client.api.networks(names=[GWBRIDGE]):
            return
        self.client.api.create_network(
            GWBRIDGE,
            driver="bridge",
            options={
                "com.docker.network.bridge.name": GWBRIDGE,
                "com.docker.network.bridge.enable_icc": "false",
                "com.docker.network.bridge.enable_ip_masquerade": "true",
            },
            labels={SWARM_LABEL: self.run_id},
        )

    def _leave(self) -> None:
        with contextlib.suppress(docker.errors.APIError):
            self.client.api.leave_swarm(force=True)
        self.cleanup()

    def cleanup(self) -> None:
        """Task containers and networks the bench labelled (any run: all are gone with
        their swarm)."""
        api = self.client.api
        for entry in api.containers(all=True, filters={"label": [SWARM_LABEL]}):
            if "com.docker.swarm.task.id" in (entry.get("Labels") or {}):
                with contextlib.suppress(docker.errors.APIError):
                    api.remove_container(entry["Id"], force=True, v=True)
        for net in api.networks(filters={"label": [SWARM_LABEL]}):
            with contextlib.suppress(docker.errors.APIError):
                api.remove_network(net["Id"])

    def __exit__(self, *exc: object) -> None:
        try:
            if self.initialised:
                self.initialised = False
                self._leave()
            else:
                self.cleanup()
        finally:
            self.live_restore.__exit__()
