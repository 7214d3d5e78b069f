"""Where a Job's time goes: each pod's life, stage by stage (bench/jobs.py --trace).

Two sources, both wall-clock (one machine, one clock): the pod watch's arrival times
(the Job controller created it, the scheduler bound it, the kubelet first reported a
container, the pod Succeeded, the Job controller took its tracking finalizer off) and
Docker's own event stream for the node's containers, to the nanosecond (the
sandbox's and the app container's create, start and die). Printed as the median and
90th percentile of each stage over the Job's pods, plus the refill gap: from the
k-th pod seen Succeeded to the (k + parallelism)-th pod created, the time a slot
stands empty between one pod and the next.
"""

from __future__ import annotations

import contextlib
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import docker

from api.batch import TRACKING_FINALIZER
from bench.common import pct

POD_NAME = "io.minik.pod.name"
SANDBOX = "io.minik.sandbox"

# (label, from-mark, to-mark), in the order of a pod's life
STAGES = (
    ("created → bound", "added", "bound"),
    ("bound → sandbox create", "bound", "sandbox create"),
    ("bound → app create", "bound", "app create"),
    ("sandbox create → start", "sandbox create", "sandbox start"),
    ("sandbox start → app create", "sandbox start", "app create"),
    ("app create → start", "app create", "app start"),
    ("app start → die", "app start", "app die"),
    ("app die → Succeeded seen", "app die", "succeeded"),
    ("Succeeded → finalizer off", "succeeded", "released"),
    ("created → Succeeded (slot)", "added", "succeeded"),
)


@dataclass
class PodTrace:
    marks: dict[str, float] = field(default_factory=dict)

    def mark(self, what: str, at: float) -> None:
        self.marks.setdefault(what, at)


@dataclass
class Tracer:
    """Collects marks for the pods of one Job (`job` is set before each run)."""

    pods: dict[str, PodTrace] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reset(self) -> None:
        with self.lock:
            self.pods = {}

    def on_pod(self, event_type: str, pod: dict[str, Any]) -> None:
        now = time.time()
        md = pod.get("metadata") or {}
        with self.lock:
            trace = self.pods.setdefault(md.get("name", ""), PodTrace())
        trace.mark("added", now)
        if (pod.get("spec") or {}).get("nodeName"):
            trace.mark("bound", now)
        status = pod.get("status") or {}
        if status.get("containerStatuses"):
            trace.mark("reported", now)
        if status.get("phase") == "Succeeded":
            trace.mark("succeeded", now)
        if "succeeded" in trace.marks and TRACKING_FINALIZER not in (md.get("finalizers") or []):
            trace.mark("released", now)

    def on_docker(self, event: dict[str, Any]) -> None:
        attrs = (event.get("Actor") or {}).get("Attributes") or {}
        name = attrs.get(POD_NAME)
        action = event.get("Action") or event.get("status") or ""
        if not name or action not in ("create", "start", "die"):
            return
        at = int(event.get("timeNano") or 0) / 1e9
        which = "sandbox" if attrs.get(SANDBOX) == "true" else "app"
        with self.lock:
            trace = self.pods.setdefault(name, PodTrace())
        trace.mark(f"{which} {action}", at)

    def watch_docker(self, client: docker.DockerClient, node_label: str) -> threading.Thread:
        stream = client.events(decode=True, filters={"type": "container", "label": node_label})

        def run() -> None:
            with contextlib.suppress(Exception):
                for event in stream:
                    self.on_docker(event)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        self._stream = stream
        return thread

    def stop(self) -> None:
        stream = getattr(self, "_stream", None)
        if stream is not None:
            with contextlib.suppress(Exception):
                stream.close()

    def report(self, parallelism: int) -> str:
        with self.lock:
            traces = [t.marks for t in self.pods.values() if "added" in t.marks]
        lines = [f"{'stage (over ' + str(len(traces)) + ' pods)':<34}{'median':>8}{'p90':>8}"]
        for label, start, end in STAGES:
            spans = sorted(m[end] - m[start] for m in traces if start in m and end in m)
            if spans:
                lines.append(f"{label:<34}{_ms(statistics.median(spans))}{_ms(pct(spans, 90))}")
        added = sorted(m["added"] for m in traces)
        done = sorted(m["succeeded"] for m in traces if "succeeded" in m)
        gaps = sorted(a - s for s, a in zip(done, added[parallelism:], strict=False))
        if gaps:
            label = "refill: k-th Succeeded → next pod"
            lines.append(f"{label:<34}{_ms(statistics.median(gaps))}{_ms(pct(gaps, 90))}")
        return "\n".join(lines)


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:6.0f}ms"
