"""The scheduler's Prometheus metrics, with kube-scheduler's names and labels:

- `scheduler_schedule_attempts_total{result, profile}`: result `scheduled` (bound),
  `unschedulable` (no node fits) or `error` (a failed bind, an API error, a bug);
- `scheduler_scheduling_attempt_duration_seconds{result, profile}`: from the pod's
  pop to its answer: for a scheduled pod, the end of its binding, as Kubernetes
  measures it;
- `scheduler_pending_pods{queue}`: `active`, `backoff`, `unschedulable` (the
  scheduling queue's three places) and `gated` (pods held by schedulingGates, which
  minik's queue never takes in), read when scraped.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from prometheus_client import Counter, Gauge, Histogram

SCHEDULED, UNSCHEDULABLE, ERROR = "scheduled", "unschedulable", "error"
# kube-scheduler: ExponentialBuckets(0.001, 2, 15)
BUCKETS = tuple(0.001 * 2**i for i in range(15))

ATTEMPTS = Counter(
    "scheduler_schedule_attempts_total",
    "Number of attempts to schedule pods, by the result. 'unschedulable' means a pod "
    "could not be scheduled, while 'error' means an internal scheduler problem.",
    ["result", "profile"],
)
ATTEMPT_DURATION = Histogram(
    "scheduler_scheduling_attempt_duration_seconds",
    "Scheduling attempt latency in seconds (scheduling algorithm + binding)",
    ["result", "profile"],
    buckets=BUCKETS,
)
PENDING = Gauge(
    "scheduler_pending_pods",
    "Number of pending pods, by the queue type. 'active' means number of pods in "
    "activeQ; 'backoff' means number of pods in backoffQ; 'unschedulable' means number "
    "of pods in unschedulablePods that the scheduler attempted to schedule and failed; "
    "'gated' is the number of unschedulable pods that the scheduler never attempted to "
    "schedule because they are gated.",
    ["queue"],
)
QUEUES = ("active", "backoff", "unschedulable", "gated")


def attempt(result: str, profile: str, seconds: float) -> None:
    ATTEMPTS.labels(result, profile).inc()
    ATTEMPT_DURATION.labels(result, profile).observe(seconds)


def report_pending(counts: Callable[[], Mapping[str, int]]) -> None:
    """Read the pending pods from `counts` on each scrape (the last scheduler made in
    this process wins: one per process)."""
    for queue in QUEUES:
        PENDING.labels(queue).set_function(_reader(counts, queue))


def _reader(counts: Callable[[], Mapping[str, int]], queue: str) -> Callable[[], float]:
    return lambda: counts().get(queue, 0)
