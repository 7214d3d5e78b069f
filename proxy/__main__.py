"""`python -m proxy`: the per-host service proxy and cluster DNS.

    python -m proxy --kubeconfig F [--node-name N] [--bind-address 0.0.0.0]
                    [--cluster-dns 10.96.0.10] [--upstream-dns IP[:PORT]] [--node-ip IP...]
                    [--cluster-cidr CIDR[,CIDR]]
                    [--metrics-bind-address 127.0.0.1:10249] [-v 4]

It writes no iptables rules: ClusterIPs are /32 addresses on `lo`, and every
Service port is a userspace listener. SIGTERM/SIGINT close the listeners and
remove the addresses (componentbase.run). Flags shared with every component and
the log format come from componentbase too.
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import logging
import socket
import sys
from typing import TYPE_CHECKING

from api.clusterdefaults import DEFAULT_CLUSTER_DNS, PROXY_LOCK_FILE
from componentbase.flags import add_kubeconfig_flag, ipv4_address
from componentbase.logs import add_verbosity_flag, setup_logging
from componentbase.metricsaddress import HostPort, add_metrics_bind_address_flag
from proxy import hostinfo
from proxy.dnsaddress import parse_address
from proxy.dnsrecords import DEFAULT_DOMAIN
from proxy.servicemap import WILDCARD

if TYPE_CHECKING:
    from proxy.proxier import ProxyConfig

# Only what parsing the flags and taking the host lock need is imported above: the
# standby proxy blocks on the lock for as long as the serving one lives, at ~15 MiB
# instead of ~45 MiB. The proxy itself (client, dnspython, prometheus_client) is
# imported once the lock is held (config_from, serve, main).

log = logging.getLogger("proxy")
DEFAULT_METRICS_PORT = 10249  # kube-proxy's


def _cidrs(text: str) -> list[str]:
    try:
        return [str(ipaddress.IPv4Network(c.strip(), strict=False)) for c in text.split(",") if c]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not IPv4 CIDRs: {text!r}") from None


def _upstream(text: str) -> str:
    ip, port = parse_address(text)
    ipv4_address(ip)
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"bad port in {text!r}")
    return text


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m proxy", description=__doc__.split("\n")[0])
    add_kubeconfig_flag(p)
    p.add_argument("--node-name", default=socket.gethostname(), help="this node's name")
    p.add_argument(
        "--bind-address",
        type=ipv4_address,
        default=WILDCARD,
        help="address NodePorts and LoadBalancer ports listen on (plus loopback)",
    )
    p.add_argument(
        "--cluster-dns", type=ipv4_address, default=DEFAULT_CLUSTER_DNS, help="cluster DNS address"
    )
    p.add_argument("--cluster-domain", default=DEFAULT_DOMAIN, help="cluster DNS domain")
    p.add_argument(
        "--upstream-dns",
        type=_upstream,
        help="IP[:PORT] for names outside the cluster (default: resolv.conf's first nameserver)",
    )
    p.add_argument(
        "--node-ip",
        type=ipv4_address,
        nargs="+",
        action="extend",
        help="node addresses published as LoadBalancer ingress (default: the bind "
        "address, else the default route's address)",
    )
    p.add_argument(
        "--cluster-cidr",
        type=_cidrs,
        default=[],
        help="pod networks (comma-separated CIDRs) whose clients the cluster DNS answers, "
        "beyond loopback and the networks this host is connected to (its pod bridges)",
    )
    p.add_argument(
        "--lock-file", default=PROXY_LOCK_FILE, help="held while serving: one proxy per host"
    )
    p.add_argument(
        "--lock-wait",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="how long to wait for the lock; negative: forever (a standby that takes "
        "over the moment the serving proxy exits)",
    )
    add_metrics_bind_address_flag(p, "kube-proxy", DEFAULT_METRICS_PORT)
    add_verbosity_flag(p)
    return p.parse_args(argv)


def config_from(args: argparse.Namespace) -> ProxyConfig:
    from proxy.proxier import ProxyConfig

    upstream = args.upstream_dns or hostinfo.system_nameserver(skip=(args.cluster_dns,))
    node_ips = args.node_ip or (
        [args.bind_address]
        if args.bind_address != WILDCARD
        else [hostinfo.primary_ipv4() or "127.0.0.1"]
    )
    return ProxyConfig(
        node_name=args.node_name,
        bind_address=args.bind_address,
        cluster_dns=args.cluster_dns,
        cluster_domain=args.cluster_domain,
        upstream_dns=parse_address(upstream) if upstream else None,
        node_ips=list(dict.fromkeys(node_ips)),
        cluster_cidrs=args.cluster_cidr,
    )


async def serve(config: ProxyConfig, kubeconfig: str | None, metrics: HostPort) -> None:
    from client.rest import AsyncClient
    from componentbase.metrics import serving
    from proxy.proxier import Proxier

    api = AsyncClient.from_kubeconfig(kubeconfig)
    proxier = Proxier(config, api)
    try:
        async with serving("proxy", metrics):
            await proxier.run()
    finally:
        await proxier.stop()
        await api.aclose()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging("proxy", args.verbosity)
    try:
        lock = hostinfo.host_lock(args.lock_file, args.lock_wait)
    except hostinfo.AlreadyRunning as err:
        log.error("%s", err)
        return 1
    from client.kubeconfig import KubeconfigError
    from componentbase.run import run, run_until_signalled

    config = config_from(args)
    limit = hostinfo.raise_open_files_limit()
    log.info(
        "node %s: bind %s, cluster DNS %s (upstream %s), node IPs %s, %d open files",
        config.node_name,
        config.bind_address,
        config.cluster_dns,
        config.upstream_dns,
        ", ".join(config.node_ips),
        limit,
    )
    with contextlib.closing(lock):
        try:
            run(run_until_signalled(serve(config, args.kubeconfig, args.metrics_bind_address)))
        except KubeconfigError as err:
            log.error("%s", err)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
