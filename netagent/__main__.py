"""`python -m netagent`: the per-host network agent (flannel's design, two backends).

    python -m netagent --kubeconfig F --node-name N [--backend host-gw|vxlan]
                       [--public-ip IP] [--vxlan-device minik.1] [--vni 1] [--vxlan-port 8472]
                       [--no-ip-forward] [--cluster-cidr CIDR[,CIDR]] [-v 4]
    python -m netagent --no-node --kubeconfig F --cluster-cidr CIDR [--no-ip-forward]
    python -m netagent --cleanup [--vxlan-device minik.1] [--cluster-cidr CIDR]

Run it on every host, in the host's network namespace, with the host's kubelet
credential (`--kubeconfig` of `kubelet-<node>`): the Node authorizer lets a node list
and watch Nodes and NodeRestriction lets it patch only its own Node, which is all the
agent writes (its annotations). Any other identity needs nodes get/list/watch/patch.

`--no-node`: a machine that is no Node but shares the hosts' L2 segment (`minik up
--hosts`' machine, where the control plane and the ingress controller run) routes
every Node's pod networks via the Node's InternalIP (host-gw, whatever backend the
hosts use between them), publishes nothing and needs only to list and watch Nodes
(kube-proxy's identity will do). `--cluster-cidr` limits what it owns to routes inside
the cluster's pod range: several clusters' agents then share one namespace.

On exit it leaves the kernel as it is (pods keep their network while the agent
restarts), as flannel does; `--cleanup` removes the routes and the device it made.
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import socket
import sys

from api.errors import ApiError
from client.kubeconfig import KubeconfigError
from client.rest import AsyncClient
from componentbase.flags import add_kubeconfig_flag, duration, ipv4_address
from componentbase.logs import add_verbosity_flag, setup_logging
from componentbase.run import run, run_until_signalled
from netagent import reconcile
from netagent.agent import Agent, AgentConfig, cleanup
from netagent.kernel import IpKernel, KernelError
from netagent.nodeinfo import BACKENDS, HOST_GW

log = logging.getLogger("netagent")


def _device(text: str) -> str:
    if not 0 < len(text) < 16 or "/" in text or " " in text:
        raise argparse.ArgumentTypeError(f"not a network device name: {text!r}")
    return text


def _cidrs(text: str) -> tuple[str, ...]:
    try:
        return tuple(str(ipaddress.IPv4Network(c.strip())) for c in text.split(",") if c.strip())
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m netagent", description=__doc__.split("\n")[0])
    add_kubeconfig_flag(p)
    p.add_argument("--node-name", default=socket.gethostname(), help="this host's Node")
    p.add_argument(
        "--backend",
        choices=BACKENDS,
        default=HOST_GW,
        help="how pod traffic reaches other hosts: host-gw (one L2 segment) or vxlan (any network)",
    )
    p.add_argument(
        "--public-ip",
        type=ipv4_address,
        help="the address other hosts reach this one at (default: the Node's InternalIP)",
    )
    p.add_argument("--vxlan-device", type=_device, default=reconcile.DEFAULT_DEVICE)
    p.add_argument("--vni", type=int, default=reconcile.DEFAULT_VNI, help="VXLAN network id")
    p.add_argument("--vxlan-port", type=int, default=reconcile.DEFAULT_PORT, help="VXLAN UDP port")
    p.add_argument(
        "--no-ip-forward",
        dest="ip_forward",
        action="store_false",
        help="leave net.ipv4.ip_forward as it is (default: set it to 1)",
    )
    p.add_argument(
        "--resync-period",
        type=duration,
        default=30.0,
        help="how often the kernel is checked against the Nodes without a change",
    )
    p.add_argument(
        "--no-node",
        action="store_true",
        help="this machine is no Node: route every Node's pod networks (host-gw), publish nothing",
    )
    p.add_argument(
        "--cluster-cidr",
        type=_cidrs,
        default=(),
        help="the cluster's pod range(s), comma-separated: only our routes inside are ours",
    )
    p.add_argument(
        "--cleanup",
        action="store_true",
        help="remove the routes and the VXLAN device the agent made, then exit",
    )
    add_verbosity_flag(p)
    args = p.parse_args(argv)
    if not 0 < args.vni < 2**24:
        p.error(f"--vni {args.vni}: not a VXLAN network id (1 to 16777215)")
    if not 0 < args.vxlan_port < 65536:
        p.error(f"--vxlan-port {args.vxlan_port}: not a port")
    if args.no_node and args.backend != HOST_GW:
        p.error("--no-node routes host-gw only (a machine that is no Node has no VTEP)")
    if args.no_node:
        args.node_name = ""
    return args


def config_from(args: argparse.Namespace) -> AgentConfig:
    return AgentConfig(
        node_name=args.node_name,
        backend=args.backend,
        device=args.vxlan_device,
        vni=args.vni,
        port=args.vxlan_port,
        public_ip=args.public_ip or "",
        ip_forward=args.ip_forward,
        resync_seconds=args.resync_period,
        no_node=args.no_node,
        scope=args.cluster_cidr,
    )


async def serve(config: AgentConfig, kubeconfig: str | None) -> None:
    api = AsyncClient.from_kubeconfig(kubeconfig)
    try:
        await Agent(config, api, IpKernel()).run()
    finally:
        await api.aclose()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    setup_logging("netagent", args.verbosity)
    if args.cleanup:
        try:
            log.info("%s", run(cleanup(IpKernel(), args.vxlan_device, args.cluster_cidr)))
        except KernelError as err:
            log.error("cleanup: %s", err)
            return 1
        return 0
    config = config_from(args)
    log.info(
        "node %s: backend %s%s",
        config.node_name or "none (--no-node)",
        config.backend,
        f" (device {config.device}, VNI {config.vni}, UDP {config.port})"
        if config.backend != HOST_GW
        else "",
    )
    try:
        run(run_until_signalled(serve(config, args.kubeconfig)))
    except (KubeconfigError, ApiError) as err:  # e.g. 403: an identity that may not list Nodes
        log.error("%s", err)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
