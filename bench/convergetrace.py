"""Where a converge's time goes, for minik's pods and Swarm's tasks alike
(bench/workloads.py --trace).

Each replica gets marks, wall-clock seconds (one machine, one clock): for minik's
pods from the pod watch's arrival times (the ReplicaSet controller created it, the
scheduler bound it, the kubelet reported it Running, then Ready); for Swarm's tasks
from its task list as polled (the task was created, reported running); for both from
Docker's event stream of the replicas' containers, to the nanosecond (create, start,
and for Swarm the health check's first `healthy`). Printed as the time from the
scenario's start until the 1st, the middle and the last replica reached each mark:
which stage spreads the replicas out, and which one the last replica waited on; and
each stage's median and longest span per replica.
"""

from __future__ import annotations

import contextlib
import itertools
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import docker

# marks in the order of a replica's life
MINIK_MARKS = ("added", "bound", "create", "start", "running", "ready")
SWARM_MARKS = ("added", "create", "start", "healthy", "running")


@dataclass
class ConvergeTrace:
    """Marks per replica (pod name or task id); `began` is the scenario's start."""

    began: float = 0.0
    replicas: dict[str, dict[str, float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    on: bool = False
    _stream: Any = None

    def start(self) -> None:
        with self.lock:
            self.replicas = {}
            self.began = time.time()
            self.on = True

    def finish(self) -> None:
        self.on = False

    def mark(self, replica: str, what: str, at: float | None = None) -> None:
        if not self.on or not replica:
            return
        when = time.time() if at is None else at
        with self.lock:
            self.replicas.setdefault(replica, {}).setdefault(what, when)

    def on_pod(self, pod: dict[str, Any], ready: bool) -> None:
        name = (pod.get("metadata") or {}).get("name", "")
        self.mark(name, "added")
        if (pod.get("spec") or {}).get("nodeName"):
            self.mark(name, "bound")
        if (pod.get("status") or {}).get("phase") == "Running":
            self.mark(name, "running")
        if ready:
            self.mark(name, "ready")

    def on_task(self, task: dict[str, Any], running: bool) -> None:
        self.mark(task["ID"], "added")
        if running:
            self.mark(task["ID"], "running")

    def watch_docker(self, client: docker.DockerClient, label: str, replica_label: str) -> None:
        """Docker's events for containers labelled `label`; each one's replica is the
        value of its `replica_label`."""
        stream = client.events(decode=True, filters={"type": "container", "label": label})
        self._stream = stream

        def run() -> None:
            with contextlib.suppress(Exception):
                for event in stream:
                    attrs = (event.get("Actor") or {}).get("Attributes") or {}
                    action = str(event.get("Action") or event.get("status") or "")
                    at = int(event.get("timeNano") or 0) / 1e9
                    if action == "health_status: healthy":
                        action = "healthy"
                    if action in ("create", "start", "healthy"):
                        self.mark(attrs.get(replica_label, ""), action, at)

        threading.Thread(target=run, daemon=True).start()

    def stop(self) -> None:
        if self._stream is not None:
            with contextlib.suppress(Exception):
                self._stream.close()
            self._stream = None

    def report(self, marks: tuple[str, ...]) -> str:
        """Seconds from the start until the 1st / middle / last replica reached each mark."""
        with self.lock:
            replicas = [dict(m) for m in self.replicas.values()]
        lines = []
        for first, then in itertools.pairwise(marks):
            spans = sorted(m[then] - m[first] for m in replicas if first in m and then in m)
            if spans:
                lines.append(
                    f"    {first + ' -> ' + then:<18} per replica: median "
                    f"{statistics.median(spans):5.2f}s  max {spans[-1]:5.2f}s"
                )
        for what in marks:
            times = sorted(m[what] - self.began for m in replicas if what in m)
            if times:
                mid = times[len(times) // 2]
                lines.append(
                    f"    {what:<8} n={len(times):<3} 1st {times[0]:5.2f}s  "
                    f"mid {mid:5.2f}s  last {times[-1]:5.2f}s"
                )
        return "\n".join(lines)
