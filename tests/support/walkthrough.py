"""The seed article's walkthrough, shared by the e2e modules that run it on different
clusters (tests/e2e/test_seed_walkthrough.py on `--nodes 2`, test_hosts_walkthrough.py
on `--hosts 3`, test_hosts_ha.py on `--control-planes 3 --hosts 3`): its images, which
pods count, which pods answer, and a client loop that counts failed requests while
something changes."""

from __future__ import annotations

import subprocess
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
DEPLOYMENT = ROOT / "examples" / "deployment.yaml"
SERVICE = ROOT / "examples" / "service.yaml"
IMAGES = ("my-image:v1", "my-image:v2")


def build_images() -> None:
    """my-image:v1 and :v2 from examples/web (the article's `docker build`)."""
    for image in IMAGES:
        subprocess.run(
            [
                "docker",
                "build",
                "-q",
                "--build-arg",
                f"VERSION={image.rsplit(':', 1)[1]}",
                "-t",
                image,
                str(ROOT / "examples" / "web"),
            ],
            check=True,
            capture_output=True,
            timeout=300,
        )


def running_ready(pods: list[dict]) -> list[dict]:
    """Pods Running and Ready, not being deleted."""

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


def describe(pods: list[dict], nodes: list[dict]) -> str:
    """Where each pod is and how it stands, and each node's Ready and taints: what a
    failed wait for pods to move prints."""
    lines = []
    for p in pods:
        md, status = p["metadata"], p.get("status", {})
        ready = [c["status"] for c in status.get("conditions", []) if c["type"] == "Ready"]
        deleting = " deleting" if md.get("deletionTimestamp") else ""
        lines.append(
            f"{md['name']} on {p['spec'].get('nodeName')}: {status.get('phase')}"
            f" ready={ready}{deleting}"
        )
    for n in nodes:
        conds = n.get("status", {}).get("conditions", [])
        ready = [c["status"] for c in conds if c["type"] == "Ready"]
        taints = [f"{t['key']}:{t['effect']}" for t in n["spec"].get("taints", [])]
        lines.append(f"node {n['metadata']['name']}: ready={ready} taints={taints}")
    return "; ".join(lines)


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
    """Requests the service continuously (a new connection each, round robin over
    `urls`), counting failures; bounded to `limit` seconds whatever happens."""

    def __init__(self, *urls: str, interval: float = 0.05, limit: float = 240) -> None:
        self.urls, self.interval, self.limit = urls, interval, limit
        self.ok = 0
        self.ok_at: list[float] = []  # time.monotonic() of each answer
        self.failures: list[str] = []
        self.failed_at: list[float] = []
        self.bodies: set[str] = set()  # the last word of each answer: (v1), (v2)
        self.texts: set[str] = set()  # each answer whole: hello from <pod> (v1)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        deadline = time.monotonic() + self.limit
        n = 0
        while not self._stop.is_set() and time.monotonic() < deadline:
            url = self.urls[n % len(self.urls)]
            n += 1
            try:
                r = httpx.get(url, timeout=5)
                if r.status_code == 200:
                    self.ok += 1
                    self.ok_at.append(time.monotonic())
                    self.bodies.add(r.text.strip().rsplit(" ", 1)[-1])
                    self.texts.add(r.text.strip())
                else:
                    self._fail(f"{url}: HTTP {r.status_code}")
            except httpx.HTTPError as err:
                self._fail(f"{url}: {err!r}")
            self._stop.wait(self.interval)

    def answers_between(self, start: float, end: float) -> int:
        """How many answers came between two time.monotonic() readings."""
        return sum(1 for t in self.ok_at if start <= t < end)

    def _fail(self, what: str) -> None:
        self.failures.append(what)
        self.failed_at.append(time.monotonic())

    def __enter__(self) -> Hammer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
