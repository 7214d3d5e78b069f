"""`python -m metrics`: the metrics server.

    python -m metrics --kubeconfig F [--bind-address 127.0.0.1] [--port 4443]
                      [--advertise-address IP] [--metric-resolution 15s]
                      [--kubelet-certificate-authority F | --kubelet-insecure-tls]
                      [--requestheader-secret-file F]
                      [--metrics-bind-address 127.0.0.1:10255] [-v 4]

Every `--metric-resolution` it scrapes all kubelets (metrics/scraper.py) and serves
NodeMetrics and PodMetrics from the last two scrapes (metrics/storage.py) on
`/apis/metrics.k8s.io/v1beta1` (metrics/server.py). On start it registers its
Service, Endpoints and APIService (metrics/registration.py); `--port 0` takes a free
port, which is what the Endpoints then say. Its own Prometheus metrics
(metrics/selfmetrics.py) are on a loopback listener of their own, as the proxy's.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from typing import Any

from api.errors import ApiError
from api.resources import NODES, PODS
from client.informer import Informer
from client.kubeconfig import KubeconfigError
from client.kubeconfig import load as load_kubeconfig
from client.rest import ALL_NAMESPACES, AsyncClient
from componentbase.flags import add_bool_flag, add_kubeconfig_flag, duration
from componentbase.httpserve import EmbeddedServer, bind
from componentbase.logs import add_verbosity_flag, setup_logging
from componentbase.metrics import add_metrics_bind_address_flag, serving, with_process_metrics
from componentbase.run import run, run_until_signalled
from componentbase.serving import IDLE_TIMEOUT_SECONDS
from metrics import registration
from metrics.scraper import KubeletTLS, Scraper
from metrics.selfmetrics import OWN_REGISTRY, register_storage
from metrics.server import MetricsApi
from metrics.storage import MetricsStore, node_metrics, pod_metrics

log = logging.getLogger("metrics")

# The kubelet's former read-only port: free on a minik host (the kubelet serves
# 10250 only), and next to the other components' 102xx.
DEFAULT_METRICS_PORT = 10255


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m metrics", description=__doc__.split("\n")[0])
    add_kubeconfig_flag(p)
    p.add_argument("--bind-address", default="127.0.0.1", help="address to serve on")
    p.add_argument("--port", type=int, default=4443, help="port to serve on (0: a free one)")
    p.add_argument(
        "--advertise-address",
        help="address the registered Endpoints name (default: the bind address, "
        "127.0.0.1 for a wildcard)",
    )
    p.add_argument(
        "--metric-resolution",
        type=duration,
        default=15.0,
        help="how often the kubelets are scraped (Go duration)",
    )
    p.add_argument(
        "--requestheader-secret-file",
        help="the shared secret the apiserver presents (its --requestheader-secret-file); "
        "without it X-Remote-User is trusted as it comes",
    )
    p.add_argument(
        "--kubelet-certificate-authority",
        help="verify kubelets' serving certificates with this CA (default: the kubeconfig's)",
    )
    add_bool_flag(
        p,
        "--kubelet-insecure-tls",
        help="do not verify kubelets' serving certificates (self-signed kubelets)",
    )
    add_metrics_bind_address_flag(p, "the metrics server", DEFAULT_METRICS_PORT)
    add_verbosity_flag(p)
    args = p.parse_args(argv)
    if args.metric_resolution < 0.1:
        p.error("--metric-resolution must be at least 100ms")
    return args


def _secret(path: str | None) -> str | None:
    if not path:
        return None
    with open(path) as f:
        first = f.readline().strip()
    if not first:
        raise ValueError(f"secret file {path} is empty")
    return first


class MetricsServer:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        config = load_kubeconfig(args.kubeconfig)
        self.api = AsyncClient(config, user_agent="minik-metrics")
        self.store = MetricsStore()
        register_storage(self.store)
        tls = KubeletTLS(args.kubelet_certificate_authority, args.kubelet_insecure_tls)
        self.scraper = Scraper(config, self.store, max(1.0, args.metric_resolution), tls)
        self.nodes = Informer(self.api, NODES, None)
        self.pods = Informer(self.api, PODS, ALL_NAMESPACES)
        self.http = MetricsApi(
            self.node_metrics, self.pod_metrics, _secret(args.requestheader_secret_file)
        )

    def node_metrics(self) -> list[dict[str, Any]]:
        out = []
        for node in self.nodes.list():
            usage = self.store.node_usage(node["metadata"]["name"])
            if usage is not None:
                out.append(node_metrics(node, usage))
        return sorted(out, key=lambda n: n["metadata"]["name"])

    def pod_metrics(self) -> list[dict[str, Any]]:
        usages = self.store.container_usage()
        out = []
        for pod in self.pods.list():
            md = pod["metadata"]
            containers = usages.get((md.get("namespace", ""), md.get("name", "")))
            if containers:
                found = pod_metrics(pod, containers)
                if found is not None:
                    out.append(found)
        return sorted(out, key=lambda p: (p["metadata"]["namespace"], p["metadata"]["name"]))

    async def scrape_loop(self) -> None:
        available = None
        while True:
            try:
                answered = await self.scraper.scrape_all(self.nodes.list())
                ready = answered > 0 or not self.nodes.list()
                if ready != available:
                    await registration.set_available(self.api, ready)
                    available = ready
            except ApiError as err:
                log.warning("scrape round: %s", err)
            except Exception:
                log.exception("scrape round failed")
            await asyncio.sleep(self.args.metric_resolution)

    async def run(self) -> None:
        own = with_process_metrics(OWN_REGISTRY)
        async with serving("metrics-server", self.args.metrics_bind_address, own):
            await self.serve()

    async def serve(self) -> None:
        import uvicorn  # after api/: its __init__ keeps uvicorn's watchfiles out

        sock = bind(self.args.bind_address, self.args.port)
        port = sock.getsockname()[1]
        address = self.args.advertise_address or (
            "127.0.0.1" if self.args.bind_address in ("0.0.0.0", "::") else self.args.bind_address
        )
        config = uvicorn.Config(
            self.http.app(),
            log_level="warning",
            lifespan="off",
            access_log=False,
            timeout_keep_alive=IDLE_TIMEOUT_SECONDS,
            ws="none",  # serves no WebSocket: uvicorn would load websockets (~1.5 MiB)
        )
        server = EmbeddedServer(config)
        self.nodes.start()
        self.pods.start()
        tasks = [asyncio.ensure_future(server.serve(sockets=[sock]))]
        try:
            await self.nodes.wait_for_sync(timeout=30)
            await self.pods.wait_for_sync(timeout=30)
            delay = 0.5
            while True:
                try:
                    await registration.register(self.api, address, port)
                    break
                except ApiError as err:
                    log.warning("registering: %s; retrying in %.1fs", err, delay)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 10.0)
            log.info("serving metrics.k8s.io/v1beta1 on %s:%d", address, port)
            tasks.append(asyncio.ensure_future(self.scrape_loop()))
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            server.should_exit = True
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await self.nodes.stop()
            await self.pods.stop()
            await self.scraper.aclose()
            await self.api.aclose()


async def run_addon(args: argparse.Namespace) -> None:
    """The metrics server for parsed flags, until cancelled (`python -m addons`)."""
    await MetricsServer(args).run()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging("metrics", args.verbosity)
    try:
        server = MetricsServer(args)
    except (KubeconfigError, OSError, ValueError) as err:
        log.error("%s", err)
        return 1
    try:
        run(run_until_signalled(server.run()))
    except OSError as err:
        log.error("cannot serve on %s:%d: %s", args.bind_address, args.port, err)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
