"""A whole `minik up` cluster for a benchmark: its own data dir and HOME, up on entry
(UpFailed with the output when it does not come up), down and removed on exit; the
supervisor's records give each component's PID."""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from deploy import processes

ROOT = Path(__file__).resolve().parents[1]


class UpFailed(Exception):
    pass


def rss_mib(pid: int, field: str = "VmRSS") -> float | None:
    """A process's resident memory in MiB: all of it (VmRSS), or its anonymous part
    (RssAnon: heaps) or file-backed part (RssFile: the binary, mmap'd files such as
    etcd's bbolt database)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def prometheus_values(text: str, names: tuple[str, ...]) -> dict[str, float]:
    """The unlabelled samples named `names` in a Prometheus text exposition."""
    out = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if name in names:
            out[name] = float(value)
    return out


class UpCluster:
    def __init__(self, node_prefix: str, up_flags: tuple[str, ...] = ()) -> None:
        self.node_prefix = node_prefix
        self.up_flags = up_flags  # more `minik up` flags, e.g. ("--event-ttl", "5m")
        self.workdir = Path(tempfile.mkdtemp(prefix=f"minik-{node_prefix}"))
        self.data_dir = self.workdir / "data"
        self.env = {**os.environ, "HOME": str(self.workdir / "home")}
        self.env.pop("MINIK_DATA_DIR", None)

    def __enter__(self) -> UpCluster:
        up = self.minik(
            "up",
            "--node-prefix",
            self.node_prefix,
            "--api-port",
            str(processes.free_port()),
            *self.up_flags,
        )
        if up.returncode != 0:
            self.__exit__()
            raise UpFailed(f"minik up failed:\n{up.stdout}{up.stderr}")
        return self

    def __exit__(self, *_: object) -> None:
        down = self.minik("down")
        if down.returncode != 0:
            print(f"minik down: {down.stdout}{down.stderr}", file=sys.stderr)
        shutil.rmtree(self.workdir, ignore_errors=True)

    @property
    def kubeconfig(self) -> Path:
        return self.data_dir / "kubeconfig"

    def minik(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "deploy.cli", *args, "--data-dir", str(self.data_dir)],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def records(self) -> dict[str, dict]:
        import json

        return json.loads((self.data_dir / "pids.json").read_text())

    def pids(self) -> dict[str, int]:
        return {name: int(rec["pid"]) for name, rec in self.records().items()}

    def etcd_metrics(self, names: tuple[str, ...]) -> dict[str, float]:
        """Samples of etcd's /metrics, read as `minik up`'s health checks read etcd (its
        CA, the health-check client certificate); {} when etcd does not answer."""
        etcd_dir = self.data_dir / "pki" / "etcd"
        client = etcd_dir / processes.ETCD_HEALTHCHECK_USER
        context = ssl.create_default_context(cafile=str(etcd_dir / "ca.crt"))
        context.load_cert_chain(f"{client}.crt", f"{client}.key")
        try:
            url = self.records()["etcd"]["url"]
            text = httpx.get(f"{url}/metrics", timeout=5.0, verify=context).text
        except (httpx.HTTPError, KeyError, OSError):
            return {}
        return prometheus_values(text, names)

    def rss(self) -> dict[str, float | None]:
        """Each component's RSS in MiB now."""
        return {name: rss_mib(pid) for name, pid in self.pids().items()}
