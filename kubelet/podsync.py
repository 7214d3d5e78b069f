"""Pod sync: make Docker match one pod, then report the pod's status.

Each sync reads Docker's state from the runtime cache, decides with
`actions.compute_pod_actions`, carries the actions out (sandbox, init containers in
order, app containers, kills), refreshes what it touched, computes the status and
hands it to the status manager. Starts honour Kubernetes' back-off: a container
that keeps dying waits in CrashLoopBackOff, an image that cannot be pulled in
ImagePullBackOff; the sync returns when it wants to run again. Stopping is
SIGTERM (or the image's STOPSIGNAL), the grace period, then SIGKILL (podkiller).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kubelet import volumes
from kubelet.actions import PodActions, compute_pod_actions, removable, restart_policy
from kubelet.backoff import Backoff
from kubelet.claims import claim_volumes, read_only_claims
from kubelet.configdata import ConfigData, ConfigDataError, references
from kubelet.containerspec import (
    RESOLV_CONF,
    DnsSettings,
    PodNetwork,
    container_spec,
    resolv_conf,
    sandbox_spec,
)
from kubelet.envvars import EnvError, build_env, expand_command
from kubelet.events import NORMAL, WARNING, EventSink, container_field_path
from kubelet.images import ImageManager
from kubelet.ipam import Exhausted
from kubelet.pleg import Pleg, RuntimeCache
from kubelet.podips import PodAddresses
from kubelet.podkiller import PodKiller, grace_seconds, probe_grace
from kubelet.podstatus import StatusInputs, compute_pod_status, is_terminal
from kubelet.prober.manager import ProbeManager
from kubelet.records import ContainerRecord, PodRuntime, starting
from kubelet.runtime import (
    DockerRuntime,
    NameConflict,
    RuntimeFailure,
    address_in_use,
    fixed_addresses_refused,
)
from kubelet.securitycontext import SecurityContextError, SecurityOptions, verify_run_as_non_root
from kubelet.solo import runs_alone, sticks_to
from kubelet.startlimiter import CONTAINER, SANDBOX, PriorityLimiter
from kubelet.statusmanager import StatusManager

log = logging.getLogger(__name__)

RETRY_SECONDS = 5.0
CRASH_LOOP = "CrashLoopBackOff"
STARTS_IN_FLIGHT = 4  # Docker starts no faster with more in flight (measured: 2-4 best)
# Starts of sandbox-less pods (solo.py) have a budget of their own: each is a whole
# pod, as a `docker run` is, and with 4 in flight a Job at parallelism 10 waited ~2 s
# per pod for a slot (bench/jobs.py --trace) while plain Docker runs the same 10 at
# once. Sandboxes keep 4: 30 sandbox pods started at 10 in flight reached Running
# later (bench/pod_startup.py: p50 8.9 s against 4.9 s at 4, same machine). Since
# Deployment pods are solo too, a sweep of 30 pods at once (bench/pod_startup.py,
# median against 30 `docker run -d` in the same run, 2-3 rounds on a loaded machine):
# 4 in flight 1.20-1.63x, 6: 0.89-0.98x, 8: 1.13-1.42x, 10: 0.82-2.48x. Fewer starts in
# flight finish the first pods sooner; Docker's throughput is the same.
SOLO_STARTS_IN_FLIGHT = 6
# For sweeps (bench/pod_startup.py --kubelet-env): the same budget, from the environment.
SOLO_STARTS_ENV = "MINIK_KUBELET_SOLO_STARTS_IN_FLIGHT"


def solo_starts_in_flight() -> int:
    value = os.environ.get(SOLO_STARTS_ENV, "")
    return int(value) if value.isdigit() and int(value) > 0 else SOLO_STARTS_IN_FLIGHT


@dataclass(frozen=True)
class SyncSettings:
    node: str
    root_dir: Path
    network: str  # the pod network's id
    sandbox_image: str
    host_ip: str
    dns: DnsSettings
    allocatable: dict[str, str]
    security: SecurityOptions = field(default_factory=SecurityOptions)


def pod_key(pod: dict[str, Any]) -> str:
    md = pod.get("metadata") or {}
    return f"{md.get('name', '')}_{md.get('namespace', '')}({md.get('uid', '')})"


class PodSyncer:
    def __init__(
        self,
        settings: SyncSettings,
        runtime: DockerRuntime,
        cache: RuntimeCache,
        pleg: Pleg,
        images: ImageManager,
        probes: ProbeManager,
        status: StatusManager,
        events: EventSink,
        backoff: Backoff | None = None,
        service_env: Callable[[dict[str, Any]], dict[str, str]] | None = None,
        fetch_config_data: Callable[[dict[str, Any]], Awaitable[ConfigData]] | None = None,
        fetch_claim_sources: (
            Callable[[dict[str, Any]], Awaitable[dict[str, volumes.ClaimSource]]] | None
        ) = None,
    ) -> None:
        self.settings = settings
        self.service_env = service_env or (lambda pod: {})
        self.fetch_config_data = fetch_config_data
        self.fetch_claim_sources = fetch_claim_sources
        self.runtime = runtime
        self.cache = cache
        self.pleg = pleg
        self.images = images
        self.probes = probes
        self.status = status
        self.events = events
        self.backoff = backoff or Backoff()
        self.reasons: dict[str, dict[str, tuple[str, str]]] = {}  # uid → name → waiting
        self.limiter = PriorityLimiter(STARTS_IN_FLIGHT)
        self.solo_limiter = PriorityLimiter(solo_starts_in_flight())
        self.killer = PodKiller(runtime, cache, pleg, events)
        # The pod IPs this kubelet allocates (kubelet/ipam.py); None: Docker's own.
        self.addresses: PodAddresses | None = None

    # ---- status -----------------------------------------------------------------
    def compute_status(self, pod: dict[str, Any], runtime: PodRuntime) -> dict[str, Any]:
        uid = (pod.get("metadata") or {}).get("uid", "")
        ours = self.status.desired(uid)
        view = pod if ours is None else {**pod, "status": {**(pod.get("status") or {}), **ours}}
        inputs = StatusInputs(
            host_ip=self.settings.host_ip,
            now=time.time(),
            reasons=self.reasons.get(uid, {}),
            ready=self.probes.ready(uid),
            started=self.probes.started(uid),
        )
        return compute_pod_status(view, runtime, inputs)

    # ---- the sync ---------------------------------------------------------------
    async def sync(self, pod: dict[str, Any]) -> float | None:
        """One pass over a live pod; returns seconds until it wants another."""
        uid = pod["metadata"]["uid"]
        runtime = self.cache.pod(uid)
        status = self.compute_status(pod, runtime)
        actions = compute_pod_actions(
            pod,
            runtime,
            self.probes.kill_requests(uid, pod, runtime),
            terminal=is_terminal(status),
        )
        requeue: float | None = None
        if is_terminal(status):
            # A pod that finished is reported before its sandbox is stopped (as
            # Kubernetes' SyncPod sets the status, then the worker terminates the
            # pod): a Job waits on this phase to start the next pod, and stopping the
            # sandbox can take its whole grace period.
            self.status.set_status(pod, status)
        if not actions.nothing:
            requeue = await self._execute(pod, runtime, actions)
            runtime = self.cache.pod(uid)
            if requeue is None:
                # Look again at once: what was just started may already have exited
                # (an init container), which the next relist would not report.
                requeue = 0.0
        if (
            is_terminal(status)
            and self.addresses is not None
            and runtime.running_sandbox() is None
            and not runtime.running()
        ):
            # As a stopped sandbox's (CNI DEL): a finished pod holds no address.
            await self.addresses.release(uid)
        # Probe workers first: a container's first status must already reflect
        # that it has probes (not ready, not started) before it is written.
        self.probes.sync_pod(pod, runtime, self.pod_ip(pod, runtime))
        self.status.set_status(pod, self.compute_status(pod, runtime))
        if runtime.running_sandbox() is not None and not is_terminal(status):
            await self._refresh_config_volumes(pod)
        doomed = removable(runtime)
        if doomed:
            await self.killer.remove(doomed)
        return requeue

    def runs_alone(self, pod: dict[str, Any], runtime: PodRuntime) -> bool:
        """Whether the pod is one container (solo.py): as it already is, else as it
        can be with this kubelet's addresses."""
        kind = sticks_to(runtime.sandboxes)
        if kind is not None:
            return kind
        return runs_alone(pod, fixed_ip=self.addresses is not None)

    async def _address(self, pod: dict[str, Any]) -> tuple[str | None, str]:
        """(the pod IP to start its network holder with, or None for Docker's; why
        not, when none is left)."""
        if self.addresses is None or (pod.get("spec") or {}).get("hostNetwork"):
            return None, ""
        try:
            return await self.addresses.allocate(pod["metadata"]["uid"]), ""
        except Exhausted as err:
            return None, f"failed to allocate for range 0: {err}"
        except OSError as err:
            return None, f"failed to allocate a pod IP: {err}"

    async def _fixed_address_failed(
        self, pod: dict[str, Any], cid: str, address: str | None, err: Exception, restart: bool
    ) -> bool:
        """A network holder started with a fixed address that Docker refused: the
        container goes (it is not an attempt of the pod's), and True says so. Refused
        fixed addresses (a network without a subnet of its own) end the kubelet's
        allocation; an address in use is given up unless the pod already had it
        (then its previous container is still being torn down: the next try works)."""
        if address is None or self.addresses is None:
            return False
        refused = fixed_addresses_refused(err)
        if not refused and not address_in_use(err):
            return False
        with contextlib.suppress(RuntimeFailure):
            await self.runtime.remove(cid)
        self.cache.drop(cid)
        uid = pod["metadata"]["uid"]
        if refused:
            log.warning("pod network refuses fixed addresses (%s): Docker allocates pod IPs", err)
            await self.addresses.release(uid)
            self.addresses = None
        elif not restart:
            await self.addresses.refused(uid, address)
        return True

    def pod_ip(self, pod: dict[str, Any], runtime: PodRuntime) -> str:
        sandbox = runtime.running_sandbox()
        if sandbox is None:
            return ""
        if (pod.get("spec") or {}).get("hostNetwork"):
            return self.settings.host_ip
        return sandbox.ip

    async def _execute(
        self, pod: dict[str, Any], runtime: PodRuntime, actions: PodActions
    ) -> float | None:
        uid = pod["metadata"]["uid"]
        spec = pod.get("spec") or {}
        requeues: list[float] = []
        if actions.kill_pod:
            await self.killer.kill_pod(pod, runtime)
        solo = self.runs_alone(pod, runtime)
        if actions.create_sandbox and not solo:
            if actions.sandbox_attempt > 0:
                self.events.emit(
                    pod,
                    NORMAL,
                    "SandboxChanged",
                    "Pod sandbox changed, it will be killed and re-created.",
                )
            if not await self._create_sandbox(pod, actions.sandbox_attempt):
                return RETRY_SECONDS
        for cid, why in actions.kill.items():
            record = self.cache.get(cid)
            if record is not None:
                self.events.emit(
                    pod, NORMAL, "Killing", why, container_field_path(record.name, record.init)
                )
                await self.killer.stop(record, grace_seconds(pod, probe_grace(pod, record, why)))
        if actions.kill:
            await self.pleg.refresh(actions.kill)
        to_start: list[tuple[dict[str, Any], bool, ContainerRecord | None]] = []
        running = self.cache.pod(uid).running_sandbox()
        # A solo container is its own sandbox: only an ephemeral container joins it.
        sandbox = None if running is not None and running.solo else running
        if actions.next_init is not None:
            to_start.append((spec["initContainers"][actions.next_init], True, sandbox))
        to_start += [(spec["containers"][i], False, sandbox) for i in actions.start]
        if running is not None or not solo:  # a gone solo container leaves nothing to join
            to_start += [
                (spec["ephemeralContainers"][i], False, running) for i in actions.start_ephemeral
            ]
        if not to_start:
            return None
        if sandbox is None and not solo:
            return RETRY_SECONDS
        config_data = await self._config_data(pod)
        try:
            claims = await self._claim_sources(pod)
            volume_paths = volumes.prepare_volumes(
                pod, self.settings.root_dir, self.settings.node, config_data, claims
            )
        except (volumes.VolumeError, OSError) as err:
            message = (
                str(err)
                if isinstance(err, volumes.MountError)
                else f"Unable to attach or mount volumes: {err}"
            )
            self.events.emit(pod, WARNING, "FailedMount", message)
            return RETRY_SECONDS
        for container, init, joined in to_start:
            delay = await self._start(pod, container, init, joined, volume_paths, config_data)
            if delay is not None:
                requeues.append(delay)
        return min(requeues) if requeues else None

    # ---- persistentVolumeClaims ---------------------------------------------------
    async def _claim_sources(self, pod: dict[str, Any]) -> dict[str, volumes.ClaimSource]:
        if self.fetch_claim_sources is None or not claim_volumes(pod):
            return {}
        return await self.fetch_claim_sources(pod)

    # ---- ConfigMaps and Secrets --------------------------------------------------
    async def _config_data(self, pod: dict[str, Any]) -> ConfigData:
        if self.fetch_config_data is None or not references(pod):
            return {}
        return await self.fetch_config_data(pod)

    async def _refresh_config_volumes(self, pod: dict[str, Any]) -> None:
        """Rewrite configMap/secret volumes already set up whose object changed (as
        Kubernetes' periodic volume remount); a missing object keeps the old files."""
        wanted = volumes.config_volumes(pod)
        if not wanted:
            return
        paths = volumes.volume_sources(pod, self.settings.root_dir, self.settings.node)
        config_data = await self._config_data(pod)
        for volume in wanted:
            path = paths[volume["name"]]
            if not (path / "..data").is_symlink():
                continue
            try:
                if volumes.write_config_volume(pod, volume, path, config_data):
                    log.info("volume %s of %s updated", volume["name"], pod_key(pod))
            except (volumes.VolumeError, OSError) as err:
                log.debug("volume %s of %s not refreshed: %s", volume["name"], pod_key(pod), err)

    # ---- the sandbox ------------------------------------------------------------
    def _pod_network(self, address: str | None) -> PodNetwork:
        s = self.settings
        return PodNetwork(s.network, s.host_ip, s.dns, address)

    async def _create_sandbox(self, pod: dict[str, Any], attempt: int) -> bool:
        s = self.settings
        address, why = await self._address(pod)
        if why:
            self.events.emit(
                pod, WARNING, "FailedCreatePodSandBox", f"Failed to create pod sandbox: {why}"
            )
            return False
        create = sandbox_spec(
            pod,
            node=s.node,
            attempt=attempt,
            image=s.sandbox_image,
            network=s.network,
            host_ip=s.host_ip,
            dns=s.dns,
            ip=address,
        )
        cid = ""
        try:
            async with self.limiter.slot(SANDBOX):
                cid = await self._create(create)
                await self.runtime.start(cid)
        except RuntimeFailure as err:
            if cid and await self._fixed_address_failed(pod, cid, address, err, attempt > 0):
                return False
            if cid:  # created but not started: it would only be in the way
                with contextlib.suppress(RuntimeFailure):
                    await self.runtime.remove(cid)
            self.events.emit(
                pod, WARNING, "FailedCreatePodSandBox", f"Failed to create pod sandbox: {err}"
            )
            log.warning("sandbox for %s: %s", pod_key(pod), err)
            return False
        await self.pleg.refresh([cid])
        log.debug("sandbox of %s started", pod_key(pod))
        return True

    async def _create(self, spec: Any) -> str:
        """docker create; a leftover container with the same name (ours: the name
        holds the pod uid and attempt) is removed first."""
        try:
            return await self.runtime.create(spec)
        except NameConflict:
            stale = await self.runtime.list_containers({"name": [f"^/{spec.name}$"]})
            for entry in stale:
                await self.runtime.remove(entry["Id"])
                self.cache.drop(entry["Id"])
            return await self.runtime.create(spec)

    # ---- containers -------------------------------------------------------------
    async def _start(
        self,
        pod: dict[str, Any],
        container: dict[str, Any],
        init: bool,
        sandbox: ContainerRecord | None,
        volume_paths: dict[str, Path],
        config_data: ConfigData,
    ) -> float | None:
        """Start one container unless back-off says wait; returns a requeue delay.
        Without a `sandbox` the container holds the pod's network itself (solo.py)."""
        uid = pod["metadata"]["uid"]
        name = container.get("name", "")
        reasons = self.reasons.setdefault(uid, {})
        path = container_field_path(name, init)
        latest = self.cache.pod(uid).latest(name, init)
        restart_count = latest.attempt + 1 if latest is not None else 0
        if latest is not None and latest.exited:
            key = (uid, name)
            finished = latest.finished_at or time.time()
            if self.backoff.in_backoff_since(key, finished):
                delay = self.backoff.delay(key)
                reasons[name] = (
                    CRASH_LOOP,
                    f"back-off {int(delay)}s restarting failed container={name} pod={pod_key(pod)}",
                )
                self.events.emit(
                    pod,
                    WARNING,
                    "BackOff",
                    f"Back-off restarting failed container {name} in pod {pod_key(pod)}",
                    path,
                )
                return max(0.1, self.backoff.remaining(key, finished))
            self.backoff.next(key, finished)
        image = await self.images.ensure(pod, container, init=init)
        if not image.ok:
            reasons[name] = (image.reason, image.message)
            self.events.emit(pod, WARNING, "Failed", f"Error: {image.reason}", path)
            return image.retry_after if image.retry_after else 10.0
        refused = verify_run_as_non_root(pod, container, image.user)
        if refused is not None:
            reasons[name] = ("CreateContainerConfigError", refused)
            self.events.emit(pod, WARNING, "Failed", f"Error: {refused}", path)
            return RETRY_SECONDS
        address: str | None = None
        if sandbox is None:  # it holds the pod's network itself: the pod IP is its
            address, why = await self._address(pod)
            if why:
                reasons[name] = ("CreateContainerError", why)
                self.events.emit(pod, WARNING, "Failed", f"Error: {why}", path)
                return RETRY_SECONDS
            if latest is not None and latest.solo:
                # Docker answers once the previous instance is torn down, its
                # address free again for this one.
                await self.runtime.inspect(latest.id)
        warnings: list[str] = []
        try:
            env = build_env(
                pod,
                container,
                pod_ip=((sandbox.ip if sandbox is not None else address) or self.settings.host_ip),
                host_ip=self.settings.host_ip,
                service_env=self.service_env(pod),
                node_allocatable=self.settings.allocatable,
                config_data=config_data,
                warnings=warnings,
            )
            for warning in warnings:
                self.events.emit(pod, WARNING, "InvalidEnvironmentVariableNames", warning)
            command, args = expand_command(container, env)
            read_only = {v["name"] for v in volumes.config_volumes(pod)} | read_only_claims(pod)
            binds = volumes.container_binds(container, volume_paths, read_only=read_only)
            resolv = resolv_conf(pod, container, self.settings.dns)
            if resolv is not None:
                resolv_path = volumes.write_resolv_conf(self.settings.root_dir, uid, resolv)
                binds.append(f"{resolv_path}:{RESOLV_CONF}:rw")
            log_path = volumes.termination_log_path(
                self.settings.root_dir, uid, name, restart_count
            )
            volumes.prepare_termination_log(log_path)
        except (EnvError, ConfigDataError, volumes.VolumeError, OSError) as err:
            reasons[name] = ("CreateContainerConfigError", str(err))
            self.events.emit(pod, WARNING, "Failed", f"Error: {err}", path)
            return RETRY_SECONDS
        try:
            create = container_spec(
                pod,
                container,
                node=self.settings.node,
                init=init,
                restart_count=restart_count,
                sandbox_id=sandbox.id if sandbox is not None else "",
                own_network=None if sandbox is not None else self._pod_network(address),
                env=env,
                command=command,
                args=args,
                binds=binds,
                termination_log=str(log_path),
                image_user=image.user,
                security=self.settings.security,
            )
        except SecurityContextError as err:
            reasons[name] = (err.reason, str(err))
            self.events.emit(pod, WARNING, "Failed", f"Error: {err}", path)
            return RETRY_SECONDS
        target = container.get("targetContainerName")
        ephemeral = (pod.get("spec") or {}).get("ephemeralContainers") or []
        if target and container in ephemeral:
            # `kubectl debug --target`: the target's process namespace, as Kubernetes'
            # runtime does for an ephemeral container.
            running = self.cache.pod(uid).latest(target, init=False)
            if running is not None and running.running:
                create.host_config["pid_mode"] = f"container:{running.id}"
        limiter = self.limiter if sandbox is not None else self.solo_limiter
        async with limiter.slot(CONTAINER):
            try:
                cid = await self._create(create)
            except RuntimeFailure as err:
                if "no such image" in str(err).lower():
                    self.images.forget(create.image)  # removed meanwhile: look again
                reasons[name] = ("CreateContainerError", str(err))
                self.events.emit(pod, WARNING, "Failed", f"Error: {err}", path)
                return RETRY_SECONDS
            self.events.emit(pod, NORMAL, "Created", f"Created container {name}", path)
            record = starting(cid, create.labels, create.image, image.image_id)
            if record is not None:
                self.pleg.starting(record)
            try:
                await self.runtime.start(cid)
            except RuntimeFailure as err:
                start_error: RuntimeFailure | None = err
            else:
                start_error = None
        if start_error is not None and sandbox is None:
            restart = latest is not None
            if await self._fixed_address_failed(pod, cid, address, start_error, restart):
                log.info("%s of %s: %s; trying again", name, pod_key(pod), start_error)
                return 0.2
        if start_error is not None:
            reasons[name] = ("RunContainerError", str(start_error))
            self.events.emit(pod, WARNING, "Failed", f"Error: {start_error}", path)
            await self.pleg.refresh([cid])
            return 0.5
        reasons.pop(name, None)
        log.debug("container %s of %s started", name, pod_key(pod))
        self.events.emit(pod, NORMAL, "Started", f"Started container {name}", path)
        # The container's address is known unless Docker picked it (a solo pod
        # without a fixed one): then only an inspect tells it. A pod that runs to
        # completion (a Job's) may end within moments: its worker waits for the
        # inspect or the end as before, so that such a pod is written once, Succeeded,
        # not Running and then Succeeded (a write more, and the second one later:
        # bench/jobs.py "app die → Succeeded seen" went from ~60 ms to 70-380 ms).
        known_ip = "" if sandbox is not None else address
        if restart_policy(pod) != "Always":
            known_ip = None
        await self.pleg.refresh_started(cid, known_ip)
        return None

    # ---- the end of a pod -------------------------------------------------------
    async def terminate(self, pod: dict[str, Any]) -> None:
        """A pod being deleted: stop it within its deletion grace period."""
        uid = pod["metadata"]["uid"]
        self.probes.remove_pod(uid)
        await self.killer.kill_pod(pod, self.cache.pod(uid))

    async def cleanup(self, uid: str, pod: dict[str, Any] | None) -> None:
        """A pod gone from the API (or unknown to it): stop and remove everything."""
        self.probes.remove_pod(uid)
        runtime = self.cache.pod(uid)
        if runtime.running() or runtime.running_sandbox():
            await self.killer.kill_pod(pod, runtime)
        await self.killer.remove(self.cache.pod(uid).all())
        await asyncio.to_thread(
            volumes.remove_pod_dirs, self.settings.root_dir, self.settings.node, uid
        )
        if self.addresses is not None:
            await self.addresses.release(uid)  # only once no container of it is left
        self.reasons.pop(uid, None)
        self.backoff.forget_prefix(uid)
        self.images.backoff.forget_prefix(uid)
        self.status.forget(uid)
        self.events.forget(uid)
