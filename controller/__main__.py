"""`python -m controller --kubeconfig F [--controllers '*'] [--leader-elect] [-v 4] ...`

The controller manager process, with kube-controller-manager's flags; the shared
ones, logging and signal handling come from componentbase."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from client.kubeconfig import KubeConfig, KubeconfigError
from client.kubeconfig import load as load_kubeconfig
from client.rest import AsyncClient
from componentbase.flags import add_bool_flag, add_kubeconfig_flag, duration
from componentbase.leaderelection import (
    add_leader_election_flags,
    leader_election_error,
    run_while_leading,
)
from componentbase.logs import add_verbosity_flag, setup_logging
from componentbase.metrics import add_metrics_flags, check_secure_serving_flags, secure_serving
from componentbase.run import run, run_until_signalled
from componentbase.workqueuemetrics import install as install_workqueue_metrics
from controller.manager import UnknownController, enabled_controllers, run_controllers
from controller.nodeipam.config import DEFAULT_CLUSTER_CIDR, ConfigError, node_ipam_config
from controller.util.base import Options

SECURE_PORT = 10257  # kube-controller-manager's
INSECURE_PORT = 10252  # its plain-HTTP port before Kubernetes 1.23


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m controller", description="minik controller manager")
    add_kubeconfig_flag(p)
    p.add_argument(
        "--controllers",
        default="*",
        help="comma-separated: '*' all, 'foo' enable foo, '-foo' disable foo",
    )
    p.add_argument("--node-monitor-grace-period", type=duration, default=50.0)
    p.add_argument("--node-startup-grace-period", type=duration, default=60.0)
    p.add_argument(
        "--node-monitor-period",
        type=duration,
        default=5.0,
        help="how often a node whose eviction waits on its zone's state is looked at again "
        "(nodes are otherwise checked exactly when their grace ends)",
    )
    p.add_argument(
        "--node-eviction-rate",
        type=float,
        default=0.1,
        help="nodes per second per healthy zone whose pods may be evicted",
    )
    p.add_argument(
        "--secondary-node-eviction-rate",
        type=float,
        default=0.01,
        help="the same in an unhealthy zone larger than --large-cluster-size-threshold",
    )
    p.add_argument(
        "--unhealthy-zone-threshold",
        type=float,
        default=0.55,
        help="fraction of not-ready nodes (at least 3) that makes a zone unhealthy",
    )
    p.add_argument("--large-cluster-size-threshold", type=int, default=50)
    # The apiserver adds the default tolerations (DefaultTolerationSeconds admission);
    # these are accepted, as kube-controller-manager's deprecated flags were.
    p.add_argument("--default-not-ready-toleration-seconds", type=int, default=300)
    p.add_argument("--default-unreachable-toleration-seconds", type=int, default=300)
    p.add_argument("--pod-gc-period", type=duration, default=20.0, help=argparse.SUPPRESS)
    p.add_argument(
        "--root-ca-file",
        help="the CA bundle published as ConfigMap kube-root-ca.crt in every namespace "
        "(default: the kubeconfig's certificate authority)",
    )
    p.add_argument(
        "--cluster-signing-cert-file",
        help="PEM CA certificate csrsigning issues the kubernetes.io signers' certificates with",
    )
    p.add_argument("--cluster-signing-key-file", help="the private key of that CA (PEM)")
    p.add_argument(
        "--cluster-signing-duration",
        type=duration,
        default=365 * 24 * 3600.0,
        help="the longest a signed certificate lives (spec.expirationSeconds may ask less)",
    )
    p.add_argument("--resource-quota-sync-period", type=duration, default=300.0)
    p.add_argument("--horizontal-pod-autoscaler-sync-period", type=duration, default=15.0)
    p.add_argument(
        "--horizontal-pod-autoscaler-downscale-stabilization",
        type=duration,
        default=300.0,
        help="how far back the highest recommendation holds a scale-down (Go duration)",
    )
    p.add_argument(
        "--horizontal-pod-autoscaler-tolerance",
        type=float,
        default=0.1,
        help="the usage ratio's distance from 1.0 that causes no scaling",
    )
    add_node_ipam_flags(p)
    add_leader_election_flags(p, resource_name="kube-controller-manager")
    for name, default in (
        ("deployment", 5),
        ("replicaset", 5),
        ("endpoint", 5),
        ("gc", 20),
        ("daemonset", 2),
        ("job", 5),
        ("ttl-after-finished", 5),
        ("statefulset", 5),
        ("rc", 5),
        ("resource-quota", 5),
    ):
        p.add_argument(f"--concurrent-{name}-syncs", type=int, default=default)
    add_metrics_flags(p, "kube-controller-manager", SECURE_PORT, INSECURE_PORT)
    add_verbosity_flag(p)
    args = p.parse_args(argv)
    check_secure_serving_flags(p, args)
    return args


def add_node_ipam_flags(p: argparse.ArgumentParser) -> None:
    """kube-controller-manager's node IPAM flags (controller/nodeipam)."""
    add_bool_flag(
        p,
        "--allocate-node-cidrs",
        help="give each Node a spec.podCIDR from --cluster-cidr (the nodeipam controller); "
        "kubelets with --pod-cidr-from-node build their pod network with it",
    )
    p.add_argument(
        "--cluster-cidr",
        default=DEFAULT_CLUSTER_CIDR,
        help="the range of pod addresses, cut into one subnet per Node; one CIDR, or an "
        "IPv4 and an IPv6 one comma-separated (default %(default)s)",
    )
    p.add_argument(
        "--node-cidr-mask-size",
        type=int,
        help="prefix length of each Node's subnet in a single-stack cluster "
        "(default 24 for IPv4, 64 for IPv6)",
    )
    p.add_argument(
        "--node-cidr-mask-size-ipv4", type=int, help="the same for the IPv4 cluster CIDR (24)"
    )
    p.add_argument(
        "--node-cidr-mask-size-ipv6", type=int, help="the same for the IPv6 cluster CIDR (64)"
    )
    p.add_argument(
        "--service-cluster-ip-range",
        help="the Services' range: where it overlaps --cluster-cidr, no Node gets it",
    )


def node_ipam_options(args: argparse.Namespace) -> None:
    """Check the node IPAM flags (ConfigError, one line) and keep the result."""
    if args.allocate_node_cidrs:
        args.node_ipam = node_ipam_config(
            args.cluster_cidr,
            args.node_cidr_mask_size,
            args.node_cidr_mask_size_ipv4,
            args.node_cidr_mask_size_ipv6,
            args.service_cluster_ip_range,
        )


def options_from(args: argparse.Namespace) -> Options:
    return Options(
        node_monitor_grace_period=args.node_monitor_grace_period,
        node_startup_grace_period=args.node_startup_grace_period,
        node_monitor_period=args.node_monitor_period,
        node_eviction_rate=args.node_eviction_rate,
        secondary_node_eviction_rate=args.secondary_node_eviction_rate,
        unhealthy_zone_threshold=args.unhealthy_zone_threshold,
        large_cluster_size_threshold=args.large_cluster_size_threshold,
        default_not_ready_toleration_seconds=args.default_not_ready_toleration_seconds,
        default_unreachable_toleration_seconds=args.default_unreachable_toleration_seconds,
        pod_gc_period=args.pod_gc_period,
        resource_quota_sync_period=args.resource_quota_sync_period,
        hpa_sync_period=args.horizontal_pod_autoscaler_sync_period,
        hpa_downscale_stabilization=args.horizontal_pod_autoscaler_downscale_stabilization,
        hpa_tolerance=args.horizontal_pod_autoscaler_tolerance,
        cluster_signing_cert_file=args.cluster_signing_cert_file,
        cluster_signing_key_file=args.cluster_signing_key_file,
        cluster_signing_duration=args.cluster_signing_duration,
        node_ipam=getattr(args, "node_ipam", None),
        workers={
            "deployment": args.concurrent_deployment_syncs,
            "replicaset": args.concurrent_replicaset_syncs,
            "endpoints": args.concurrent_endpoint_syncs,
            "garbagecollector": args.concurrent_gc_syncs,
            "daemonset": args.concurrent_daemonset_syncs,
            "job": args.concurrent_job_syncs,
            "resourcequota": args.concurrent_resource_quota_syncs,
            "ttl-after-finished": args.concurrent_ttl_after_finished_syncs,
            "statefulset": args.concurrent_statefulset_syncs,
            "replicationcontroller": args.concurrent_rc_syncs,
        },
    )


def root_ca(args: argparse.Namespace, config: KubeConfig) -> str | None:
    """--root-ca-file's text, else the CA the controller manager itself trusts."""
    path = args.root_ca_file or config.certificate_authority
    if path:
        return Path(path).read_text()
    return config.certificate_authority_data


async def serve(args: argparse.Namespace, names: list[str]) -> None:
    config = load_kubeconfig(args.kubeconfig)
    api = AsyncClient(config, user_agent="minik-controller-manager")
    options = options_from(args)
    options.root_ca = root_ca(args, config)
    install_workqueue_metrics()  # before the controllers make their queues

    async def work() -> None:
        await run_controllers(api, names, options)

    try:
        async with secure_serving("controller-manager", args, api):
            if args.leader_elect:
                await run_while_leading(api, args, work)
            else:
                await work()
    finally:
        await api.aclose()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        names = enabled_controllers(args.controllers.split(","))
    except UnknownController as err:
        print(f"controller-manager: {err}", file=sys.stderr)
        return 2
    try:
        node_ipam_options(args)
    except ConfigError as err:
        print(f"controller-manager: {err}", file=sys.stderr)
        return 2
    error = leader_election_error(args)
    if error:
        print(f"controller-manager: {error}", file=sys.stderr)
        return 2
    setup_logging("controller-manager", args.verbosity)
    try:
        run(run_until_signalled(serve(args, names)))
    except KubeconfigError as err:
        print(f"controller-manager: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
