"""minik's controllers beside Docker Swarm: same machine, same image, same run.

Three scenarios, each run on minik and then on a single-node Swarm:

- converge: a 30-replica Deployment until 30 pods are Running and Ready, vs
  `docker service create --replicas 30` until 30 tasks are running;
- rolling update of the 30 replicas to a new image (maxSurge 25%, maxUnavailable
  25%) vs `docker service update --image` (parallelism 8, start-first: see
  SWARM_UPDATE_* below), until 30 replicas of the new image are Ready/running and no
  replica of the old one is still wanted;
- recovery: `docker kill` the app containers of 5 pods (found by the kubelet's
  `io.minik.pod.name` labels) until all 30 are Ready again with those 5 restarted,
  vs killing 5 task containers until the service again has 30 running tasks
  (replacements of the 5).

Same image on both sides: examples/web built twice (VERSION v1 and v2), tagged
`minik-bench/web:v1|v2`; minik's pods name the tag (IfNotPresent), Swarm's service
the image id, so that Swarm never tries a registry (none is reachable). Readiness
is judged the same way on both: an httpGet readiness probe of /healthz every second
on minik, the equivalent health check (`wget` of /healthz every second, 3 retries)
on Swarm, whose task only turns `running` once its container is healthy.
`--probes none` drops both (Ready is then Running for minik, running is started
for Swarm).

minik is measured through the API (a watch on the namespace's pods), Swarm through
the Docker SDK (its tasks, polled every 0.1 s); the clock starts just before the
request that begins the scenario (API create/patch, SDK create/update, the first
`docker kill`). minik runs from `minik up --nodes 1` in a temporary data dir on a
free API port (HOME is a temporary dir too, so ~/.minik/kubeconfig is left alone)
and is stopped with `minik down` (its node is named minik-bench-<run>-1, not
minik-node-1, so that another minik on this Docker daemon is not disturbed). Each
Swarm round initialises a swarm on loopback and leaves it at its end, even after a
failure or a SIGTERM (bench/swarmengine.py: why this engine needs live-restore off
meanwhile, what it labels; a daemon already in a swarm the bench did not make is
refused). Only objects this run created are removed.

Last, Docker alone (no orchestrator) starts 30 sandbox+app pairs, the shape of
minik's pods, and 30 single containers, the shape of Swarm's tasks, 4 calls in
flight: how much of a converge is Docker's own work for each pod model.

`--rounds N` runs each system N times (medians; minik's rounds first, then Swarm's;
`--interleave` alternates them, minik staying up and idle during Swarm's rounds, so
that each pair of rounds sees the same load on a shared machine). `--trace` prints,
for each converge, when the replicas were created, bound, their containers created
and started, Running/healthy and Ready (bench/convergetrace.py).
A scenario that does not finish within `--timeout` counts as TIMEOUT (slower than
any time), the rest of its round is skipped and the next round starts clean.
`--keep-logs` keeps minik's logs and names the pod that was Ready last.

Targets (issue 18): converge in <= 0.9x Swarm's time; rolling update and recovery
ahead of Swarm (<= 1.0x).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import random
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import docker
import docker.errors
from docker import types as dtypes

from api.clusterdefaults import (
    CONTAINER_KIND_LABEL,
    DEFAULT_SANDBOX_IMAGE,
    NODE_CONTAINER_LABEL,
    POD_NAME_CONTAINER_LABEL,
    POD_NAMESPACE_CONTAINER_LABEL,
)
from api.errors import NotFound
from api.resources import DEPLOYMENTS, NAMESPACES, PODS
from bench.convergetrace import MINIK_MARKS, SWARM_MARKS, ConvergeTrace
from bench.swarmengine import SWARM_LABEL, BenchSwarm
from client.kubeconfig import load
from client.rest import Client
from client.watch import RELIST, ResumableWatch
from deploy import processes
from deploy.controlplane import make_workdir, remove_workdir
from deploy.images import ensure_busybox_image

ROOT = Path(__file__).resolve().parent.parent

IMAGE_REPO = "minik-bench/web"
NAMESPACE = "bench"
APP = "web"
# `minik up` names its nodes minik-node-N, and kubelets sharing a Docker daemon tell
# their containers apart only by that name: a second cluster's minik-node-1 (a test
# run, someone's `minik up`) would take our pods' containers for orphans and remove
# them, and `minik down` removes every container labelled with its node names. So
# `up` runs with this run's own `--node-prefix`.
NODE_PREFIX = f"minik-bench-{secrets.token_hex(3)}-"
NODE = f"{NODE_PREFIX}1"
SECOND_NS = 1_000_000_000
SWARM_TASK_LABEL = "com.docker.swarm.task.id"

# Readiness, the same on both sides: /healthz every second, 1 s timeout, 3 failures.
PROBE_PERIOD, PROBE_TIMEOUT, PROBE_FAILURES = 1, 1, 3
GRACE_SECONDS = 10  # terminationGracePeriodSeconds = --stop-grace-period
SWARM_POLL = 0.1
CLEANUP_TIMEOUT = 120.0  # seconds for a round's pods to be gone

# Kubernetes' 25%/25% of 30 replicas allows 8 surge pods (rounded up) and 7
# unavailable ones (rounded down) at once. Swarm has no such pair: an update replaces
# `parallelism` tasks at a time, either stopping the old task first (capacity drops by
# up to `parallelism`) or starting the new one first (up to `parallelism` extra tasks,
# never fewer than 30 running). Start-first with parallelism 8 is the closest match:
# the same bound on extra replicas as maxSurge (38 at most), no update delay, and an
# old task is stopped as soon as its replacement is running (healthy), as a
# ReplicaSet scales the old set down once new pods are available. It does not use
# minik's extra 7 "unavailable" slots, so Swarm replaces at most 8 at once where minik
# may have up to 15 in flight; `--swarm-parallelism` changes it.
SWARM_UPDATE_PARALLELISM = 8
SWARM_UPDATE_ORDER: Literal["start-first"] = "start-first"
SWARM_UPDATE_DELAY = 0

# A killed container: the kubelet restarts it at once (back-off only starts with the
# second crash), while Swarm waits `--restart-delay`, 5 s by default. Swarm gets 0 s
# here so both restart as soon as they notice.
SWARM_RESTART_DELAY = 0


# ---- images -------------------------------------------------------------------------


def build_web_images(client: docker.DockerClient) -> dict[str, str]:
    """examples/web as v1 and v2, on minik/busybox; version → image id."""
    ensure_busybox_image()
    ids: dict[str, str] = {}
    for version in ("v1", "v2"):
        image, _ = client.images.build(
            path=str(ROOT / "examples" / "web"),
            tag=f"{IMAGE_REPO}:{version}",
            buildargs={"VERSION": version},
            rm=True,
        )
        if image.id is None:
            raise RuntimeError(f"docker built {IMAGE_REPO}:{version} but reported no image id")
        ids[version] = image.id
    return ids


# ---- results ------------------------------------------------------------------------


@dataclass
class Measure:
    """One scenario's time and how readiness progressed (seconds from its start)."""

    seconds: float
    progress: list[tuple[float, int]] = field(default_factory=list)
    last: str = ""  # the replica that was Ready last, and when

    def reached(self, count: int) -> float | None:
        return next((t for t, n in self.progress if n >= count), None)


SCENARIOS = ("converge", "rolling update", "recovery")
TARGETS = {"converge": 0.9, "rolling update": 1.0, "recovery": 1.0}  # minik / Swarm


# ---- minik --------------------------------------------------------------------------


def pod_ready(pod: dict[str, Any]) -> bool:
    status = pod.get("status") or {}
    if status.get("phase") != "Running":
        return False
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )


def pod_image(pod: dict[str, Any]) -> str:
    return ((pod.get("spec") or {}).get("containers") or [{}])[0].get("image", "")


def active(pod: dict[str, Any]) -> bool:
    return not (pod.get("metadata") or {}).get("deletionTimestamp")


def restarts(pod: dict[str, Any]) -> int:
    statuses = (pod.get("status") or {}).get("containerStatuses") or []
    return sum(int(s.get("restartCount") or 0) for s in statuses)


class PodWatch(threading.Thread):
    """The namespace's pods as a watch shows them. `wait` returns when a condition
    on them first holds: the arrival time of the event that made it hold."""

    def __init__(self, kubeconfig: Path, namespace: str) -> None:
        super().__init__(daemon=True)
        self.client = Client(load(str(kubeconfig)))
        self.namespace = namespace
        self.pods: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()
        self.waiters: list[tuple[Callable[[dict[str, dict]], bool], threading.Event, list]] = []
        self.progress: list[tuple[float, int]] = []  # (time, Ready pods) on each change
        self.became_ready: dict[str, float] = {}  # "name (uid)" → when it last turned Ready
        self.count: Callable[[dict[str, dict]], int] = lambda pods: 0
        self.synced = threading.Event()
        self.stopping = False
        self.error: BaseException | None = None
        self.trace = ConvergeTrace()  # marks only while started (--trace)

    def run(self) -> None:
        try:
            for event_type, obj in ResumableWatch(self.client, PODS, self.namespace):
                now = time.monotonic()
                with self.lock:
                    if event_type == RELIST:
                        self.pods = {p["metadata"]["name"]: p for p in obj.get("items") or []}
                    elif event_type == "DELETED":
                        self.pods.pop(obj["metadata"]["name"], None)
                    elif event_type in ("ADDED", "MODIFIED"):
                        name = obj["metadata"]["name"]
                        old = self.pods.get(name)
                        if pod_ready(obj) and not (old and pod_ready(old)):
                            self.became_ready[f"{name} ({obj['metadata'].get('uid')})"] = now
                        self.pods[name] = obj
                        self.trace.on_pod(obj, pod_ready(obj))
                    self._changed(now)
                self.synced.set()
        except Exception as err:
            if not self.stopping:
                self.error = err
                raise

    def _changed(self, now: float) -> None:
        count = self.count(self.pods)
        if not self.progress or self.progress[-1][1] != count:
            self.progress.append((now, count))
        for predicate, done, result in self.waiters:
            if not done.is_set() and predicate(self.pods):
                result.append(now)
                done.set()

    def track(self, count: Callable[[dict[str, dict]], int]) -> float:
        """Start recording progress with a new counter; returns now (the start)."""
        with self.lock:
            self.count = count
            self.progress = []
            self.became_ready = {}
            now = time.monotonic()
            self.progress.append((now, count(self.pods)))
        return now

    def wait(
        self, predicate: Callable[[dict[str, dict]], bool], timeout: float, what: str
    ) -> float:
        done, result = threading.Event(), list[float]()
        with self.lock:
            if predicate(self.pods):
                return time.monotonic()
            self.waiters.append((predicate, done, result))
        deadline = time.monotonic() + timeout
        try:
            while not done.wait(min(1.0, max(0.0, deadline - time.monotonic()))):
                if self.error is not None:
                    raise RuntimeError(f"minik: the pod watch failed: {self.error}")
                if time.monotonic() >= deadline:
                    with self.lock:
                        summary = describe_pods(self.pods)
                    raise TimeoutError(f"minik: {what} not reached in {timeout:.0f}s; {summary}")
        finally:
            with self.lock:
                self.waiters = [w for w in self.waiters if w[1] is not done]
        return result[0]

    def snapshot(self) -> dict[str, dict[str, Any]]:
        with self.lock:
            return dict(self.pods)

    def stop(self) -> None:
        self.stopping = True
        self.client.close()


def describe_pods(pods: dict[str, dict]) -> str:
    ready = sum(1 for p in pods.values() if pod_ready(p))
    terminating = sum(1 for p in pods.values() if not active(p))
    images = sorted({pod_image(p) for p in pods.values()})
    return f"{len(pods)} pods, {ready} Ready, {terminating} terminating, images {images}"


def explain_stuck(pods: dict[str, dict], client: docker.DockerClient) -> str:
    """The pods that are not Ready, as the API and Docker see them."""
    out = []
    for name, pod in sorted(pods.items()):
        if pod_ready(pod) and active(pod):
            continue
        status = pod.get("status") or {}
        conditions = {c.get("type"): c.get("status") for c in status.get("conditions") or []}
        containers = [
            (c.get("name"), c.get("ready"), c.get("restartCount"), c.get("state"))
            for c in status.get("containerStatuses") or []
        ]
        out.append(
            f"  {name} uid {pod['metadata'].get('uid')} phase {status.get('phase')} "
            f"deleting {not active(pod)} conditions {conditions} containers {containers}"
        )
        filters = {
            "label": [f"{NODE_CONTAINER_LABEL}={NODE}", f"{POD_NAME_CONTAINER_LABEL}={name}"]
        }
        for c in client.api.containers(all=True, filters=filters):
            out.append(f"    docker {c['Id'][:12]} {c['Names'][0]} {c['State']} {c['Status']}")
    return "pods not Ready:\n" + "\n".join(out) if out else "all pods Ready"


def deployment(image: str, replicas: int, probes: bool) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": APP,
        "image": image,
        "imagePullPolicy": "IfNotPresent",
        "ports": [{"containerPort": 80}],
    }
    if probes:
        container["readinessProbe"] = {
            "httpGet": {"path": "/healthz", "port": 80},
            "periodSeconds": PROBE_PERIOD,
            "timeoutSeconds": PROBE_TIMEOUT,
            "failureThreshold": PROBE_FAILURES,
            "successThreshold": 1,
        }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": APP, "labels": {"app": APP}},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": APP}},
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
            },
            "template": {
                "metadata": {"labels": {"app": APP}},
                "spec": {
                    "terminationGracePeriodSeconds": GRACE_SECONDS,
                    "containers": [container],
                },
            },
        },
    }


class MinikCluster:
    """`minik up --nodes 1` in a temporary data dir; `minik down` at the end."""

    def __init__(self, workdir: Path, pod_network: str) -> None:
        self.pod_network = pod_network
        self.data_dir = workdir / "data"
        self.home = workdir / "home"
        self.home.mkdir(parents=True, exist_ok=True)
        self.api_port = processes.free_port()
        self.started = False

    def _minik(self, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
        """`minik ARGS --data-dir D` (HOME set to our own, so ~/.minik stays as it is)."""
        argv = [sys.executable, "-m", "deploy.cli"]
        env = {**os.environ, "HOME": str(self.home)}
        env.pop("MINIK_DATA_DIR", None)
        return subprocess.run(
            [*argv, *args, "--data-dir", str(self.data_dir)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def up(self) -> Path:
        self.started = True  # even a failed `up` may leave something for `down`
        done = self._minik(
            "up",
            "--nodes",
            "1",
            "--node-prefix",
            NODE_PREFIX,
            "--pod-network",
            self.pod_network,
            "--api-port",
            str(self.api_port),
            timeout=180,
        )
        if done.returncode != 0:
            raise RuntimeError(f"minik up failed:\n{done.stdout}{done.stderr}")
        return self.data_dir / "kubeconfig"

    def down(self, client: docker.DockerClient) -> None:
        if not self.started:
            return
        self.started = False
        done = self._minik("down", timeout=120)
        if done.returncode != 0:
            print(f"minik down: {done.stdout}{done.stderr}", file=sys.stderr)
        # whatever `down` left of our node's containers (e.g. if it failed half-way)
        for entry in client.api.containers(
            all=True, filters={"label": [f"{NODE_CONTAINER_LABEL}={NODE}"]}
        ):
            with contextlib.suppress(docker.errors.APIError):
                client.api.remove_container(entry["Id"], force=True, v=True)


def minik_round(
    api: Client,
    watch: PodWatch,
    docker_client: docker.DockerClient,
    replicas: int,
    kill: int,
    probes: bool,
    timeout: float,
    rng: random.Random,
    out: dict[str, Measure],
) -> None:
    """One round of the three scenarios; their results go to `out` as they finish."""
    v1, v2 = f"{IMAGE_REPO}:v1", f"{IMAGE_REPO}:v2"

    def ready_with(image: str) -> Callable[[dict[str, dict]], int]:
        return lambda pods: sum(
            1 for p in pods.values() if active(p) and pod_image(p) == image and pod_ready(p)
        )

    # converge
    count = ready_with(v1)
    watch.trace.start()
    began = watch.track(count)
    api.create(DEPLOYMENTS, deployment(v1, replicas, probes), NAMESPACE)
    ended = watch.wait(lambda pods: count(pods) >= replicas, timeout, "converge")
    watch.trace.finish()
    out["converge"] = measure(began, ended, watch.progress, watch.became_ready)
    time.sleep(3)

    # rolling update
    count = ready_with(v2)

    def updated(pods: dict[str, dict]) -> bool:
        old = sum(1 for p in pods.values() if active(p) and pod_image(p) != v2)
        return old == 0 and count(pods) >= replicas

    began = watch.track(count)
    patch = {"spec": {"template": {"spec": {"containers": [{"name": APP, "image": v2}]}}}}
    api.patch(DEPLOYMENTS, APP, patch, "strategic", NAMESPACE)
    ended = watch.wait(updated, timeout, "rolling update")
    out["rolling update"] = measure(began, ended, watch.progress, watch.became_ready)
    time.sleep(3)

    # recovery: kill the app containers of `kill` Ready pods
    pods = watch.snapshot()
    names = rng.sample(sorted(n for n, p in pods.items() if pod_ready(p) and active(p)), kill)
    before = {n: restarts(pods[n]) for n in names}
    containers = []
    for name in names:
        filters = {
            "label": [
                f"{NODE_CONTAINER_LABEL}={NODE}",
                f"{POD_NAMESPACE_CONTAINER_LABEL}={NAMESPACE}",
                f"{POD_NAME_CONTAINER_LABEL}={name}",
                f"{CONTAINER_KIND_LABEL}=app",
            ],
            "status": "running",
        }
        found = docker_client.api.containers(filters=filters)
        if len(found) != 1:
            raise RuntimeError(f"pod {name}: {len(found)} running app containers")
        containers.append(found[0]["Id"])
    all_ready = ready_with(v2)

    def restarted(pods: dict[str, dict]) -> int:
        return sum(
            1 for n in names if n in pods and restarts(pods[n]) > before[n] and pod_ready(pods[n])
        )

    def recovered(pods: dict[str, dict]) -> bool:
        return restarted(pods) == len(names) and all_ready(pods) >= replicas

    began = watch.track(restarted)
    kill_all(docker_client, containers)
    ended = watch.wait(recovered, timeout, "recovery")
    out["recovery"] = measure(began, ended, watch.progress, watch.became_ready)


def minik_cleanup(api: Client, watch: PodWatch, timeout: float) -> None:
    """Delete the Deployment and wait for its pods to be gone."""
    with contextlib.suppress(NotFound):
        api.delete(DEPLOYMENTS, APP, NAMESPACE, propagation_policy="Background")
    watch.wait(lambda pods: not pods, timeout, "deployment deleted")
    time.sleep(2)


class MinikSide:
    """minik for the bench: `minik up`, the namespace and the pod watch on entering;
    `round` runs one round of the scenarios and cleans up after it; `minik down` on
    leaving."""

    def __init__(
        self, workdir: Path, docker_client: docker.DockerClient, args: argparse.Namespace
    ) -> None:
        self.cluster = MinikCluster(workdir, args.pod_network)
        self.docker = docker_client
        self.args = args
        self.rng = random.Random(args.seed)
        self.watch: PodWatch | None = None
        self.api: Client | None = None

    def __enter__(self) -> MinikSide:
        try:
            kubeconfig = self.cluster.up()
            self.api = Client(load(str(kubeconfig)))
            self.api.create(NAMESPACES, {"metadata": {"name": NAMESPACE}})
            self.watch = PodWatch(kubeconfig, NAMESPACE)
            self.watch.start()
            if not self.watch.synced.wait(30):
                raise RuntimeError("minik: the pod watch did not start")
            if self.args.trace:
                label = f"{NODE_CONTAINER_LABEL}={NODE}"
                self.watch.trace.watch_docker(self.docker, label, POD_NAME_CONTAINER_LABEL)
        except BaseException:
            self.__exit__()
            raise
        return self

    def round(self, i: int) -> dict[str, Measure]:
        assert self.api is not None and self.watch is not None
        args, watch = self.args, self.watch
        result: dict[str, Measure] = {}
        try:
            minik_round(
                self.api,
                watch,
                self.docker,
                args.replicas,
                args.kill,
                args.probes == "http",
                args.timeout,
                self.rng,
                result,
            )
        except TimeoutError as err:
            # a stuck round is a result (never reached); the next one starts clean
            timed_out(result, err)
            print(explain_stuck(watch.snapshot(), self.docker), flush=True)
        minik_cleanup(self.api, watch, CLEANUP_TIMEOUT)
        print(f"  minik round {i + 1}: " + line(result), flush=True)
        if args.trace:
            print(f"  minik converge trace:\n{watch.trace.report(MINIK_MARKS)}")
        if args.keep_logs:
            for name, m in result.items():
                print(f"    last Ready in {name}: {m.last}")
        return result

    def __exit__(self, *exc: object) -> None:
        try:
            if self.watch is not None:
                self.watch.trace.stop()
                self.watch.stop()
                self.watch = None
            if self.api is not None:
                self.api.close()
                self.api = None
        finally:
            self.cluster.down(self.docker)


# ---- Swarm --------------------------------------------------------------------------


class SwarmService:
    def __init__(self, client: docker.DockerClient, name: str, run_id: str) -> None:
        self.client = client
        self.name = name
        self.run_id = run_id
        self.id: str | None = None

    def create(self, image_id: str, replicas: int, probes: bool, parallelism: int) -> None:
        healthcheck = None
        if probes:
            # `--health-cmd 'wget -q -O /dev/null http://127.0.0.1/healthz'
            #  --health-interval 1s --health-timeout 1s --health-retries 3`
            healthcheck = dtypes.Healthcheck(
                test=["CMD", "wget", "-q", "-O", "/dev/null", "http://127.0.0.1/healthz"],
                interval=PROBE_PERIOD * SECOND_NS,
                timeout=PROBE_TIMEOUT * SECOND_NS,
                retries=PROBE_FAILURES,
            )
        spec = dtypes.ContainerSpec(
            image=image_id,  # by id: Swarm then never tries a registry (none is reachable)
            healthcheck=healthcheck,
            stop_grace_period=GRACE_SECONDS * SECOND_NS,
            labels={SWARM_LABEL: self.run_id},
        )
        template = dtypes.TaskTemplate(
            spec,
            restart_policy=dtypes.RestartPolicy(
                condition="any", delay=SWARM_RESTART_DELAY, max_attempts=0
            ),
        )
        update = dtypes.UpdateConfig(
            parallelism=parallelism,
            delay=SWARM_UPDATE_DELAY,
            order=SWARM_UPDATE_ORDER,
            failure_action="pause",
        )
        created = self.client.api.create_service(
            template,
            name=self.name,
            labels={SWARM_LABEL: self.run_id},
            mode=dtypes.ServiceMode("replicated", replicas=replicas),
            update_config=update,
        )
        self.id = created["ID"]

    def update_image(self, image_id: str) -> None:
        """`docker service update --image <id>`: only the image changes."""
        assert self.id is not None
        version = self.client.api.inspect_service(self.id)["Version"]["Index"]
        self.client.api.update_service(
            self.id,
            version,
            task_template={"ContainerSpec": {"Image": image_id}},
            fetch_current_spec=True,
        )

    def tasks(self) -> list[dict[str, Any]]:
        assert self.id is not None
        return self.client.api.tasks(filters={"service": self.id})

    def remove(self, timeout: float = 60) -> None:
        if self.id is None:
            return
        with contextlib.suppress(docker.errors.NotFound):
            self.client.api.remove_service(self.id)
        label = f"com.docker.swarm.service.id={self.id}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.client.api.containers(all=True, filters={"label": [label]}):
                break
            time.sleep(0.2)
        for entry in self.client.api.containers(all=True, filters={"label": [label]}):
            with contextlib.suppress(docker.errors.APIError):
                self.client.api.remove_container(entry["Id"], force=True)
        self.id = None


def task_image(task: dict[str, Any]) -> str:
    return task["Spec"]["ContainerSpec"]["Image"]


def task_running(task: dict[str, Any]) -> bool:
    return task.get("DesiredState") == "running" and task["Status"].get("State") == "running"


def poll_tasks(
    service: SwarmService,
    began: float,
    count: Callable[[list[dict]], int],
    done: Callable[[list[dict]], bool],
    timeout: float,
    what: str,
    trace: ConvergeTrace | None = None,
) -> Measure:
    progress = [(began, -1)]
    while True:
        tasks = service.tasks()
        now = time.monotonic()
        if trace is not None:
            for task in tasks:
                trace.on_task(task, task_running(task))
        n = count(tasks)
        if progress[-1][1] != n:
            progress.append((now, n))
        if done(tasks):
            return measure(began, now, progress[1:])
        if now - began > timeout:
            states: dict[str, int] = {}
            for t in tasks:
                key = f"{t['Status'].get('State')}/{t.get('DesiredState')}"
                states[key] = states.get(key, 0) + 1
            raise TimeoutError(f"swarm: {what} not reached in {timeout:.0f}s; tasks {states}")
        time.sleep(max(0.0, now + SWARM_POLL - time.monotonic()))


def swarm_round(
    docker_client: docker.DockerClient,
    images: dict[str, str],
    args: argparse.Namespace,
    run_id: str,
    index: int,
    rng: random.Random,
    out: dict[str, Measure],
    trace: ConvergeTrace,
) -> None:
    """One round of the three scenarios; their results go to `out` as they finish."""
    replicas, kill, timeout = args.replicas, args.kill, args.timeout
    service = SwarmService(docker_client, f"minik-bench-{run_id}-{index}", run_id)
    v1, v2 = images["v1"], images["v2"]

    def running_with(image: str) -> Callable[[list[dict]], int]:
        return lambda tasks: sum(1 for t in tasks if task_running(t) and task_image(t) == image)

    try:
        # converge
        count = running_with(v1)
        trace.start()
        began = time.monotonic()
        service.create(v1, replicas, args.probes == "http", args.swarm_parallelism)
        out["converge"] = poll_tasks(
            service, began, count, lambda ts: count(ts) >= replicas, timeout, "converge", trace
        )
        trace.finish()
        time.sleep(3)

        # rolling update
        count = running_with(v2)

        def updated(tasks: list[dict]) -> bool:
            old = sum(
                1 for t in tasks if t.get("DesiredState") == "running" and task_image(t) != v2
            )
            return old == 0 and count(tasks) >= replicas

        began = time.monotonic()
        service.update_image(v2)
        out["rolling update"] = poll_tasks(
            service, began, count, updated, timeout, "rolling update"
        )
        time.sleep(3)

        # recovery: kill `kill` running task containers
        tasks = [t for t in service.tasks() if task_running(t)]
        victims = rng.sample(sorted(tasks, key=lambda t: t["ID"]), kill)
        killed = {t["ID"] for t in victims}
        containers = [t["Status"]["ContainerStatus"]["ContainerID"] for t in victims]

        survivors = {t["ID"] for t in tasks} - killed

        def replacements(tasks: list[dict]) -> int:
            return sum(
                1
                for t in tasks
                if task_running(t) and task_image(t) == v2 and t["ID"] not in killed | survivors
            )

        def recovered(tasks: list[dict]) -> bool:
            running = sum(1 for t in tasks if task_running(t) and t["ID"] not in killed)
            return running >= replicas and replacements(tasks) >= kill

        began = time.monotonic()
        kill_all(docker_client, containers)
        out["recovery"] = poll_tasks(service, began, replacements, recovered, timeout, "recovery")
    finally:
        service.remove()
    time.sleep(2)


class SwarmSide:
    """Swarm for the bench: each round inits its own swarm and leaves it (the swarm,
    and live-restore off, last only for the round: bench/swarmengine.py)."""

    def __init__(
        self, docker_client: docker.DockerClient, images: dict[str, str], args: argparse.Namespace
    ) -> None:
        self.docker = docker_client
        self.images = images
        self.args = args
        self.run_id = secrets.token_hex(3)
        self.rng = random.Random(args.seed)

    def round(self, i: int) -> dict[str, Measure]:
        args = self.args
        result: dict[str, Measure] = {}
        trace = ConvergeTrace()
        with BenchSwarm(self.docker, self.run_id):
            if args.trace:
                label = f"{SWARM_LABEL}={self.run_id}"
                trace.watch_docker(self.docker, label, SWARM_TASK_LABEL)
            try:
                swarm_round(self.docker, self.images, args, self.run_id, i, self.rng, result, trace)
            except TimeoutError as err:
                timed_out(result, err)
            finally:
                trace.stop()
        print(f"  swarm round {i + 1}: " + line(result), flush=True)
        if args.trace:
            print(f"  swarm converge trace:\n{trace.report(SWARM_MARKS)}")
        return result


def run_rounds(
    workdir: Path,
    docker_client: docker.DockerClient,
    images: dict[str, str],
    args: argparse.Namespace,
) -> tuple[list[dict[str, Measure]], list[dict[str, Measure]]]:
    """minik's rounds and Swarm's: all of minik's first (minik is down before any
    swarm exists), or with --interleave alternating (minik idles, up, during Swarm's
    rounds: the load on this shared machine drifts, and adjacent rounds see alike)."""
    minik: list[dict[str, Measure]] = []
    swarm: list[dict[str, Measure]] = []
    swarm_side = None if args.skip_swarm else SwarmSide(docker_client, images, args)
    with contextlib.ExitStack() as stack:
        minik_side = (
            None
            if args.skip_minik
            else stack.enter_context(MinikSide(workdir, docker_client, args))
        )
        for i in range(args.rounds):
            if minik_side is not None:
                minik.append(minik_side.round(i))
            if swarm_side is not None and args.interleave:
                swarm.append(swarm_side.round(i))
    if swarm_side is not None and not args.interleave:
        swarm = [swarm_side.round(i) for i in range(args.rounds)]
    return minik, swarm


# ---- Docker's own floor ---------------------------------------------------------------

FLOOR_LABEL = "io.minik.bench-floor"
FLOOR_THREADS = 4  # as many Docker create/start calls in flight as a kubelet allows
FLOOR_SOLO_THREADS = 6  # the kubelet's starts of sandbox-less pods in flight (podsync)


def docker_floor(
    client: docker.DockerClient, image_id: str, replicas: int, pod_network: str
) -> dict[str, float]:
    """Seconds for Docker alone to start `replicas` pods' worth of containers, no
    orchestrator: pairs shaped like minik's pods (a sandbox on a bridge network, the
    app joining its network namespace) and single containers like Swarm's tasks. It
    tells how much of a converge is Docker's work for each pod model. The network is
    of the kind minik's pods used: Docker's default `bridge`, or a user-defined one."""
    api = client.api
    labels = {FLOOR_LABEL: "1"}
    network = "bridge"
    if pod_network != "bridge":
        network = api.create_network(f"minik-bench-floor-{secrets.token_hex(3)}", labels=labels)[
            "Id"
        ]

    def run(image: str, host_config: dict[str, Any]) -> str:
        config = api.create_host_config(**host_config)
        created = api.create_container(image, labels=labels, host_config=config)
        api.start(created["Id"])
        return created["Id"]

    def pair(_: int) -> None:
        sandbox = run(DEFAULT_SANDBOX_IMAGE, {"network_mode": network, "ipc_mode": "shareable"})
        run(image_id, {"network_mode": f"container:{sandbox}", "ipc_mode": f"container:{sandbox}"})

    def single(_: int) -> None:
        run(image_id, {"network_mode": network})

    def create_all_then_start_all(_: int) -> None:
        """Swarm's way: every task's container created at once, then all started."""
        config = api.create_host_config(network_mode=network)
        with ThreadPoolExecutor(replicas) as pool:
            ids = list(
                pool.map(
                    lambda _: api.create_container(image_id, labels=labels, host_config=config)[
                        "Id"
                    ],
                    range(replicas),
                )
            )
            list(pool.map(api.start, ids))

    results = {}
    try:
        for name, start, threads, calls in (
            ("pairs", pair, FLOOR_THREADS, replicas),
            ("singles", single, FLOOR_THREADS, replicas),
            ("singles solo", single, FLOOR_SOLO_THREADS, replicas),
            ("singles swarm", create_all_then_start_all, 1, 1),
        ):
            began = time.monotonic()
            with ThreadPoolExecutor(threads) as pool:
                list(pool.map(start, range(calls)))
            results[name] = time.monotonic() - began
            for entry in api.containers(all=True, filters={"label": FLOOR_LABEL}):
                api.remove_container(entry["Id"], force=True)
    finally:
        for entry in api.containers(all=True, filters={"label": FLOOR_LABEL}):
            with contextlib.suppress(docker.errors.APIError):
                api.remove_container(entry["Id"], force=True)
        if network != "bridge":
            with contextlib.suppress(docker.errors.APIError):
                api.remove_network(network)
    return results


# ---- shared -------------------------------------------------------------------------


def kill_all(client: docker.DockerClient, container_ids: list[str]) -> None:
    """`docker kill` them at once (one thread each)."""
    with ThreadPoolExecutor(len(container_ids)) as pool:
        list(pool.map(client.api.kill, container_ids))


def measure(
    began: float,
    ended: float,
    progress: list[tuple[float, int]],
    became_ready: dict[str, float] | None = None,
) -> Measure:
    last = ""
    if became_ready:
        name, at = max(became_ready.items(), key=lambda item: item[1])
        last = f"{name} at {at - began:.2f}s"
    return Measure(ended - began, [(max(0.0, t - began), n) for t, n in progress], last)


def timed_out(result: dict[str, Measure], err: TimeoutError) -> None:
    """The first scenario without a result is the one that timed out; the round's
    later scenarios did not run."""
    print(f"  {err}", flush=True)
    pending = [name for name in SCENARIOS if name not in result]
    if pending:
        result[pending[0]] = Measure(math.inf)


def line(result: dict[str, Measure]) -> str:
    parts = []
    for name in SCENARIOS:
        if name not in result:
            parts.append(f"{name}   (not run)")
        elif math.isinf(result[name].seconds):
            parts.append(f"{name} TIMEOUT")
        else:
            parts.append(f"{name} {result[name].seconds:6.2f}s")
    return "  ".join(parts)


def median_of(rounds: list[dict[str, Measure]], name: str) -> tuple[float, str]:
    """The median over the rounds that ran the scenario (a timeout counts as
    slower than any time), and a note of how many timed out."""
    values = [r[name].seconds for r in rounds if name in r]
    if not values:
        return math.nan, " (not run)"
    timeouts = sum(1 for v in values if math.isinf(v))
    note = f" ({timeouts} of {len(values)} timed out)" if timeouts else ""
    return statistics.median(values), note


def last_finished(rounds: list[dict[str, Measure]], name: str) -> Measure | None:
    done = [r[name] for r in rounds if name in r and not math.isinf(r[name].seconds)]
    return done[-1] if done else None


def milestones(m: Measure, replicas: int) -> str:
    marks = []
    for label, n in (("1st", 1), ("half", (replicas + 1) // 2), ("all", replicas)):
        t = m.reached(n)
        marks.append(f"{label} {t:5.2f}s" if t is not None else f"{label}   -  ")
    return " ".join(marks)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--replicas", type=int, default=30)
    parser.add_argument("--kill", type=int, default=5, help="containers killed for recovery")
    parser.add_argument("--rounds", type=int, default=1, help="rounds per system (median)")
    parser.add_argument(
        "--probes",
        choices=("http", "none"),
        default="http",
        help="readiness: httpGet probe / health check on both sides, or neither",
    )
    parser.add_argument(
        "--swarm-parallelism", type=int, default=SWARM_UPDATE_PARALLELISM, metavar="N"
    )
    parser.add_argument("--timeout", type=float, default=300, help="per scenario (s)")
    parser.add_argument("--seed", type=int, default=1, help="which pods/tasks are killed")
    parser.add_argument(
        "--keep-logs",
        action="store_true",
        help="keep minik's logs (and name the last pod Ready in each scenario)",
    )
    parser.add_argument("--skip-swarm", action="store_true", help="measure minik only")
    parser.add_argument("--skip-minik", action="store_true", help="measure Swarm only")
    parser.add_argument(
        "--interleave",
        action="store_true",
        help="alternate minik's and Swarm's rounds (minik stays up, idle, meanwhile)",
    )
    parser.add_argument(
        "--trace", action="store_true", help="where each converge's time goes (convergetrace)"
    )
    parser.add_argument(
        "--pod-network", default="minik", help="minik up --pod-network (`bridge`: Docker's default)"
    )
    parser.add_argument(
        "--skip-floor", action="store_true", help="do not time Docker alone (see docker_floor)"
    )
    args = parser.parse_args()
    # `timeout`'s SIGTERM unwinds like an error: the swarm is left, live-restore restored
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    client = docker.from_env(timeout=120)
    images = build_web_images(client)
    print(
        f"{args.replicas} replicas of examples/web ({IMAGE_REPO}:v1 → v2), one node, "
        f"readiness: {'httpGet /healthz every 1s' if args.probes == 'http' else 'none'}; "
        f"{args.rounds} round(s) each",
        flush=True,
    )
    workdir = make_workdir("minik-bench-workloads-")
    try:
        minik, swarm = run_rounds(workdir, client, images, args)
        floor = (
            {}
            if args.skip_floor
            else docker_floor(client, images["v1"], args.replicas, args.pod_network)
        )
    except BaseException:
        print(f"minik's logs are kept in {workdir / 'data' / 'logs'}", file=sys.stderr)
        raise
    if args.keep_logs:
        print(f"minik's logs are kept in {workdir / 'data' / 'logs'}")
    else:
        remove_workdir(workdir)

    print()
    print(f"{'scenario':<16}{'minik s':>9}{'swarm s':>9}{'ratio':>8}  target")
    for name in SCENARIOS:
        ours, note = median_of(minik, name)
        if not swarm:
            print(f"{name:<16}{ours:9.2f}{'-':>9}{'-':>8}  <= {TARGETS[name]:.2f}{note}")
            continue
        theirs, their_note = median_of(swarm, name)
        if their_note:
            note += f" swarm{their_note}"
        ratio = ours / theirs if not (math.isinf(ours) and math.isinf(theirs)) else math.nan
        target = TARGETS[name]
        verdict = "-" if math.isnan(ratio) else "ok" if ratio <= target else "MISSED"
        print(f"{name:<16}{ours:9.2f}{theirs:9.2f}{ratio:8.2f}  <= {target:.2f} {verdict}{note}")
    if args.interleave and minik and swarm:
        for name in SCENARIOS:
            pairs = [
                f"{m[name].seconds / w[name].seconds:.2f}"
                for m, w in zip(minik, swarm, strict=False)
                if name in m and name in w and not math.isinf(m[name].seconds + w[name].seconds)
            ]
            print(f"  {name}, each round over the Swarm round after it: {', '.join(pairs)}")
    print()
    print("Progress, last finished round: seconds until the 1st, half and all of the")
    print("replicas were Ready/running (recovery: of the killed ones, back Ready/replaced):")
    for name in SCENARIOS:
        total = args.kill if name == "recovery" else args.replicas
        for system, rounds in (("minik", minik), ("swarm", swarm)):
            m = last_finished(rounds, name)
            if m is not None:
                label = name if system == "minik" else ""
                print(f"  {label:<15} {system} {milestones(m, total)}")
    if floor:
        print(
            f"Docker alone, {FLOOR_THREADS} calls in flight, no probes: {args.replicas} "
            f"sandbox+app pairs (minik's pod shape) {floor['pairs']:.2f}s, {args.replicas} "
            f"single containers (Swarm's task shape) {floor['singles']:.2f}s; singles "
            f"created and started one after the other {FLOOR_SOLO_THREADS} in flight (the "
            f"kubelet's solo pods) {floor['singles solo']:.2f}s, all created at once then "
            f"all started at once (Swarm's way) {floor['singles swarm']:.2f}s"
        )
    if args.probes == "http":
        print(
            "Swarm tasks turn `running` only once their health check passes "
            "(wget in the container, every 1s); minik pods are Ready once their "
            "httpGet probe (from the kubelet) passes."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
