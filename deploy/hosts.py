"""`minik up --hosts N`: each node an isolated host on this machine — a network
namespace on a switch of the cluster's own (deploy/hostplan.py, deploy/hostnet.py),
its own Docker engine (deploy/hostengines.py), and its own kubelet and proxy, run by
the supervisor inside the namespace, which join the cluster with a bootstrap token as
`minik join` does (deploy/hostjoin.py). The control plane stays on the machine; the
apiserver listens on the gateway address the hosts route through.

What `up` made is recorded in DATA_DIR/hosts.json as it is made; `minik down`
(tear_down) removes exactly that: engines (containers, dockerd, roots), namespaces
(with their links), the machine's veth and routes.

Cross-host pod traffic (deploy/hostpodnet.py): in each host, the network agent
(`python -m netagent`, host-gw or vxlan, as the host's kubelet) routes the other
hosts' pod subnets from the Node objects; `program_routes` gives the machine itself
(the ingress controller, tests) a route to each subnet (with node IPAM, the machine's
own agent does).

`minik image load IMAGE...` copies images from the machine's engine into every host's
(as `kind load docker-image`)."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from pathlib import Path

import docker
import docker.errors

from api.clusterdefaults import DEFAULT_CLUSTER_DNS, DEFAULT_SANDBOX_IMAGE
from api.privatefile import write_private
from deploy import hostengines, hostnet, hostregistry, processes, supervisor
from deploy.hostplan import (
    DEFAULT_HOSTS_CIDR,
    DEFAULT_HOSTS_POD_CIDR,
    Host,
    Plan,
    PlanError,
    collisions,
    host_gw_routes,
    make_plan,
)
from deploy.images import BUSYBOX_IMAGE, ensure_busybox_image

RECORD = "hosts.json"
KUBELET_PORT = 10250  # every host has its own address: Kubernetes' port on each


class HostsError(Exception):
    pass


def record_path(data_dir: Path) -> Path:
    return data_dir / RECORD


def read_record(data_dir: Path) -> tuple[Plan, hostnet.Made] | None:
    try:
        data = json.loads(record_path(data_dir).read_text())
    except (OSError, ValueError):
        return None
    made = hostnet.Made(**data["made"])
    made.saved = lambda: _write_record(data_dir, Plan.from_dict(data["plan"]), made)
    return Plan.from_dict(data["plan"]), made


def _write_record(data_dir: Path, plan: Plan, made: hostnet.Made) -> None:
    body = json.dumps({"plan": plan.to_dict(), "made": made.to_dict()}, indent=2)
    write_private(record_path(data_dir), body.encode())


def cluster_images() -> list[str]:
    """The images every host needs before its kubelet starts: the sandbox image and
    minik/busybox (built here when missing; the sandbox image when present, else each
    kubelet builds it in its engine)."""
    ensure_busybox_image()
    images = [BUSYBOX_IMAGE]
    try:
        docker.from_env().images.get(DEFAULT_SANDBOX_IMAGE)
        images.insert(0, DEFAULT_SANDBOX_IMAGE)
    except docker.errors.ImageNotFound:
        pass
    return images


def bring_up(
    data_dir: Path,
    node_names: list[str],
    prefix: str,
    hosts_cidr: str = DEFAULT_HOSTS_CIDR,
    pod_cidr: str = DEFAULT_HOSTS_POD_CIDR,
    node_ipam: bool = False,  # the Nodes' subnets from the controller (deploy/hostpodnet.py)
) -> Plan:
    """Make (or complete) the hosts of this data dir's cluster: switch, namespaces,
    engines with the cluster's images, routes. Refuses subnets the machine already
    routes and names something else holds."""
    previous = read_record(data_dir)
    try:
        plan = make_plan(data_dir, node_names, hosts_cidr, pod_cidr, prefix, node_ipam)
    except PlanError as err:
        raise HostsError(str(err)) from None
    made = previous[1] if previous else hostnet.Made()
    if previous and previous[0] != plan:
        raise HostsError(
            f"this data dir's hosts were made with other settings ({previous[0].hosts_cidr}, "
            f"{len(previous[0].hosts)} hosts): `minik down` first"
        )
    if not made.netns:
        clashes = collisions(plan, hostnet.machine_routes())
        if clashes:
            raise HostsError(
                "the machine already routes these addresses: "
                + "; ".join(clashes)
                + " (choose others with --hosts-cidr / --hosts-pod-cidr)"
            )
    held = hostnet.taken(plan, made)
    if held:
        raise HostsError(f"already in use by something else: {', '.join(held)}")
    made.saved = lambda: _write_record(data_dir, plan, made)
    made.saved()
    try:
        hostnet.create_switch(plan, made)
        for host in plan.hosts:
            hostnet.create_host(plan, host, made)
        for host in plan.hosts:
            if host.dir not in made.engines:
                made.add("engines", host.dir)
            _start_engine(data_dir, plan, host)
        hostengines.load_images(plan.hosts, cluster_images())
        program_routes(plan, made)
    except (hostnet.NetError, hostengines.EngineError, OSError) as err:
        raise HostsError(f"{err} (`minik down` removes what was made)") from err
    return plan


def restart_engines(data_dir: Path) -> None:
    """At a repairing `up`: start the engines of recorded hosts that died (their
    kubelets wait for them)."""
    found = read_record(data_dir)
    if found is None:
        return
    plan, made = found
    for host in plan.hosts:
        if host.dir in made.engines and hostnet.netns_exists(host.netns):
            _start_engine(data_dir, plan, host)


def _start_engine(data_dir: Path, plan: Plan, host: Host) -> None:
    log = data_dir / "logs" / f"dockerd-{host.node}.log"
    hostengines.start(host, log, registry=hostregistry.address(plan))


def program_routes(plan: Plan, made: hostnet.Made) -> None:
    """The machine's routes to the hosts' pod subnets (host-gw). The machine is no
    Node, so no agent runs for it; between the hosts the agents route."""
    for route in host_gw_routes(plan):
        if not route.netns:
            hostnet.add_route(route, made)


def tear_down(data_dir: Path) -> list[str]:
    """Remove what bring_up recorded: engines first (their containers hold mounts in
    the namespaces), then namespaces, links and routes. Names what it removed."""
    found = read_record(data_dir)
    if found is None:
        return []
    plan, made = found
    removed = []
    by_dir = {h.dir: h for h in plan.hosts}
    for directory in made.engines:
        host = by_dir.get(directory)
        if host is not None and hostengines.stop(host):
            removed.append(f"dockerd of {host.node}")
    removed += hostnet.remove(made)
    hostnet.wait_links_gone(made.links)
    record_path(data_dir).unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        (data_dir / "hosts").rmdir()  # empty now: each engine removed its directory
    return removed


# ---- the supervised processes of each host ------------------------------------------


def kubelet_flags(host: Host) -> list[str]:
    """A host's kubelet: its engine, and its pod subnet (the Docker network it makes):
    minik's, or with node IPAM its Node's spec.podCIDR (deploy/hostpodnet.py)."""
    subnet = ["--pod-cidr", host.pod_cidr] if host.pod_cidr else ["--pod-cidr-from-node"]
    return ["--container-runtime-endpoint", host.docker_host, *subnet]


def netagent_component(
    index: int, host: Host, kubeconfig: Path, backend: str = "host-gw"
) -> supervisor.Component:
    """The host's network agent, as its kubelet (NodeRestriction: it may patch only
    its own Node), routing the other hosts' pod subnets (`--pod-network-backend`)."""
    argv = [sys.executable, "-m", "netagent", "--kubeconfig", str(kubeconfig)]
    argv += ["--node-name", host.node, "--backend", backend]
    return supervisor.Component(f"netagent-{index}", host.enter(argv), initial_backoff=0.5)


def host_components(
    data_dir: Path, plan: Plan, kubeconfigs: dict[str, Path], upstream_dns: str | None
) -> list[supervisor.Component]:
    """The cluster-local registry (when installed), and one proxy per host, inside it:
    ClusterIPs on the host's `lo`, NodePorts on its address, its own lock file (each
    host is its own machine). A proxy starts once its kubeconfig (by node name) is
    there: the host's join writes it (deploy/hostjoin)."""
    out = hostregistry.components(data_dir, plan)
    for host in plan.hosts:
        kubeconfig = kubeconfigs[host.node]
        metrics = f"{host.address}:{processes.free_port()}"
        argv = [
            sys.executable,
            "-m",
            "proxy",
            "--kubeconfig",
            str(kubeconfig),
            "--node-name",
            host.node,
            "--bind-address",
            host.address,
            "--node-ip",
            host.address,
            "--cluster-dns",
            DEFAULT_CLUSTER_DNS,
            "--cluster-cidr",
            plan.pod_cidr,
            *(["--upstream-dns", upstream_dns] if upstream_dns else []),
            "--metrics-bind-address",
            metrics,
            "--lock-file",
            host.proxy_lock,
            "--lock-wait",
            "-1",
        ]
        out.append(
            supervisor.Component(
                f"proxy-{host.index}",
                host.enter(argv),
                initial_backoff=0.2,
                ready_pid_file=host.proxy_lock,
                start_after_file=str(kubeconfig),
                extra={"metrics": f"http://{metrics}/metrics", "lock": host.proxy_lock},
            )
        )
    return out


# ---- command line ---------------------------------------------------------------


def add_up_flags(up: argparse.ArgumentParser) -> None:
    up.add_argument(
        "--hosts",
        type=int,
        default=0,
        metavar="N",
        help="N nodes, each an isolated host on this machine: a network namespace with "
        "its own Docker engine, kubelet and proxy (instead of --nodes)",
    )
    up.add_argument(
        "--hosts-cidr",
        default=DEFAULT_HOSTS_CIDR,
        help="the hosts' subnet; the machine takes its first address (default %(default)s)",
    )
    up.add_argument(
        "--hosts-pod-cidr",
        default=DEFAULT_HOSTS_POD_CIDR,
        help="the pod range; host N's pods get its N-th /24 (default %(default)s)",
    )


# ---- minik image load ---------------------------------------------------------------


def register(sub: argparse._SubParsersAction, default_dir: str) -> None:
    image = sub.add_parser("image", help="images of a `minik up --hosts` cluster")
    isub = image.add_subparsers(dest="image_command", required=True)
    load = isub.add_parser(
        "load",
        help="copy images from this machine's Docker engine into every host's engine "
        "(as `kind load docker-image`)",
    )
    load.add_argument("images", nargs="+", metavar="IMAGE")
    load.add_argument("--data-dir", default=default_dir)
    push = isub.add_parser(
        "push",
        help="put images from this machine's Docker engine into the cluster-local registry "
        "(pods name them <gateway>:5000/IMAGE; imagePullPolicy Always pulls on the node)",
    )
    push.add_argument("images", nargs="+", metavar="IMAGE")
    push.add_argument("--data-dir", default=default_dir)


def run_image(args: argparse.Namespace) -> int:
    data_dir = Path(os.path.expanduser(args.data_dir)).resolve()
    found = read_record(data_dir)
    if found is None:
        print(f"minik: no hosts recorded in {data_dir} (`minik up --hosts N`)", file=sys.stderr)
        return 1
    plan = found[0]
    try:
        if args.image_command == "push":
            if not (data_dir / "registry").is_dir():
                print(f"minik: {data_dir}'s cluster has no registry", file=sys.stderr)
                return 1
            for name in hostregistry.push(plan, args.images):
                print(f"pushed {name}")
            return 0
        hostengines.load_images(plan.hosts, args.images)
    except (hostengines.EngineError, docker.errors.DockerException) as err:
        print(f"minik: {err}", file=sys.stderr)
        return 1
    for image in args.images:
        print(f"loaded {image} into {', '.join(h.node for h in plan.hosts)}")
    return 0
