"""The seed article's walkthrough, the parts every cluster shape shares: its images
(examples/web, v1 and v2), its manifests, which pods count as serving, and the
clients that call its LoadBalancer (tests/e2e/test_seed_walkthrough.py on `--nodes 2`,
tests/e2e/test_hosts_walkthrough.py on `--hosts 3`)."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
DEPLOYMENT = ROOT / "examples" / "deployment.yaml"  # my-webapp: 2 replicas of my-image:v1
SERVICE = ROOT / "examples" / "service.yaml"  # web-service: a LoadBalancer on port 80
IMAGES = ("my-image:v1", "my-image:v2")


def build_images() -> None:
    """my-image:v1 and v2 in this machine's engine (offline: on minik/busybox)."""
    for image in IMAGES:
        version = image.split(":")[1]
        subprocess.run(
            [
                "docker",
                "build",
                "-q",
                "--build-arg",
                f"VERSION={version}",
                "-t",
                image,
                str(ROOT / "examples" / "web"),
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )


def running_ready(pods: list[dict]) -> list[dict]:
    """The pods that serve: Running, Ready and not terminating."""

    def ready(p: dict) -> bool:
        return any(
            c["type"] == "Ready" and c["status"] == "True"
            for c in p.get("status", {}).get("conditions", [])
        )

    return [
        p
        for p in pods
        if p.get("status", {}).get("phase") == "Running"
        and ready(p)
        and not p["metadata"].get("deletionTimestamp")
    ]


def answers(url: str, n: int = 30) -> set[str]:
    """Which pods answer `url` over n fresh connections (the web app says "hello from
    POD (VERSION)")."""
    seen = set()
    for _ in range(n):
        r = httpx.get(url, timeout=5)
        assert r.status_code == 200
        seen.add(r.text.split()[2])
    return seen


class Hammer:
    """Requests `url` continuously (a new connection each), counting failures."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.ok = 0
        self.failures: list[str] = []
        self.bodies: set[str] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        deadline = time.monotonic() + 240  # bounded, whatever happens
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                r = httpx.get(self.url, timeout=5)
                if r.status_code == 200:
                    self.ok += 1
                    self.bodies.add(r.text.strip().rsplit(" ", 1)[-1])
                else:
                    self.failures.append(f"HTTP {r.status_code}")
            except httpx.HTTPError as err:
                self.failures.append(repr(err))
            time.sleep(0.05)

    def __enter__(self) -> Hammer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
