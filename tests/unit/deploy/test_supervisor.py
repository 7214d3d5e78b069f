"""The supervisor's restart back-off: 1 s, doubling to 30 s, reset after a stable run."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from deploy import supervisor
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


def test_the_loop_sleeps_until_the_next_restart_is_due(tmp_path: Path) -> None:
    supervisor.write_spec(
        tmp_path / "components.json",
        [supervisor.Component("a", ["true"]), supervisor.Component("b", ["true"])],
    )
    now = 1000.0
    sup = supervisor.Supervisor(tmp_path, clock=lambda: now)
    assert sup.next_wait() == supervisor.IDLE_TICK  # nothing due: only signals wake it
    sup.slots[0].state, sup.slots[0].next_start = "backoff", now + 0.125
    assert sup.next_wait() == 0.125
    sup.slots[1].state, sup.slots[1].next_start = "backoff", now - 5  # overdue
    assert sup.next_wait() == supervisor.TICK


def test_a_child_exit_wakes_the_wait_at_once() -> None:
    with supervisor.child_exits() as wait:
        child = subprocess.Popen(["sleep", "0.2"])
        began = time.monotonic()
        wait(10.0)
        assert time.monotonic() - began < 5.0
        child.wait()


def test_a_component_with_a_start_after_file_waits_for_it(tmp_path: Path) -> None:
    """It holds up nothing after it, is not started by a repair, and starts once its
    file exists (a joining host's kubelet and its bootstrap kubeconfig)."""
    gate = tmp_path / "bootstrap-kubelet.conf"
    supervisor.write_spec(
        tmp_path / "components.json",
        [
            supervisor.Component("kubelet", ["true"], start_after_file=str(gate)),
            supervisor.Component("after", ["true"]),
        ],
    )
    sup = supervisor.Supervisor(tmp_path)
    started: list[str] = []

    def start(slot: supervisor.Slot) -> None:
        started.append(slot.spec.name)
        slot.state, slot.pid = "running", 1

    sup.start = start  # type: ignore[method-assign]
    sup.start_in_order()
    assert started == ["after"]
    assert sup.slots[0].state == "waiting"
    (tmp_path / "control").mkdir()
    (tmp_path / "control" / "repair").touch()
    sup.handle_control()
    sup.start_waiting()
    assert started == ["after"]
    gate.write_text("")
    sup.start_waiting()
    assert started == ["after", "kubelet"]
