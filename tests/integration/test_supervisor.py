"""deploy/supervisor.py with real (toy) processes: a crash-looping component is
restarted with growing back-off and `minik status` shows its restarts, last exit code
and last log lines; `restart-<name>` restarts one now; a new supervisor adopts live
processes instead of starting them twice; SIGTERM stops everything."""

from __future__ import annotations

import json
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy import processes, supervisor
from deploy.cli import main as minik_main
from tests.support.wait import eventually

SLEEPER = [sys.executable, "-c", "import time; print('sleeping', flush=True); time.sleep(300)"]
CRASHER = [sys.executable, "-c", "import sys; print('boom: bad config', flush=True); sys.exit(3)"]


STARTED: list[processes.Process] = []


def start_supervisor(data_dir: Path) -> processes.Process:
    argv = [sys.executable, "-m", "deploy.supervisor", "--data-dir", str(data_dir)]
    proc = processes.spawn("supervisor", argv, data_dir / "logs" / "supervisor.log")
    STARTED.append(proc)
    return proc


def records(data_dir: Path) -> dict[str, dict]:
    return json.loads((data_dir / "pids.json").read_text())


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    supervisor.write_spec(
        tmp_path / "components.json",
        [
            supervisor.Component("steady", SLEEPER),
            supervisor.Component("crasher", CRASHER),
        ],
    )
    yield tmp_path
    while STARTED:  # whatever the test got to: no supervisor outlives it
        STARTED.pop().stop(timeout=20)
    for rec in records(tmp_path).values() if (tmp_path / "pids.json").exists() else []:
        if rec.get("pid"):
            processes.stop_pid(int(rec["pid"]), 5)


def test_crash_loop_backoff_status_restart_and_adoption(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sup = start_supervisor(data_dir)

    def looping() -> dict:
        rec = records(data_dir)["crasher"]
        assert rec["restarts"] >= 2 and rec["state"] == "backoff", rec
        return rec

    rec = eventually(
        looping, timeout=20, message="crasher restarted twice", retry_on=(OSError, KeyError)
    )
    assert rec["last_exit"] == 3 and rec["last_log"][-1] == "boom: bad config"
    log = (data_dir / "logs" / "supervisor.log").read_text()
    assert "crasher: exited with 3" in log and "restarting in 2.0s" in log

    assert minik_main(["status", "--data-dir", str(data_dir)]) == 1
    out = capsys.readouterr().out
    crasher_line = next(line for line in out.splitlines() if line.startswith("crasher"))
    assert "backoff" in crasher_line and " 3 " in crasher_line
    assert "--- crasher: last log lines" in out and "  boom: bad config" in out

    steady = records(data_dir)["steady"]["pid"]
    (data_dir / "control").mkdir(exist_ok=True)
    (data_dir / "control" / "restart-steady").touch()
    eventually(
        lambda: records(data_dir)["steady"]["pid"] not in (steady, 0),
        timeout=10,
        message="steady restarted on request",
    )
    assert not processes.pid_alive(steady)

    # a new supervisor adopts the live process
    os.kill(sup.pid, signal.SIGKILL)
    sup.popen.wait(5)
    live = records(data_dir)["steady"]["pid"]
    sup = start_supervisor(data_dir)
    eventually(lambda: records(data_dir)["supervisor"]["pid"] == sup.pid, timeout=10, message="new")
    assert records(data_dir)["steady"]["pid"] == live
    assert "steady: adopted running pid" in (data_dir / "logs" / "supervisor.log").read_text()

    sup.stop(timeout=20)
    assert sup.popen.returncode == 0
    assert not processes.pid_alive(live)
    assert records(data_dir)["steady"]["state"] == "stopped"
