"""The supervisor's restart back-off: 1 s, doubling to 30 s, reset after a stable run."""

from __future__ import annotations

from deploy.supervisor import INITIAL_BACKOFF, MAX_BACKOFF, STABLE_SECONDS, backoff_after


def test_backoff_doubles_up_to_the_cap() -> None:
    delays = []
    delay = 0.0
    for _ in range(8):
        delay = backoff_after(delay, ran_for=0.5)
        delays.append(delay)
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    assert delays[0] == INITIAL_BACKOFF and max(delays) == MAX_BACKOFF


def test_a_stable_run_resets_the_backoff() -> None:
    assert backoff_after(30.0, ran_for=STABLE_SECONDS) == INITIAL_BACKOFF
    assert backoff_after(30.0, ran_for=STABLE_SECONDS - 1) == MAX_BACKOFF


def test_a_component_may_start_faster() -> None:
    assert backoff_after(0.0, ran_for=0.1, initial=0.2) == 0.2
    assert backoff_after(0.2, ran_for=0.1, initial=0.2) == 0.4
