"""The supervisor's restart back-off (1 s, doubling to 30 s, reset after a stable run), its
wake-ups and its start order."""

from __future__ import annotations

import contextlib
import http.server
import logging
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy import readiness, supervisor
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


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/readyz" else 500)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def _http_server() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_the_readiness_probe_waits_for_200_and_gives_up_at_its_timeout() -> None:
    with _http_server() as port:
        assert readiness.main([f"http://127.0.0.1:{port}/readyz", "--timeout", "5"]) == 0
        began = time.monotonic()
        assert readiness.main([f"http://127.0.0.1:{port}/other", "--timeout", "0.3"]) == 1
        assert 0.3 <= time.monotonic() - began < 3.0


def test_a_ready_url_gates_the_next_component_through_a_child_probe(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The supervisor asks in a child (deploy/readiness.py): it never loads ssl itself."""
    with _http_server() as port:
        supervisor.write_spec(
            tmp_path / "components.json",
            [
                supervisor.Component(
                    "server", ["sleep", "30"], ready_url=f"http://127.0.0.1:{port}/readyz"
                ),
                supervisor.Component(
                    "never", ["sleep", "30"], ready_url=f"http://127.0.0.1:{port}/other"
                ),
                supervisor.Component("after", ["sleep", "30"]),
            ],
        )
        sup = supervisor.Supervisor(tmp_path)
        began = time.monotonic()
        caplog.set_level(logging.INFO, logger=supervisor.log.name)
        try:
            sup.start_in_order(timeout=1.0)
            took = time.monotonic() - began
            started = [s.spec.name for s in sup.slots if s.alive()]
        finally:
            for slot in sup.slots:
                sup.stop_slot(slot)
    # "server" was ready at once, "never" held the rest up for its timeout, not longer
    assert 1.0 <= took < 5.0
    assert all(slot.restarts == 0 for slot in sup.slots)
    assert started == ["server", "never", "after"]
    assert "server: ready" in caplog.messages
    assert "never: not ready after 1s; starting the rest" in caplog.messages
