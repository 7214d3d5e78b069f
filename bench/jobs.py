"""A batch/v1 Job beside plain Docker: same machine, same image, same run.

- minik: a Job of `--completions` (100) pods, `--parallelism` (10) at a time, each
  running `true` in `minik/busybox:latest` (restartPolicy Never), timed from the
  Job's create request to the arrival of the watch event that shows its `Complete`
  condition. One real kubelet on the local Docker, the real scheduler and
  controller manager, a real etcd and apiserver, all started here (no proxy: a Job
  needs no Service).
- Baseline: the same number of containers, same image and command, run with the
  Docker SDK `--parallelism` at a time (each `docker run` waited to exit, then
  removed before its worker starts the next), timed from the first start to the
  last exit.
- Both on one Docker network (`--pod-network`): by default Docker's own `bridge`,
  where a plain `docker run` puts a container and `minik up --pod-network bridge` its
  pods; `--pod-network NEW` puts both on a user-defined network the kubelet makes,
  as `minik up`'s default `minik` is (Docker's start is slower on those).

Per-phase hints for minik, from the Job and pod watches: the first pod bound to the
node, the first pod seen Running (a pod running `true` may go from Pending straight
to Succeeded between two status writes, and then it has no such mark), the first
pod Succeeded, half the completions, all of them (status.succeeded), and the
Complete condition.

`--rounds N` runs each side N times (a baseline then a Job per round) and prints
medians. Target (issue 12): minik / Docker <= 1.3.

The kubelet's node is named with this run's own prefix (`jobbench-<hex>-1`), so that
another kubelet on the same Docker daemon never takes our containers for its
orphans; everything this run started is removed at the end: its processes by PID,
its containers by their node or bench label, its pod network by its label.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import statistics
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import docker
import docker.errors

from api.batch import JOB_NAME_LABEL
from api.clusterdefaults import NODE_CONTAINER_LABEL
from api.errors import NotFound
from api.resources import JOBS, NAMESPACES, NODES, PODS
from bench.jobtrace import Tracer
from bench.pod_startup import remove_pod_network
from client.kubeconfig import load
from client.rest import Client
from client.watch import RELIST, ResumableWatch
from deploy import processes
from deploy.controlplane import (
    ApiServer,
    Etcd,
    make_workdir,
    remove_workdir,
    start_apiserver,
    start_etcd,
)
from deploy.images import ensure_busybox_image

COMMAND = ["true"]
NAMESPACE = "jobbench"
# MINIK_BENCH_NODE_PREFIX: a session's own prefix on a shared machine
NODE_PREFIX = f"{os.environ.get('MINIK_BENCH_NODE_PREFIX', '')}jobbench-{secrets.token_hex(3)}-"
NODE = f"{NODE_PREFIX}1"
BENCH_LABEL = "io.minik.bench-jobs"
TARGET = 1.3


# ---- baseline: plain Docker ---------------------------------------------------------


def docker_baseline(
    client: docker.DockerClient,
    image: str,
    run_id: str,
    completions: int,
    parallelism: int,
    network: str,
) -> float:
    """Seconds for `completions` containers, `parallelism` at a time, each run to its
    exit and removed: the work a Job asks of Docker, with no orchestrator. They join
    the pods' own network: joining a user-defined one costs Docker ~30% more than its
    default bridge (measured: 100 containers 15.6 s against 20.2 s)."""
    work = iter(range(completions))
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                if next(work, None) is None:
                    return
            container = client.containers.run(
                image, COMMAND, detach=True, labels={BENCH_LABEL: run_id}, network=network
            )
            result = container.wait()
            if result.get("StatusCode") != 0:
                raise RuntimeError(f"docker: {image} {COMMAND} exited {result}")
            container.remove(v=True)

    began = time.monotonic()
    with ThreadPoolExecutor(parallelism) as pool:
        for future in [pool.submit(worker) for _ in range(parallelism)]:
            future.result()
    return time.monotonic() - began


def remove_labelled(client: docker.DockerClient, label: str) -> None:
    for entry in client.api.containers(all=True, filters={"label": [label]}):
        with contextlib.suppress(docker.errors.APIError):
            client.api.remove_container(entry["Id"], force=True, v=True)


# ---- minik --------------------------------------------------------------------------


@dataclass
class Cluster:
    """etcd, apiserver, scheduler, controller manager and one kubelet, started here."""

    workdir: Path
    pod_network: str
    etcd: Etcd | None = None
    apiserver: ApiServer | None = None
    components: list[processes.Process] = field(default_factory=list)

    def up(self) -> Path:
        self.etcd = start_etcd(self.workdir / "etcd-run")
        self.apiserver = start_apiserver(self.etcd, self.workdir / "apiserver")
        kubeconfig = str(self.apiserver.kubeconfig)
        py = [sys.executable, "-m"]
        specs = {
            "scheduler": [*py, "scheduler", "--kubeconfig", kubeconfig],
            "controller": [*py, "controller", "--kubeconfig", kubeconfig],
            "kubelet": [
                *py,
                "kubelet",
                "--kubeconfig",
                kubeconfig,
                "--node-name",
                NODE,
                "--root-dir",
                str(self.workdir / "kubelet"),
                "--node-ip",
                "127.0.0.1",
                "--port",
                str(processes.free_port()),
                "--pod-network",
                self.pod_network,
                *processes.kubelet_serving_flags(
                    self.apiserver.workdir / "pki", NODE, "127.0.0.1", self.workdir / "kubelet-pki"
                ),
            ],
        }
        for name, argv in specs.items():
            self.components.append(processes.spawn(name, argv, self.workdir / f"{name}.log"))
        with Client(load(kubeconfig)) as api:
            processes.wait_for(lambda: node_ready(api), 90, self.components[-1], "kubelet")
        return self.apiserver.kubeconfig

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.log_tail(15)}" for p in self.components)

    def down(self, client: docker.DockerClient) -> None:
        for proc in reversed(self.components):
            proc.stop(timeout=20)
        self.components = []
        remove_labelled(client, f"{NODE_CONTAINER_LABEL}={NODE}")
        remove_pod_network(client, self.pod_network)
        if self.apiserver is not None:
            self.apiserver.stop()
        if self.etcd is not None:
            self.etcd.stop()


def node_ready(api: Client) -> bool:
    try:
        node = api.get(NODES, NODE)
    except NotFound:
        return False
    conditions = (node.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def job_manifest(name: str, completions: int, parallelism: int, image: str) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "completions": completions,
            "parallelism": parallelism,
            "backoffLimit": 0,
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "terminationGracePeriodSeconds": 1,
                    "containers": [
                        {
                            "name": "work",
                            "image": image,
                            "imagePullPolicy": "IfNotPresent",
                            "command": COMMAND,
                        }
                    ],
                }
            },
        },
    }


def condition(obj: dict[str, Any], kind: str) -> bool:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return any(c.get("type") == kind and c.get("status") == "True" for c in conditions)


class Recorder(threading.Thread):
    """One watch (Jobs or pods of the namespace); `on_event` is called with each
    object and the event's arrival time, under `lock`."""

    def __init__(
        self,
        kubeconfig: Path,
        resource: Any,
        lock: threading.Lock,
        on_event: Callable[[str, dict[str, Any], float], None],
    ) -> None:
        super().__init__(daemon=True)
        self.client = Client(load(str(kubeconfig)))
        self.resource = resource
        self.lock = lock
        self.on_event = on_event
        self.synced = threading.Event()
        self.stopping = False
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            for event_type, obj in ResumableWatch(self.client, self.resource, NAMESPACE):
                now = time.monotonic()
                with self.lock:
                    items = (obj.get("items") or []) if event_type == RELIST else [obj]
                    for item in items:
                        self.on_event(event_type, item, now)
                self.synced.set()
        except Exception as err:
            if not self.stopping:
                self.error = err

    def stop(self) -> None:
        self.stopping = True
        self.client.close()


@dataclass
class JobRun:
    """What the watches saw of one Job: seconds are monotonic times."""

    name: str
    completions: int
    marks: dict[str, float] = field(default_factory=dict)
    pods: set[str] = field(default_factory=set)
    done: threading.Event = field(default_factory=threading.Event)

    def mark(self, what: str, now: float) -> None:
        self.marks.setdefault(what, now)

    def on_job(self, event_type: str, job: dict[str, Any], now: float) -> None:
        if job["metadata"]["name"] != self.name or event_type == "DELETED":
            return
        succeeded = int((job.get("status") or {}).get("succeeded") or 0)
        if succeeded * 2 >= self.completions:
            self.mark("half succeeded", now)
        if succeeded >= self.completions:
            self.mark("all succeeded", now)
        if condition(job, "Complete"):
            self.mark("Complete", now)
            self.done.set()
        elif condition(job, "Failed"):
            self.mark("Failed", now)
            self.done.set()

    def on_pod(self, event_type: str, pod: dict[str, Any], now: float) -> None:
        labels = pod["metadata"].get("labels") or {}
        if labels.get(JOB_NAME_LABEL) != self.name:
            return
        name = pod["metadata"]["name"]
        if event_type == "DELETED":
            self.pods.discard(name)
            return
        self.pods.add(name)
        if (pod.get("spec") or {}).get("nodeName"):
            self.mark("1st pod bound", now)
        phase = (pod.get("status") or {}).get("phase")
        if phase == "Running":
            self.mark("1st pod Running", now)
        elif phase == "Succeeded":
            self.mark("1st pod Succeeded", now)


PHASES = (
    "1st pod bound",
    "1st pod Running",
    "1st pod Succeeded",
    "half succeeded",
    "all succeeded",
)


def run_job(
    api: Client,
    watches: list[Recorder],
    current: list[JobRun],
    lock: threading.Lock,
    run: JobRun,
    manifest: dict[str, Any],
    timeout: float,
) -> dict[str, float]:
    """Create the Job, wait for its Complete condition; seconds from the create."""
    with lock:
        current[0] = run
    began = time.monotonic()
    api.create(JOBS, manifest, NAMESPACE)
    deadline = began + timeout
    while not run.done.wait(1.0):
        for w in watches:
            if w.error is not None:
                raise RuntimeError(f"minik: a watch failed: {w.error}")
        if time.monotonic() > deadline:
            raise TimeoutError(f"minik: Job {run.name} not Complete in {timeout:.0f}s")
    if "Failed" in run.marks:
        raise RuntimeError(f"minik: Job {run.name} Failed: {failed_pod_state(api, run.name)}")
    return {what: at - began for what, at in run.marks.items()}


def failed_pod_state(api: Client, job: str) -> str:
    """Why a failed Job's first failed pod failed: its reason and its container's end."""
    listed = api.list(PODS, NAMESPACE, label_selector=f"{JOB_NAME_LABEL}={job}")["items"]
    for pod in listed:
        status = pod.get("status") or {}
        if status.get("phase") == "Failed":
            ends = [c.get("state") for c in status.get("containerStatuses") or []]
            why = f"{status.get('reason')} {status.get('message')}"
            return f"pod {pod['metadata']['name']}: {why} {ends}"
    return "no pod in phase Failed"


def delete_job(api: Client, run: JobRun, timeout: float) -> None:
    """Delete the Job and its pods (foreground of the GC's work: wait until the pod
    watch shows none of them), so that the next round starts clean."""
    with contextlib.suppress(NotFound):
        api.delete(JOBS, run.name, NAMESPACE, propagation_policy="Background")
    deadline = time.monotonic() + timeout
    while run.pods:
        if time.monotonic() > deadline:
            raise TimeoutError(f"minik: {len(run.pods)} pods of {run.name} still there")
        time.sleep(0.2)  # clean-up between rounds, not measured


def run_minik_rounds(
    kubeconfig: Path,
    image: str,
    args: argparse.Namespace,
    docker_client: docker.DockerClient,
    run_id: str,
) -> tuple[list[float], list[float], list[dict[str, float]]]:
    """Each round: the Docker baseline, then the Job. Returns both series and the
    minik phase marks."""
    lock = threading.Lock()
    current = [JobRun("", args.completions)]
    jobs = Recorder(kubeconfig, JOBS, lock, lambda t, o, n: current[0].on_job(t, o, n))
    tracer = Tracer() if args.trace else None

    def on_pod(event_type: str, pod: dict[str, Any], now: float) -> None:
        current[0].on_pod(event_type, pod, now)
        if tracer is not None and event_type != "DELETED":
            tracer.on_pod(event_type, pod)

    pods = Recorder(kubeconfig, PODS, lock, on_pod)
    if tracer is not None:
        tracer.watch_docker(docker_client, f"{NODE_CONTAINER_LABEL}={NODE}")
    baseline: list[float] = []
    minik: list[float] = []
    marks: list[dict[str, float]] = []
    with Client(load(str(kubeconfig))) as api:
        api.create(NAMESPACES, {"metadata": {"name": NAMESPACE}})
        for w in (jobs, pods):
            w.start()
            if not w.synced.wait(30):
                raise RuntimeError("minik: a watch did not start")
        try:
            for i in range(args.rounds):
                seconds = docker_baseline(
                    docker_client,
                    image,
                    run_id,
                    args.completions,
                    args.parallelism,
                    args.pod_network,
                )
                baseline.append(seconds)
                time.sleep(2)
                run = JobRun(f"bench-{i}", args.completions)
                if tracer is not None:
                    tracer.reset()
                manifest = job_manifest(run.name, args.completions, args.parallelism, image)
                phases = run_job(api, [jobs, pods], current, lock, run, manifest, args.timeout)
                minik.append(phases["Complete"])
                marks.append(phases)
                print(
                    f"  round {i + 1}: docker {seconds:6.2f}s  minik {phases['Complete']:6.2f}s",
                    flush=True,
                )
                if tracer is not None:
                    print(tracer.report(args.parallelism), flush=True)
                delete_job(api, run, 120)
                time.sleep(2)
        finally:
            jobs.stop()
            pods.stop()
            if tracer is not None:
                tracer.stop()
    return minik, baseline, marks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--completions", type=int, default=100)
    parser.add_argument("--parallelism", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=1, help="rounds per side (median)")
    parser.add_argument("--timeout", type=float, default=600, help="per Job (s)")
    parser.add_argument(
        "--pod-network",
        default="bridge",
        help="Docker network of the pods and of the baseline's containers: Docker's "
        "default `bridge` (where `docker run` puts a container; `minik up --pod-network "
        "bridge`), or NEW for a user-defined one made by the kubelet (as `minik up`'s "
        "default `minik`) and removed at the end",
    )
    parser.add_argument(
        "--trace", action="store_true", help="print where each round's time went, by stage"
    )
    parser.add_argument("--keep-logs", action="store_true", help="keep the components' logs")
    args = parser.parse_args()
    if args.pod_network == "NEW":
        args.pod_network = f"jobbench-{secrets.token_hex(3)}"

    image = ensure_busybox_image()
    run_id = secrets.token_hex(4)
    client = docker.from_env(timeout=120, max_pool_size=max(10, args.parallelism))
    workdir = make_workdir("minik-bench-jobs-")
    cluster = Cluster(workdir, args.pod_network)
    print(
        f"Job of {args.completions} completions, parallelism {args.parallelism}, "
        f"`{' '.join(COMMAND)}` in {image}; {args.rounds} round(s), node {NODE}",
        flush=True,
    )
    began = time.monotonic()
    try:
        kubeconfig = cluster.up()
        minik, baseline, marks = run_minik_rounds(kubeconfig, image, args, client, run_id)
    except BaseException:
        print(cluster.logs(), file=sys.stderr)
        print(f"logs are kept in {workdir}", file=sys.stderr)
        args.keep_logs = True
        raise
    finally:
        cluster.down(client)
        remove_labelled(client, f"{BENCH_LABEL}={run_id}")
        if args.keep_logs:
            print(f"logs are in {workdir}")
        else:
            remove_workdir(workdir)

    ours, theirs = statistics.median(minik), statistics.median(baseline)
    ratio = ours / theirs
    verdict = "ok" if ratio <= TARGET else "MISSED"
    print()
    print(f"{'':<36}{'seconds':>9}")
    print(f"{'minik Job create → Complete':<36}{ours:9.2f}")
    print(f"{'docker SDK, same containers':<36}{theirs:9.2f}")
    print(f"{'ratio minik / docker':<36}{ratio:9.2f}  target <= {TARGET} {verdict}")
    last = marks[-1]
    hints = "  ".join(f"{what} {last[what]:.2f}s" for what in PHASES if what in last)
    print(f"minik phases (last round, from create): {hints}")
    print(f"whole run (cluster start, rounds, clean-up): {time.monotonic() - began:.0f}s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
