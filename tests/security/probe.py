"""What the security tests share: /healthz timed from another thread while a request
runs (the event loop must keep answering), and an apiserver process's resident memory."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from deploy.controlplane import ApiServer


@dataclass
class HealthProbe:
    """The slowest /healthz answer seen while the probe ran (in seconds)."""

    worst: float = 0.0
    answers: int = 0
    failures: list[str] = field(default_factory=list)


@contextmanager
def healthz_timed(apiserver: ApiServer, interval: float = 0.05) -> Iterator[HealthProbe]:
    """Polls /healthz every `interval` from a thread while the block runs. A stalled
    event loop shows as one slow answer (or a timeout, recorded as 10 s)."""
    probe = HealthProbe()
    stop = threading.Event()

    def poll() -> None:
        with apiserver.http() as http:
            while not stop.is_set():
                began = time.monotonic()
                try:
                    r = http.get("/healthz", timeout=10)
                    took = time.monotonic() - began
                    if r.status_code != 200:
                        probe.failures.append(f"{r.status_code} {r.text[:80]}")
                except Exception as err:  # a timeout is the finding itself
                    took = 10.0
                    probe.failures.append(repr(err))
                probe.worst = max(probe.worst, took)
                probe.answers += 1
                stop.wait(interval)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    time.sleep(0.2)  # the poller's connection is up before the bad request
    try:
        yield probe
    finally:
        stop.set()
        thread.join(15)


def rss_bytes(pid: int) -> int:
    """The process's resident set size (VmRSS), from /proc."""
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")
