"""The delay before a Job replaces failed pods (Kubernetes' job back-off): 10 s after
the first failure since the last success, doubling with each further one, capped at
six minutes. A success resets it."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_BACKOFF = 10.0
MAX_BACKOFF = 360.0


@dataclass
class BackoffRecord:
    """Failures since the last success, and when the latest one happened."""

    failures_after_last_success: int = 0
    last_failure_time: float | None = None

    def observe(self, finished: list[tuple[bool, float]]) -> None:
        """Account newly finished pods, given as (succeeded, finish time)."""
        for succeeded, at in sorted(finished, key=lambda item: item[1]):
            if succeeded:
                self.failures_after_last_success = 0
                self.last_failure_time = None
            else:
                self.failures_after_last_success += 1
                self.last_failure_time = max(at, self.last_failure_time or at)

    def delay(self) -> float:
        if self.failures_after_last_success == 0:
            return 0.0
        return min(DEFAULT_BACKOFF * 2 ** (self.failures_after_last_success - 1), MAX_BACKOFF)

    def remaining(self, now: float) -> float:
        """Seconds still to wait before creating a replacement pod (0: go ahead)."""
        if self.last_failure_time is None:
            return 0.0
        return max(0.0, self.last_failure_time + self.delay() - now)
