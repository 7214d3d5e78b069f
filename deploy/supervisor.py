"""The process supervisor `minik up` leaves running: it starts every component in order
(etcd, the apiserver once `/readyz` answers 200, then the rest), restarts any that exits
with a capped back-off (1 s doubling to 30 s, reset after a stable run), and records
each one's PID, restarts, last exit code and state in DATA_DIR/pids.json for
`minik status`. Restarts are logged to DATA_DIR/logs/supervisor.log.

Why a supervisor process and not systemd units: systemd does not run on the machines
minik targets (containers, CI runners, WSL), a user's `minik up` needs no root, and one
process per data dir keeps clusters side by side independent. Components run in their
own sessions, so a dead supervisor leaves them running; the next `minik up` starts a
new supervisor that adopts the live ones (by PID and command line) and starts only
what is dead.

Control is by files in DATA_DIR/control/: `restart-<name>` restarts one component now;
`repair` starts every dead component at once (no back-off wait). Run:
python -m deploy.supervisor --data-dir DIR (the spec is DIR/components.json)."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from deploy import processes, readiness

log = logging.getLogger("supervisor")

INITIAL_BACKOFF = 1.0
MAX_BACKOFF = 30.0
STABLE_SECONDS = 60.0  # a run this long resets the back-off
TICK = 0.05
# The loop's longest sleep. It wakes at once when a child exits (SIGCHLD) or a signal
# arrives, and when a back-off ends; control requests and the exit of an adopted
# process (not our child: no SIGCHLD) are seen within IDLE_TICK. Polling every TICK
# instead cost the idle cluster ~0.4% of a core.
IDLE_TICK = 0.25
LOG_TAIL_LINES = 5


@dataclass(frozen=True)
class Component:
    """One supervised process: how to start it, how to know it is ready, how to stop it."""

    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    ready_url: str | None = None  # start order: later components wait for this to be 200
    ca_file: str | None = None
    # a client certificate and key for ready_url, where the server asks for one (etcd)
    cert_file: str | None = None
    key_file: str | None = None
    ready_pid_file: str | None = None  # or: ready once this file names its PID (a lock)
    # started only once this file exists, as systemd's ConditionPathExists: a joining
    # host's kubelet waits for the bootstrap kubeconfig `minik up` writes once the
    # apiserver is up (deploy/hostjoin.py); until then its state is "waiting"
    start_after_file: str | None = None
    stop_timeout: float = 10.0
    initial_backoff: float = INITIAL_BACKOFF
    extra: dict[str, Any] = field(default_factory=dict)  # shown in pids.json (url, node)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Component:
        return cls(**data)


def write_spec(path: Path, components: list[Component]) -> None:
    _write_json(path, [asdict(c) for c in components])


def read_spec(path: Path) -> list[Component]:
    return [Component.from_dict(d) for d in json.loads(path.read_text())]


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2))
    os.replace(tmp, path)


def backoff_after(previous: float, ran_for: float, initial: float = INITIAL_BACKOFF) -> float:
    """The next restart delay: `initial` after a stable run, else double, capped."""
    if ran_for >= STABLE_SECONDS or previous <= 0:
        return initial
    return min(max(previous * 2, initial), MAX_BACKOFF)


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> list[str]:
    try:
        with open(path, "rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 8192))
            return handle.read().decode(errors="replace").splitlines()[-lines:]
    except OSError:
        return []


def cmdline_matches(pid: int, argv: list[str]) -> bool:
    """A recorded PID is ours only while it still runs the same command (PIDs get reused)."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return raw.rstrip(b"\0").split(b"\0")[1:] == [a.encode() for a in exec_argv(argv)[1:]]


def exec_argv(argv: list[str]) -> list[str]:
    """The command a process runs once started: `nsenter ... -- CMD` (a component in an
    isolated host's namespace, deploy/hosts.py) executes CMD in its place."""
    if argv and os.path.basename(argv[0]) == "nsenter" and "--" in argv:
        return argv[argv.index("--") + 1 :]
    return argv


@dataclass
class Slot:
    """A component's live state."""

    spec: Component
    log_path: Path
    popen: subprocess.Popen | None = None
    pid: int | None = None  # also set for an adopted process (not our child)
    started_at: float = 0.0
    restarts: int = 0
    last_exit: int | None = None
    last_exit_at: float | None = None
    backoff: float = 0.0
    next_start: float = 0.0
    state: str = "pending"  # pending, waiting (start_after_file), running, backoff, stopped
    last_log: list[str] = field(default_factory=list)

    def alive(self) -> bool:
        if self.popen is not None:
            return self.popen.poll() is None
        return self.pid is not None and processes.pid_alive(self.pid)

    def exit_code(self) -> int | None:
        return self.popen.returncode if self.popen is not None else None

    def record(self) -> dict[str, Any]:
        return {
            "pid": self.pid or 0,
            **self.spec.extra,
            "state": self.state,
            "restarts": self.restarts,
            "last_exit": self.last_exit,
            "last_exit_at": self.last_exit_at,
            "started_at": self.started_at,
            "next_start": self.next_start if self.state == "backoff" else None,
            "last_log": self.last_log,
        }


class Supervisor:
    def __init__(self, data_dir: Path, clock=time.time) -> None:
        self.data_dir = data_dir
        self.logs = data_dir / "logs"
        self.control = data_dir / "control"
        self.state_file = data_dir / "pids.json"
        self.clock = clock
        self.slots = [
            Slot(c, self.logs / f"{c.name}.log") for c in read_spec(data_dir / "components.json")
        ]
        self.stopping = False
        self._dirty = True

    # ---- starting -----------------------------------------------------------

    def adopt(self) -> None:
        """Take over components a previous supervisor started that still run."""
        try:
            before = json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            before = {}
        for slot in self.slots:
            rec = before.get(slot.spec.name) or {}
            pid = int(rec.get("pid") or 0)
            slot.restarts = int(rec.get("restarts") or 0)
            slot.last_exit = rec.get("last_exit")
            slot.last_exit_at = rec.get("last_exit_at")
            if pid and processes.pid_alive(pid) and cmdline_matches(pid, slot.spec.argv):
                slot.pid, slot.state = pid, "running"
                slot.started_at = float(rec.get("started_at") or self.clock())
                log.info("%s: adopted running pid %d", slot.spec.name, pid)

    def start(self, slot: Slot) -> None:
        proc = processes.spawn(slot.spec.name, slot.spec.argv, slot.log_path, env=slot.spec.env)
        slot.popen, slot.pid = proc.popen, proc.pid
        slot.started_at, slot.state = self.clock(), "running"
        self._dirty = True
        log.info("%s: started pid %d", slot.spec.name, proc.pid)

    def start_in_order(self, timeout: float = 60.0) -> None:
        """Start what is not running; a component with a ready URL gates the next ones.
        One whose start_after_file is missing waits (the loop starts it once it exists)
        and holds up nothing."""
        for slot in self.slots:
            if self.stopping:
                return
            if slot.state != "running" and not self.may_start(slot):
                slot.state = "waiting"
                self._dirty = True
                continue
            if slot.state != "running":
                self.start(slot)
            if slot.spec.ready_url or slot.spec.ready_pid_file:
                self._wait_ready(slot, timeout)
            self.save()

    def _wait_ready(self, slot: Slot, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        probe = self._probe(slot, timeout)
        try:
            while time.monotonic() < deadline and not self.stopping:
                if self._ready(slot, probe):
                    log.info("%s: ready", slot.spec.name)
                    return
                if probe is not None and probe.poll() is not None:
                    break  # the probe gave up: timed out
                if not slot.alive():
                    self.reap(slot)  # restarted by the loop, with back-off
                    self.tick_restarts()
                time.sleep(0.1)
        finally:
            if probe is not None and probe.poll() is None:
                probe.kill()
                probe.wait()
        log.warning("%s: not ready after %.0fs; starting the rest", slot.spec.name, timeout)

    @staticmethod
    def _probe(slot: Slot, timeout: float) -> subprocess.Popen[bytes] | None:
        """A child that polls the slot's ready URL (deploy/readiness.py), so that this
        long-lived process never loads http.client and ssl; None without a URL."""
        spec = slot.spec
        if not spec.ready_url:
            return None
        cert = (spec.cert_file, spec.key_file) if spec.cert_file and spec.key_file else None
        argv = readiness.probe_argv(spec.ready_url, timeout, spec.ca_file, cert)
        return subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    @staticmethod
    def may_start(slot: Slot) -> bool:
        gate = slot.spec.start_after_file
        return gate is None or Path(gate).exists()

    def start_waiting(self) -> None:
        """Start, in order, the waiting components whose file now exists."""
        for slot in self.slots:
            if slot.state == "waiting" and self.may_start(slot):
                log.info("%s: %s exists; starting", slot.spec.name, slot.spec.start_after_file)
                self.start(slot)

    @staticmethod
    def _ready(slot: Slot, probe: subprocess.Popen[bytes] | None) -> bool:
        if probe is not None:
            return probe.poll() == 0
        try:
            return Path(slot.spec.ready_pid_file or "").read_text().strip() == str(slot.pid)
        except OSError:
            return False

    # ---- the loop -----------------------------------------------------------

    def reap(self, slot: Slot) -> None:
        """A running slot whose process exited: record why and schedule its restart."""
        now = self.clock()
        slot.last_exit, slot.last_exit_at = slot.exit_code(), now
        ran = now - slot.started_at
        slot.backoff = backoff_after(slot.backoff, ran, slot.spec.initial_backoff)
        slot.next_start = now + slot.backoff
        slot.state = "backoff"
        slot.last_log = log_tail(slot.log_path)
        slot.popen, slot.pid = None, None
        self._dirty = True
        log.warning(
            "%s: exited with %s after %.1fs; restarting in %.1fs (restart %d)",
            slot.spec.name,
            "unknown status (adopted)" if slot.last_exit is None else slot.last_exit,
            ran,
            slot.backoff,
            slot.restarts + 1,
        )

    def tick_restarts(self) -> None:
        now = self.clock()
        for slot in self.slots:
            if slot.state == "backoff" and now >= slot.next_start:
                slot.restarts += 1
                self.start(slot)

    def handle_control(self) -> None:
        if not self.control.is_dir():
            return
        for entry in sorted(self.control.iterdir()):
            name = entry.name
            with contextlib.suppress(OSError):
                entry.unlink()
            if name == "repair":
                for slot in self.slots:
                    if slot.state == "waiting":  # for its file, not for a back-off
                        continue
                    if slot.state in ("backoff", "pending") or not slot.alive():
                        log.info("%s: repair requested; starting now", slot.spec.name)
                        if slot.state == "running":
                            self.reap(slot)
                        slot.next_start, slot.backoff = 0.0, 0.0
                self.tick_restarts()
            elif name.startswith("restart-"):
                target = name.removeprefix("restart-")
                for slot in self.slots:
                    if slot.spec.name == target:
                        log.info("%s: restart requested", target)
                        self.stop_slot(slot)
                        slot.restarts += 1
                        slot.backoff = 0.0
                        self.start(slot)

    def stop_slot(self, slot: Slot) -> None:
        if slot.pid is not None and slot.alive():
            processes.stop_pid(slot.pid, slot.spec.stop_timeout, slot.popen)
        if slot.popen is not None:
            slot.last_exit = slot.popen.poll()
        slot.popen, slot.pid, slot.state = None, None, "stopped"
        self._dirty = True

    def step(self) -> None:
        for slot in self.slots:
            if slot.state == "running" and not slot.alive():
                self.reap(slot)
        self.tick_restarts()
        self.start_waiting()
        self.handle_control()
        if self._dirty:
            self.save()

    def save(self) -> None:
        record = {s.spec.name: s.record() for s in self.slots}
        record_meta = {"supervisor": {"pid": os.getpid(), "state": "running"}}
        _write_json(self.state_file, {**record_meta, **record})
        self._dirty = False

    def next_wait(self) -> float:
        """Seconds until the loop has something to do that no signal announces."""
        now = self.clock()
        due = [s.next_start - now for s in self.slots if s.state == "backoff"]
        return max(TICK, min([IDLE_TICK, *due]))

    def run(self) -> None:
        self.adopt()
        self.save()
        self.start_in_order()
        with child_exits() as wait:
            while not self.stopping:
                self.step()
                wait(self.next_wait())
        for slot in reversed(self.slots):
            self.stop_slot(slot)
        self.save()
        log.info("stopped every component")


@contextlib.contextmanager
def child_exits() -> Iterator[Callable[[float], None]]:
    """A wait(seconds) that returns early when a signal arrives: a child's exit
    (SIGCHLD, given a handler so that Python writes the wake-up byte) or SIGTERM."""
    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)
    os.set_blocking(write_fd, False)
    previous_fd = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    previous_handler = signal.signal(signal.SIGCHLD, lambda _sig, _frame: None)

    def wait(seconds: float) -> None:
        if select.select([read_fd], [], [], seconds)[0]:
            with contextlib.suppress(BlockingIOError):
                os.read(read_fd, 512)

    try:
        yield wait
    finally:
        signal.signal(signal.SIGCHLD, previous_handler)
        signal.set_wakeup_fd(previous_fd)
        os.close(read_fd)
        os.close(write_fd)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m deploy.supervisor")
    p.add_argument("--data-dir", required=True)
    args = p.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stdout,
    )
    sup = Supervisor(Path(args.data_dir))

    def stop(_sig: int, _frame: object) -> None:
        sup.stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    sup.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
