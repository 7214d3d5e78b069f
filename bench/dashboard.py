"""The dashboard's update latency, against the watch event's own arrival in the same run.

A real etcd and apiserver, `python -m dashboard`, and three observers of the same pod
creations (one every `--interval` s, `--pods` of them, over `--background` pods that
already exist):
- baseline: a plain watch client (client.rest.AsyncClient.watch) in this process:
  create sent → its ADDED event read;
- the dashboard's Server-Sent Event stream (/api/stream), read in this process:
  create sent → the pod's `put` message read;
- with chromium and chromedriver present, the page itself in headless chromium:
  create sent → the pod's chip first drawn (the page's `window.minikSeen`, epoch ms on
  the same machine's clock).
Prints p50/p90/max of each, and what the dashboard adds to the watch (ms, ratio).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from api.resources import NAMESPACES, PODS
from bench.common import bounded, pct
from client.kubeconfig import load as load_kubeconfig
from client.rest import AsyncClient
from deploy import processes, readiness
from deploy.controlplane import make_workdir, remove_workdir, start_apiserver, start_etcd

NS = "bench-dash"


def pod(name: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {"app": "bench"}},
        "spec": {"containers": [{"name": "app", "image": "bench:v1"}]},
    }


async def watch_arrivals(api: AsyncClient, rv: str, seen: dict[str, float], n: int) -> None:
    async for event_type, obj in api.watch(PODS, NS, resource_version=rv):
        name = obj["metadata"]["name"]
        if event_type == "ADDED" and name.startswith("p-"):
            seen.setdefault(name, time.time())
            if len(seen) == n:
                return


async def sse_arrivals(url: str, seen: dict[str, float], n: int, ready: asyncio.Event) -> None:
    async with (
        httpx.AsyncClient(timeout=None) as http,
        http.stream("GET", url + "api/stream") as resp,
    ):
        async for line in resp.aiter_lines():
            if not line.startswith("data: "):
                continue
            message = json.loads(line[6:])
            ready.set()
            key = message.get("key") or ""
            if message.get("op") == "put" and key.startswith(f"{NS}/p-"):
                seen.setdefault(key.split("/", 1)[1], time.time())
                if len(seen) == n:
                    return


def browser(url: str) -> Any:
    """A headless chromium on the page, or None without chromium/chromedriver."""
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver_path):
        return None
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.get(url)
    deadline = time.monotonic() + 20
    while "live" not in driver.find_element("id", "connection").text:
        if time.monotonic() > deadline:
            raise RuntimeError("the page did not connect")
        time.sleep(0.05)
    return driver


def summary(label: str, values: list[float]) -> str:
    ms = [v * 1000 for v in values]
    return (
        f"{label:<34} p50 {statistics.median(ms):7.1f} ms  p90 {pct(ms, 90):7.1f} ms  "
        f"max {max(ms):7.1f} ms"
    )


async def run(args: argparse.Namespace) -> None:
    workdir = make_workdir("minik-bench-dashboard-")
    etcd = start_etcd(workdir)
    server = start_apiserver(etcd, workdir / "apiserver")
    port = processes.free_port()
    url = f"http://127.0.0.1:{port}/"
    argv = [sys.executable, "-m", "dashboard", "--kubeconfig", str(server.kubeconfig)]
    dash = processes.spawn("dashboard", [*argv, "--port", str(port)], workdir / "dashboard.log")
    api = AsyncClient(load_kubeconfig(str(server.kubeconfig)), max_connections=64)
    driver = None
    try:
        await api.create(NAMESPACES, {"metadata": {"name": NS}})
        await bounded(args.background, 16, lambda i: api.create(PODS, pod(f"bg-{i}"), NS))
        for _ in range(100):
            if readiness.http_ok(url + "healthz"):
                break
            await asyncio.sleep(0.1)
        driver = None if args.no_browser else browser(url)
        rv = (await api.list(PODS, NS, limit=1))["metadata"]["resourceVersion"]
        sent: dict[str, float] = {}
        by_watch: dict[str, float] = {}
        by_sse: dict[str, float] = {}
        sse_ready = asyncio.Event()
        readers = [
            asyncio.ensure_future(watch_arrivals(api, rv, by_watch, args.pods)),
            asyncio.ensure_future(sse_arrivals(url, by_sse, args.pods, sse_ready)),
        ]
        await asyncio.wait_for(sse_ready.wait(), 20)
        await asyncio.sleep(0.5)  # the watch is open too
        for i in range(args.pods):
            name = f"p-{i}"
            sent[name] = time.time()
            await api.create(PODS, pod(name), NS)
            await asyncio.sleep(args.interval)
        await asyncio.wait_for(asyncio.gather(*readers), 30)
        names = sorted(sent)
        watch = [by_watch[n] - sent[n] for n in names]
        sse = [by_sse[n] - sent[n] for n in names]
        print(
            f"{args.pods} pods created one every {args.interval * 1000:.0f} ms over "
            f"{args.background} existing pods"
        )
        print(summary("baseline: plain watch (create→event)", watch))
        print(summary("dashboard SSE (create→message)", sse))
        added = [s - w for s, w in zip(sse, watch, strict=True)]
        print(
            f"  SSE adds p50 {statistics.median(added) * 1000:.1f} ms, "
            f"p90 {pct(added, 90) * 1000:.1f} ms; ratio of p50s "
            f"{statistics.median(sse) / statistics.median(watch):.2f}"
        )
        if driver is not None:
            drawn_ms = driver.execute_script("return window.minikSeen")
            page = [drawn_ms[f"{NS}/{n}"] / 1000 - sent[n] for n in names]
            print(summary("page in chromium (create→drawn)", page))
            added = [p - w for p, w in zip(page, watch, strict=True)]
            print(
                f"  page adds p50 {statistics.median(added) * 1000:.1f} ms, "
                f"p90 {pct(added, 90) * 1000:.1f} ms; ratio of p50s "
                f"{statistics.median(page) / statistics.median(watch):.2f}"
            )
        else:
            print("(no chromium/chromedriver, or --no-browser: the page itself not measured)")
    finally:
        if driver is not None:
            driver.quit()
        await api.aclose()
        dash.stop()
        server.stop()
        etcd.stop()
        remove_workdir(workdir)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--pods", type=int, default=100)
    p.add_argument("--interval", type=float, default=0.1, help="seconds between creates")
    p.add_argument("--background", type=int, default=300, help="pods that exist before")
    p.add_argument("--no-browser", action="store_true")
    asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    main()
