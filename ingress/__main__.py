"""`python -m ingress`: minik's ingress controller, a userspace HTTP/1.1 reverse proxy
for the Ingresses of one IngressClass.

    python -m ingress --kubeconfig F [--node-name N] [--bind-address 0.0.0.0]
                      [--http-port 8080] [--https-port 8443] [--ingress-class minik]
                      [--publish-ip IP] [--metrics-bind-address 127.0.0.1:10254] [-v 4]

The default ports are 8080 and 8443, so the ingress coexists with a LoadBalancer
Service on port 80 (the proxy's) on the same node. SIGTERM/SIGINT close the
listeners and stop gracefully (componentbase.run). /metrics and /healthz are on
ingress-nginx's port 10254 (ingress/metrics.py says what is counted)."""

from __future__ import annotations

import argparse
import ipaddress
import logging
import socket
import sys

from api.ingress import MINIK_CLASS
from client.kubeconfig import KubeconfigError
from client.rest import AsyncClient
from componentbase.flags import add_kubeconfig_flag
from componentbase.logs import add_verbosity_flag, setup_logging
from componentbase.metrics import (
    HostPort,
    add_metrics_bind_address_flag,
    serving,
    with_process_metrics,
)
from componentbase.run import run, run_until_signalled
from ingress import metrics
from ingress.controller import IngressConfig, IngressController

log = logging.getLogger("ingress")

DEFAULT_METRICS_PORT = 10254  # ingress-nginx's


def _ip(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an IP address: {text!r}") from None


def _port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"not a port: {text!r}")
    return int(text)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m ingress", description=__doc__.split("\n")[0])
    add_kubeconfig_flag(p)
    p.add_argument(
        "--node-name",
        default=socket.gethostname(),
        help="this node's name: its InternalIP is published as the Ingresses' address",
    )
    p.add_argument("--bind-address", type=_ip, default="0.0.0.0", help="address to listen on")
    p.add_argument("--http-port", type=_port, default=8080, help="port for plain HTTP")
    p.add_argument("--https-port", type=_port, default=8443, help="port for HTTPS (TLS + SNI)")
    p.add_argument(
        "--ingress-class", default=MINIK_CLASS, help="serve the Ingresses of this IngressClass"
    )
    p.add_argument(
        "--publish-ip",
        type=_ip,
        action="append",
        help="address for status.loadBalancer (default: the node's InternalIP)",
    )
    add_metrics_bind_address_flag(p, "the ingress controller", DEFAULT_METRICS_PORT)
    add_verbosity_flag(p)
    return p.parse_args(argv)


async def serve(config: IngressConfig, kubeconfig: str | None, metrics_at: HostPort) -> None:
    api = AsyncClient.from_kubeconfig(kubeconfig)
    controller = IngressController(config, api)
    collector = metrics.register(controller.proxy.requests)
    try:
        async with serving("ingress", metrics_at, with_process_metrics(metrics.OWN_REGISTRY)):
            await controller.run()
    finally:
        metrics.OWN_REGISTRY.unregister(collector)
        await controller.stop()
        await api.aclose()


async def run_addon(args: argparse.Namespace) -> None:
    """The controller for parsed flags, until cancelled (also in `python -m addons`)."""
    config = IngressConfig(
        node_name=args.node_name,
        bind_address=args.bind_address,
        http_port=args.http_port,
        https_port=args.https_port,
        ingress_class=args.ingress_class,
        publish_ips=list(args.publish_ip or []),
    )
    await serve(config, args.kubeconfig, args.metrics_bind_address)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging("ingress", args.verbosity)
    try:
        run(run_until_signalled(run_addon(args)))
    except KubeconfigError as err:
        log.error("%s", err)
        return 1
    except OSError as err:
        log.error("cannot serve: %s", err)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
