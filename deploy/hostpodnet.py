"""The pod network of `minik up --hosts N`, as flannel builds it on a kubeadm cluster.

Each host's subnet is either
- minik's own (the default): host i's pods get the i-th /24 of `--hosts-pod-cidr`,
  given to its kubelet as `--pod-cidr` (the kubelet writes it into its Node's
  spec.podCIDR); or
- the Node's, from the controller manager's node IPAM (`--allocate-node-cidrs
  --cluster-cidr`, as `kubeadm init --pod-network-cidr` sets them): the kubelet runs
  with `--pod-cidr-from-node` and builds its pod network once its Node has a
  spec.podCIDR. Opt-in, as kube-controller-manager's `--allocate-node-cidrs` is.

Between the hosts, each host's network agent (`python -m netagent`, as the host's
kubelet; deploy/hosts.py netagent_component) routes the other Nodes' podCIDRs with the backend of
`--pod-network-backend`: `host-gw` (a route per peer via its address: the hosts share
one L2 segment) or `vxlan` (flannel's VXLAN device with FDB/neighbour entries from the
Nodes' annotations: for hosts that would not share one).

The machine (control plane, ingress controller, tests) must reach pod IPs too. It is
on the hosts' segment, so plain routes via the hosts' addresses are enough in both
modes (the host forwards to its pod bridge; vxlan is only needed between hosts that
do not share a segment). With minik's own subnets `up` programs them once
(deploy/hosts.py program_routes); with node IPAM the subnets are known only once the
controller gave them, so a network agent runs on the machine too, `--no-node` (it is
no Node: it routes every Node host-gw and publishes nothing, as kube-proxy's identity,
which may read Nodes), owning only routes inside the cluster CIDR so that several
clusters' machine agents coexist. Its routes go through the machine's veth to the
switch and vanish with it at `minik down`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from deploy import supervisor
from deploy.hostplan import Plan

HOST_GW, VXLAN = "host-gw", "vxlan"  # netagent's backends
BACKENDS = (HOST_GW, VXLAN)
MACHINE_AGENT = "netagent-machine"


def node_ipam(plan: Plan) -> bool:
    """The Nodes' subnets come from the controller's node IPAM (the plan has none)."""
    return any(not h.pod_cidr for h in plan.hosts)


def machine_components(plan: Plan, kubeconfig: Path) -> list[supervisor.Component]:
    """With node IPAM, the machine's own agent (see the module's docstring)."""
    if not node_ipam(plan):
        return []
    argv = [sys.executable, "-m", "netagent", "--no-node", "--kubeconfig", str(kubeconfig)]
    argv += ["--cluster-cidr", plan.pod_cidr, "--no-ip-forward"]
    return [supervisor.Component(MACHINE_AGENT, argv, initial_backoff=0.5)]


def add_up_flags(up: argparse.ArgumentParser) -> None:
    up.add_argument(
        "--pod-network-backend",
        choices=BACKENDS,
        default=HOST_GW,
        help="with --hosts: how pod traffic crosses hosts, host-gw (routes via the hosts' "
        "addresses) or vxlan (flannel's VXLAN overlay) (default %(default)s)",
    )
