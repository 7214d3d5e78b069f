"""The real controller manager (`python -m controller`) as a process for integration
and e2e tests, started like any minik component and stopped by PID."""

from __future__ import annotations

import signal
import sys
from pathlib import Path
from typing import Any

from deploy import processes

GRACE = 4  # --node-monitor-grace-period in seconds: nodes go Unknown quickly in tests
MONITOR_PERIOD = 1  # --node-monitor-period: evicting taints settle this long


class ManagerProcess:
    """`python -m controller` started like any minik component, stopped by PID."""

    def __init__(self, apiserver: Any, workdir: Path, *extra: str) -> None:
        self.apiserver = apiserver
        self.workdir = workdir
        self.extra = list(extra)
        self.process: processes.Process | None = None
        self.starts = 0

    @property
    def log_path(self) -> Path:
        return self.workdir / f"controller-manager-{self.starts}.log"

    def start(self) -> ManagerProcess:
        self.starts += 1
        argv = [
            sys.executable,
            "-m",
            "controller",
            "--kubeconfig",
            str(self.apiserver.kubeconfig_as("kube-controller-manager")),
            "--node-monitor-grace-period",
            f"{GRACE}s",
            "--node-monitor-period",
            f"{MONITOR_PERIOD}s",
            *self.extra,
        ]
        self.process = processes.spawn("controller-manager", argv, self.log_path)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()
            self.process = None

    def kill(self) -> None:
        """SIGKILL: no chance to finish anything."""
        if self.process is not None:
            self.process.popen.send_signal(signal.SIGKILL)
            self.process.popen.wait(10)
            self.process = None

    def alive(self) -> bool:
        return self.process is not None and self.process.alive()

    def log(self) -> str:
        return "\n".join(
            (self.workdir / f"controller-manager-{i}.log").read_text(errors="replace")
            for i in range(1, self.starts + 1)
            if (self.workdir / f"controller-manager-{i}.log").exists()
        )
