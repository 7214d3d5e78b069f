"""The kubelet's flags, Kubernetes-style, and their defaults.

Capacity defaults to this machine's (cpu count, MemTotal, 110 pods); `--cpu`,
`--memory` and `--max-pods` let several kubelets on one host each declare a share.
`--sandbox-image` names the pod sandbox ("pause") image: the default, `minik/pause:1`,
is built locally from Debian's static busybox when missing; with a registry you may
use e.g. `registry.k8s.io/pause:3.9` (pulled when missing).
"""

from __future__ import annotations

import argparse
import ipaddress
import socket
from dataclasses import dataclass, field
from pathlib import Path

from api.clusterdefaults import DEFAULT_POD_NETWORK, DEFAULT_SANDBOX_IMAGE
from api.quantity import QuantityError, parse_quantity
from componentbase.flags import (
    add_bool_flag,
    add_kubeconfig_flag,
    add_tls_flags,
    boolean,
    tls_policy,
)
from componentbase.logs import add_verbosity_flag
from componentbase.serving import DEFAULT_TLS_POLICY, TLSPolicy
from kubelet.node import host_capacity

DEFAULT_PORT = 10250


@dataclass(frozen=True)
class KubeletConfig:
    node_name: str
    root_dir: Path
    node_ip: str
    address: str
    port: int
    capacity: dict[str, str]
    kubeconfig: str | None = None
    # --bootstrap-kubeconfig: TLS bootstrap (kubelet/certbootstrap) when --kubeconfig is
    # missing or its client certificate expired
    bootstrap_kubeconfig: str | None = None
    # --rotate-certificates: renew the client certificate kept in cert_dir before it
    # expires (kubelet/certrotation; kubeadm turns it on)
    rotate_certificates: bool = False
    pod_network: str = DEFAULT_POD_NETWORK
    pod_cidr: str | None = None
    # --pod-cidr-from-node: the pod network's subnet is the Node's spec.podCIDR
    # (kubelet/podcidr.py), given by the controller manager's --allocate-node-cidrs
    pod_cidr_from_node: bool = False
    sandbox_image: str = DEFAULT_SANDBOX_IMAGE
    cluster_dns: tuple[str, ...] = ()
    cluster_domain: str = "cluster.local"
    node_labels: dict[str, str] = field(default_factory=dict)
    runtime_endpoint: str | None = None  # the Docker engine's socket (default: DOCKER_HOST)
    seccomp_default: bool = False  # --seccomp-default, as Kubernetes' (off: Unconfined)
    verbosity: int = 0  # -v, as klog's (componentbase.logs)
    # The kubelet's API (kubelet/server.py, kubelet/auth.py): HTTPS, callers checked.
    tls_cert_file: str | None = None  # default: self-signed, kept in cert_dir
    tls_private_key_file: str | None = None
    cert_dir: Path | None = None  # default: <root-dir>/pki
    client_ca_file: str | None = None  # X.509 client authentication
    tls_policy: TLSPolicy = DEFAULT_TLS_POLICY  # --tls-min-version, --tls-cipher-suites
    anonymous_auth: bool = False  # kubeadm's KubeletConfiguration value
    authorization_mode: str = "Webhook"  # or AlwaysAllow


def default_node_ip() -> str:
    """The address of the interface holding the default route (a UDP "connect"
    sends nothing; it only asks the kernel for a route), else 127.0.0.1."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("10.255.255.255", 1))
            return str(s.getsockname()[0])
        except OSError:
            return "127.0.0.1"


def _quantity(text: str) -> str:
    try:
        parse_quantity(text)
    except QuantityError as err:
        raise argparse.ArgumentTypeError(f"{text!r}: {err}") from None
    return text


def _cidr(text: str) -> str:
    try:
        return str(ipaddress.ip_network(text, strict=False))
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _labels(text: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, value = part.partition("=")
        if not sep or not key:
            raise argparse.ArgumentTypeError(f"{part!r}: want key=value")
        labels[key] = value
    return labels


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m kubelet",
        description="minik's node agent: runs this node's pods in Docker.",
    )
    add_kubeconfig_flag(p)
    p.add_argument(
        "--bootstrap-kubeconfig",
        help="credentials (a bootstrap token) to ask for a client certificate with when "
        "--kubeconfig does not exist or its certificate expired; --kubeconfig is then "
        "written to use the certificate kept in --cert-dir",
    )
    p.add_argument(
        "--rotate-certificates",
        action="store_true",
        help="ask for a new client certificate (a CSR) as the current one nears expiry",
    )
    p.add_argument("--node-name", default=socket.gethostname(), help="this node's name")
    p.add_argument(
        "--root-dir",
        help="where pod volumes and termination logs live "
        "(default /var/lib/minik/kubelet/<node-name>)",
    )
    p.add_argument("--node-ip", help="the node's InternalIP (default: the default route's)")
    p.add_argument(
        "--address",
        help="address the kubelet's API binds (default: --node-ip; 0.0.0.0 for all)",
    )
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help="the kubelet's API port (HTTPS)")
    p.add_argument(
        "--tls-cert-file",
        help="the API's serving certificate (default: a self-signed one in --cert-dir)",
    )
    p.add_argument("--tls-private-key-file", help="the key of --tls-cert-file")
    p.add_argument(
        "--cert-dir", help="where the self-signed serving certificate is kept (default <root>/pki)"
    )
    add_tls_flags(p)
    p.add_argument(
        "--client-ca-file",
        help="authenticate callers' client certificates signed by this CA (CN user, O groups)",
    )
    p.add_argument(
        "--anonymous-auth",
        type=boolean,
        nargs="?",
        const=True,
        default=False,
        help="serve callers with no credentials as system:anonymous (default false, "
        "kubeadm's; they are then refused with 401)",
    )
    p.add_argument(
        "--authorization-mode",
        choices=("AlwaysAllow", "Webhook"),
        default="Webhook",
        help="Webhook: ask the apiserver (SubjectAccessReview on nodes/proxy, nodes/log, "
        "nodes/stats, nodes/metrics) whether each caller may; AlwaysAllow: any "
        "authenticated caller",
    )
    p.add_argument("--cpu", type=_quantity, help="CPU capacity to declare (default: all CPUs)")
    p.add_argument("--memory", type=_quantity, help="memory capacity (default: MemTotal)")
    p.add_argument("--max-pods", type=int, help="pod capacity (default 110)")
    p.add_argument(
        "--pod-network", default=DEFAULT_POD_NETWORK, help="Docker bridge network for pods"
    )
    p.add_argument(
        "--pod-cidr",
        type=_cidr,
        help="subnet of the pod network when the kubelet creates it (e.g. 10.244.1.0/24); "
        "also the Node's spec.podCIDR (default: Docker picks one)",
    )
    add_bool_flag(
        p,
        "--pod-cidr-from-node",
        help="register the Node, stay NotReady until it has a spec.podCIDR (the controller "
        "manager's --allocate-node-cidrs gives one), then create the --pod-network with that "
        "subnet (gateway its first address), so pod IPs lie in the Node's podCIDR; refuses "
        "to start if the network exists in use with another subnet (one such network per "
        "Docker engine: kubelets sharing an engine keep the default); not with --pod-cidr",
    )
    p.add_argument(
        "--sandbox-image",
        default=DEFAULT_SANDBOX_IMAGE,
        help="pod sandbox (pause) image; the default is built locally when missing",
    )
    p.add_argument(
        "--cluster-dns", default="", help="comma-separated DNS server IPs for ClusterFirst pods"
    )
    p.add_argument("--cluster-domain", default="cluster.local")
    p.add_argument("--node-labels", type=_labels, default={}, help="k=v,... added to the Node")
    add_bool_flag(
        p,
        "--seccomp-default",
        help="run containers without a seccompProfile under RuntimeDefault (Docker's default "
        "profile) instead of Unconfined, as Kubernetes' SeccompDefault; Localhost profiles "
        "are read from <root-dir>/seccomp",
    )
    p.add_argument(
        "--container-runtime-endpoint",
        metavar="URL",
        help="the Docker engine to run pods in, e.g. unix:///run/docker.sock "
        "(default: DOCKER_HOST, else Docker's default socket)",
    )
    add_verbosity_flag(p)
    return p


def parse_args(argv: list[str] | None = None) -> KubeletConfig:
    p = parser()
    args = p.parse_args(argv)
    if bool(args.tls_cert_file) != bool(args.tls_private_key_file):
        p.error("--tls-cert-file and --tls-private-key-file go together")
    policy = tls_policy(p, args)
    if args.pod_cidr and args.pod_cidr_from_node:
        p.error("--pod-cidr and --pod-cidr-from-node exclude each other")
    if args.bootstrap_kubeconfig and not args.kubeconfig:
        p.error("--bootstrap-kubeconfig needs --kubeconfig (the file it writes)")
    root = Path(args.root_dir or f"/var/lib/minik/kubelet/{args.node_name}").expanduser()
    capacity = host_capacity(root if root.exists() else None)
    if args.cpu:
        capacity["cpu"] = args.cpu
    if args.memory:
        capacity["memory"] = args.memory
    if args.max_pods:
        capacity["pods"] = str(args.max_pods)
    node_ip = args.node_ip or default_node_ip()
    return KubeletConfig(
        node_name=args.node_name,
        root_dir=root.resolve(),
        node_ip=node_ip,
        address=args.address or node_ip,
        port=args.port,
        capacity=capacity,
        kubeconfig=args.kubeconfig,
        bootstrap_kubeconfig=args.bootstrap_kubeconfig,
        rotate_certificates=args.rotate_certificates,
        pod_network=args.pod_network,
        pod_cidr=args.pod_cidr,
        pod_cidr_from_node=args.pod_cidr_from_node,
        sandbox_image=args.sandbox_image,
        cluster_dns=tuple(s.strip() for s in args.cluster_dns.split(",") if s.strip()),
        cluster_domain=args.cluster_domain,
        node_labels=args.node_labels,
        runtime_endpoint=args.container_runtime_endpoint,
        seccomp_default=args.seccomp_default,
        verbosity=args.verbosity,
        tls_cert_file=args.tls_cert_file,
        tls_private_key_file=args.tls_private_key_file,
        cert_dir=Path(args.cert_dir).expanduser() if args.cert_dir else None,
        client_ca_file=args.client_ca_file,
        tls_policy=policy,
        anonymous_auth=args.anonymous_auth,
        authorization_mode=args.authorization_mode,
    )
