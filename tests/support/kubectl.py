"""Running the real kubectl against a test apiserver.

kubectl caches discovery and OpenAPI on disk, so every `Kubectl` has its own
`--cache-dir`; it never reads `~/.kube` or `$KUBECONFIG`. Older minors installed
beside the default one (`kubectl.1.27` ... `kubectl.1.33`) are reachable through
`binary_for`, because each minor asks the server different questions."""

from __future__ import annotations

import os
import queue
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from deploy.processes import stop_pid
from tests.support.wait import Deadline

DEFAULT_KUBECTL = "/usr/bin/kubectl"
VERSIONED_DIR = Path("/usr/lib/google-cloud-sdk/bin")
# The minors a test runs against; None: the machine's kubectl, 1.32.
MINORS: list[str | None] = [None, "1.27", "1.33"]
# Every minor a feature promises (issue 15's custom kinds and Ingress: 1.27-1.33); the
# machine's kubectl is 1.32.
ALL_MINORS: list[str | None] = ["1.27", "1.28", "1.29", "1.30", "1.31", None, "1.33"]
# Variables that would make kubectl read other configs or send traffic elsewhere.
_DROPPED_ENV = ("KUBECONFIG", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")


def binary_for(minor: str | None) -> Path:
    """`None` is the machine's kubectl; "1.27" is `kubectl.1.27` beside it."""
    return Path(DEFAULT_KUBECTL) if minor is None else VERSIONED_DIR / f"kubectl.{minor}"


def installed_kubectl(minor: str | None, kubeconfig: Path, cache_dir: Path) -> Kubectl:
    """The `Kubectl` of that minor; skips the test when that binary is not installed."""
    binary = binary_for(minor)
    if not binary.exists():
        pytest.skip(f"{binary} is not installed")
    return Kubectl(kubeconfig, cache_dir, binary)


@dataclass
class Result:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def __str__(self) -> str:
        return (
            f"$ kubectl {' '.join(self.args)}\nexit {self.returncode}\n"
            f"--- stdout\n{self.stdout}--- stderr\n{self.stderr}"
        )


class KubectlError(AssertionError):
    """A kubectl run that was expected to succeed did not; carries its output."""


class Kubectl:
    """One kubectl binary bound to one kubeconfig and one cache dir."""

    def __init__(self, kubeconfig: Path, cache_dir: Path, binary: Path | None = None) -> None:
        self.kubeconfig = Path(kubeconfig)
        self.cache_dir = Path(cache_dir)
        self.binary = binary or binary_for(None)

    def command(self, *args: str) -> list[str]:
        return [
            str(self.binary),
            "--kubeconfig",
            str(self.kubeconfig),
            "--cache-dir",
            str(self.cache_dir),
            *args,
        ]

    def run(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60
    ) -> Result:
        """Run to completion; `check` raises with kubectl's output on a non-zero exit."""
        done = subprocess.run(
            self.command(*args),
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=_environment(),
        )
        result = Result(list(args), done.returncode, done.stdout, done.stderr)
        if check and not result.ok:
            raise KubectlError(str(result))
        return result

    def fails(self, *args: str, input: str | None = None, timeout: float = 60) -> Result:
        """Run a command that must fail; raises if it succeeds."""
        result = self.run(*args, input=input, check=False, timeout=timeout)
        if result.ok:
            raise KubectlError(f"expected a failure\n{result}")
        return result

    def stream(self, *args: str) -> Stream:
        """Start a long-running command (`get -w`) whose output is read line by line."""
        return Stream(self.command(*args))


class Stream:
    """A kubectl subprocess whose stdout lines are collected by a reader thread, so
    a test can wait for a line with a deadline and then stop it by its PID."""

    def __init__(self, command: list[str]) -> None:
        self.popen = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_environment(),
        )
        self.lines: list[str] = []
        self.stderr: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        # Drained so that a chatty stderr can never block kubectl.
        self._errors = threading.Thread(target=self._read_errors, daemon=True)
        self._errors.start()

    def _read(self) -> None:
        assert self.popen.stdout is not None
        for line in self.popen.stdout:
            self._queue.put(line.rstrip("\n"))

    def _read_errors(self) -> None:
        assert self.popen.stderr is not None
        for line in self.popen.stderr:
            self.stderr.append(line.rstrip("\n"))

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 15) -> str:
        """The first new stdout line matching `predicate`; fails after `timeout` s."""
        deadline = Deadline(timeout, "a matching line")
        while True:
            if deadline.expired():
                raise deadline.error("\n".join(["", *self.lines, "--- stderr", *self.stderr]))
            try:
                line = self._queue.get(timeout=min(deadline.remaining(), 0.2))
            except queue.Empty:
                if self.popen.poll() is not None and self._queue.empty():
                    self._reader.join(timeout=1)
                    if self._queue.empty():
                        self._errors.join(timeout=1)
                        raise AssertionError(
                            f"kubectl exited ({self.popen.returncode}) first; saw:\n"
                            + "\n".join([*self.lines, "--- stderr", *self.stderr])
                        ) from None
                continue
            self.lines.append(line)
            if predicate(line):
                return line

    def stop(self) -> None:
        stop_pid(self.popen.pid, 5, self.popen)
        self._reader.join(timeout=5)
        self._errors.join(timeout=5)
        for pipe in (self.popen.stdout, self.popen.stderr):
            if pipe is not None:
                pipe.close()

    def __enter__(self) -> Stream:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    return env
