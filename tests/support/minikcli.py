"""A `minik up` cluster as the e2e tests drive it: the `minik` command line on one
data dir (with the test's own environment, e.g. its own HOME) and kubectl on the
kubeconfig that `minik up` wrote there."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from deploy.processes import free_port


@dataclass
class MinikCluster:
    data_dir: Path
    env: dict[str, str]

    def minik(self, *args: str, timeout: float = 240) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "deploy.cli", *args, "--data-dir", str(self.data_dir)],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=self.env,
        )

    def kubectl(self, *args: str, stdin: str | None = None, check: bool = True) -> str:
        """kubectl's stdout; with `check`, asserting it exited 0 (its stderr otherwise)."""
        out = subprocess.run(
            ["kubectl", "--kubeconfig", str(self.data_dir / "kubeconfig"), *args],
            capture_output=True,
            text=True,
            timeout=60,
            input=stdin,
        )
        if check:
            assert out.returncode == 0, out.stderr
        return out.stdout


def own_ports(ingress_http_port: int | None = None) -> list[str]:
    """`minik up` flags putting the apiserver, the ingress and the dashboard on free
    ports, so the cluster can run beside another on this machine."""
    http = ingress_http_port if ingress_http_port is not None else free_port()
    return [
        "--api-port",
        str(free_port()),
        "--ingress-http-port",
        str(http),
        "--ingress-https-port",
        str(free_port()),
        "--dashboard-port",
        str(free_port()),
    ]
