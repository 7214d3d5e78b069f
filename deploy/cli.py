"""The `minik` command: `up | down | status | restart | dashboard | certs`, plus
`token` and `join` (deploy/join) and `image` (deploy/hosts). Parsing and printing only:
what each command does is deploy/cluster's LocalCluster."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from api.clusterdefaults import DEFAULT_POD_NETWORK, PROXY_LOCK_FILE
from api.humanize import human_duration
from api.privatefile import write_private
from componentbase import addonsargv
from componentbase.flags import duration
from deploy import certs, controlplanes, hostpodnet, hosts, join, readiness
from deploy.cluster import (
    NODE_PREFIX,
    ClusterError,
    LocalCluster,
    UpOptions,
    check_cluster_cidr,
    check_node_prefix,
    check_pod_network_flags,
    merge_into_kube_config,
    proxy_lock_holder,
)


def _print_up(cluster: LocalCluster, record: dict[str, dict]) -> None:
    if cluster.repaired is not None:
        started = ", ".join(cluster.repaired) or "nothing (every component was running)"
        print(f"minik was already up; repaired by starting: {started}")
    print(f"minik is up (data dir {cluster.data_dir})")
    if cluster.renewed:
        names = ", ".join(leaf.name for leaf in cluster.renewed)
        print(f"renewed certificates that expired within 30 days: {names}")
    for name, rec in record.items():
        urls = [rec[key] for key in ("url", "ingress", "dashboard") if key in rec]
        extra = "".join(f"  {url}" for url in urls)
        print(f"  {name:<13} pid {rec['pid']:<8} log {cluster.logs / (name + '.log')}{extra}")
    _print_metrics(record)
    print(f"kubeconfig: {cluster.kubeconfig} (also ~/.minik/kubeconfig)")
    print("next:")
    print("  .venv/bin/minikctl get nodes")
    print(f"  kubectl --kubeconfig {cluster.kubeconfig} get pods -A")
    print("  docker build -t my-image:v1 examples/web && .venv/bin/minikctl apply -f examples/")
    dashboard = record.get(addonsargv.MODULE, {}).get("dashboard")
    if dashboard:
        print(f"  open {dashboard} (the live dashboard; `minik dashboard`)")


def _print_metrics(record: dict[str, dict]) -> None:
    """Where each component serves Prometheus' /metrics (the apiserver and kubelets
    want a bearer token, e.g. the kubeconfig's; the loopback listeners none)."""
    urls = {name: rec["metrics"] for name, rec in record.items() if rec.get("metrics")}
    if not urls:
        return
    print("metrics (Prometheus text; https and kubelet ones need a bearer token):")
    for name, url in urls.items():
        print(f"  {name:<13} {url}")


def _warn_without_live_restore() -> None:
    """Without Docker's live-restore a dockerd restart kills every pod's container;
    minik does not reconfigure a shared engine itself (deploy/setup.sh does, as root)."""
    import docker

    try:
        enabled = docker.from_env(timeout=5).info().get("LiveRestoreEnabled")
    except Exception:
        return
    if not enabled:
        print(
            "note: Docker's live-restore is off, so a dockerd restart stops every pod's "
            'container; enable it with "live-restore": true in /etc/docker/daemon.json '
            "(deploy/setup.sh does) and `kill -HUP $(pidof dockerd)` (a reload)"
        )


def _status(cluster: LocalCluster) -> int:
    """One line per component (state, restarts, last exit), and the last log lines of
    any that is crash-looping; 0 only when everything runs and the apiserver is ready."""
    recorded = cluster.recorded()
    if not recorded:
        print(f"no minik cluster recorded in {cluster.data_dir}")
        return 1
    sup = cluster.supervisor_pid()
    print(f"supervisor pid {sup} running" if sup else "supervisor stopped (`minik up` repairs)")
    running = cluster.running()
    healthy = sup is not None
    now = time.time()
    print(f"{'NAME':<14} {'PID':<8} {'STATE':<22} {'RESTARTS':<9} {'LAST EXIT':<10} AGE")
    looping = []
    for name, rec in recorded.items():
        state = "running" if name in running else str(rec.get("state") or "stopped")
        if state == "running" and rec.get("state") == "backoff":
            state = "backoff"
        if name.startswith("apiserver") and name in running:
            ok = readiness.http_ok(f"{rec['url']}/readyz", str(cluster.pki / "ca.crt"))
            state += ", ready" if ok else ", not ready"
            healthy &= ok
        if name.startswith("proxy") and name in running:
            holder = proxy_lock_holder(rec.get("lock", PROXY_LOCK_FILE))
            state += ", serving" if holder == int(rec["pid"]) else ", lock wait"
        if state == "backoff" and rec.get("next_start"):
            state += f" ({max(0.0, rec['next_start'] - now):.0f}s)"
            looping.append(name)
        last_exit = rec.get("last_exit")
        started = rec.get("started_at")
        age = human_duration(now - started) if started and name in running else "-"
        print(
            f"{name:<14} {rec.get('pid') or '-':<8} {state:<22} {rec.get('restarts', 0):<9} "
            f"{'-' if last_exit is None else last_exit:<10} {age}"
        )
    _print_metrics(recorded)
    for name in looping:
        print(f"--- {name}: last log lines ({cluster.logs / (name + '.log')})")
        for line in recorded[name].get("last_log") or []:
            print(f"  {line}")
    return 0 if healthy and len(running) == len(recorded) else 1


def _certs(cluster: LocalCluster, args: argparse.Namespace) -> int:
    """`minik certs renew [all|NAME...]` and `minik certs check-expiration`."""
    if not (cluster.pki / "ca.crt").exists():
        print(f"minik: no cluster CA in {cluster.pki}", file=sys.stderr)
        return 1
    if args.certs_command == "check-expiration":
        print(certs.expiration_table(cluster.data_dir))
        return 0
    leaves = certs.leaf_certificates(cluster.data_dir)
    if "all" not in args.names:
        known = {leaf.name: leaf for leaf in leaves}
        unknown = [n for n in args.names if n not in known]
        if unknown:
            print(
                f"minik: unknown certificate(s) {', '.join(unknown)}; "
                f"known: {', '.join(known) or 'none'}",
                file=sys.stderr,
            )
            return 1
    renewed = certs.renew(cluster.data_dir, only=None if "all" in args.names else args.names)
    print(certs.renew_all_message(cluster.data_dir, renewed))
    return 0


def _dashboard_url(cluster: LocalCluster) -> int:
    """Print the dashboard's address; open it in a browser only where there is a display
    (webbrowser would otherwise start a text browser or fail on a headless machine)."""
    url = cluster.running().get(addonsargv.MODULE, {}).get("dashboard")
    if url is None:
        print(f"minik: no dashboard running in {cluster.data_dir} (`minik up` starts it)")
        return 1
    print(url)
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        import webbrowser

        webbrowser.open(url)
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="minik", description="run a local minik cluster")
    sub = p.add_subparsers(dest="command", required=True)
    default_dir = os.environ.get("MINIK_DATA_DIR", "~/.minik")
    up = sub.add_parser("up", help="start a local cluster")
    up.add_argument("--nodes", type=int, default=1)
    hosts.add_up_flags(up)
    hostpodnet.add_up_flags(up)
    up.add_argument("--data-dir", default=default_dir)
    up.add_argument("--etcd-servers", default=None, help="use this etcd instead of starting one")
    up.add_argument(
        "--control-planes",
        type=int,
        default=1,
        help="N (odd): an N-member etcd, N apiservers behind a local load balancer on "
        "--api-port, a scheduler and controller manager each with leader election",
    )
    up.add_argument("--api-port", type=int, default=6443)
    up.add_argument(
        "--node-ip",
        default="127.0.0.1",
        help="node address: LoadBalancer and NodePort services answer here",
    )
    up.add_argument(
        "--node-grace-period",
        type=int,
        default=50,
        metavar="SECONDS",
        help="a node silent this long is marked NotReady/Unknown (kube-controller-manager's "
        "--node-monitor-grace-period: 50 s since Kubernetes 1.32)",
    )
    up.add_argument(
        "--toleration-seconds",
        type=int,
        default=300,
        help="pods on an unreachable node are evicted after this",
    )
    up.add_argument(
        "--upstream-dns",
        metavar="IP[:PORT]",
        help="resolver the cluster DNS forwards other names to (default: resolv.conf's)",
    )
    up.add_argument(
        "--node-prefix",
        default=NODE_PREFIX,
        help="nodes are named PREFIX1, PREFIX2, …; give two clusters sharing a Docker "
        "daemon different prefixes (a kubelet removes its node's containers it does not know)",
    )
    up.add_argument(
        "--pod-network",
        default=DEFAULT_POD_NETWORK,
        help="Docker network for pods (created when missing; `bridge` is Docker's default "
        "network, shared with other containers but quicker to join)",
    )
    up.add_argument(
        "--ingress-http-port",
        type=int,
        default=8080,
        help="the ingress controller's HTTP port on the node address (80 stays free for "
        "LoadBalancer Services)",
    )
    up.add_argument(
        "--ingress-https-port", type=int, default=8443, help="the ingress controller's HTTPS port"
    )
    up.add_argument(
        "--dashboard-port",
        type=int,
        default=9090,
        help="the web dashboard's port on 127.0.0.1, a free one if it is taken "
        "(`minik dashboard` prints the address)",
    )
    up.add_argument(
        "--event-ttl",
        type=duration,
        metavar="DURATION",
        help="how long the apiserver keeps an Event after its last write (Go duration, "
        "e.g. 5m; kube-apiserver's default 1h; 0: forever)",
    )
    up.add_argument(
        "--allocate-node-cidrs",
        action="store_true",
        help="the controller gives each Node a spec.podCIDR from --cluster-cidr (with "
        "--hosts each host's pod network is its Node's; without, the kubelets of this one "
        "Docker engine keep one shared pod network all the same)",
    )
    up.add_argument("--cluster-cidr", default="10.244.0.0/16", help="(default %(default)s)")
    up.add_argument(
        "--merge-kubeconfig",
        action="store_true",
        help="also add a `minik` context to ~/.kube/config for kubectl",
    )
    for name in ("down", "status"):
        sub.add_parser(name).add_argument("--data-dir", default=default_dir)
    sub.add_parser(
        "dashboard", help="print the web dashboard's address (and open it where a display is)"
    ).add_argument("--data-dir", default=default_dir)
    restart = sub.add_parser("restart", help="restart one component (see `minik status`)")
    restart.add_argument("component")
    restart.add_argument("--data-dir", default=default_dir)
    certs_cmd = sub.add_parser("certs", help="the cluster's certificates (as `kubeadm certs`)")
    certs_sub = certs_cmd.add_subparsers(dest="certs_command", required=True)
    renew = certs_sub.add_parser(
        "renew",
        help="re-issue leaf certificates from the cluster CA (new keys, same names, a "
        "year from now); restart the components that use them afterwards",
    )
    renew.add_argument(
        "names",
        nargs="*",
        default=["all"],
        help="`all` (the default) or certificate names from `minik certs check-expiration`",
    )
    renew.add_argument("--data-dir", default=default_dir)
    certs_sub.add_parser(
        "check-expiration", help="when each certificate of the cluster expires"
    ).add_argument("--data-dir", default=default_dir)
    join.register(sub, default_dir)
    hosts.register(sub, default_dir)
    args = p.parse_args(argv)
    if args.command in ("token", "join"):
        return join.run(args)
    if args.command == "image":
        return hosts.run_image(args)
    cluster = LocalCluster(Path(args.data_dir))
    try:
        if args.command == "up":
            if args.hosts:
                args.nodes = args.hosts
            if args.nodes < 1:
                raise ClusterError("--nodes must be at least 1")
            try:  # before --hosts makes anything
                controlplanes.check_count(args.control_planes)
            except controlplanes.ControlPlaneError as err:
                raise ClusterError(str(err)) from None
            check_node_prefix(args.node_prefix)
            if args.allocate_node_cidrs:
                check_cluster_cidr(args.cluster_cidr)
            check_pod_network_flags(args)
            options = UpOptions(
                args.node_ip,
                args.node_grace_period,
                args.toleration_seconds,
                upstream_dns=args.upstream_dns,
                node_prefix=args.node_prefix,
                pod_network=args.pod_network,
                ingress_http_port=args.ingress_http_port,
                ingress_https_port=args.ingress_https_port,
                dashboard_port=args.dashboard_port,
                event_ttl=args.event_ttl,
                hosts=args.hosts > 0,
                hosts_cidr=args.hosts_cidr,
                hosts_pod_cidr=args.hosts_pod_cidr,
                cluster_cidr=args.cluster_cidr if args.allocate_node_cidrs else None,
                pod_network_backend=args.pod_network_backend,
                control_planes=args.control_planes,
            )
            record = cluster.up(args.etcd_servers, args.api_port, args.nodes, options)
            home_kubeconfig = Path("~/.minik/kubeconfig").expanduser()
            if home_kubeconfig.resolve() != cluster.kubeconfig:
                home_kubeconfig.parent.mkdir(parents=True, exist_ok=True)
                write_private(home_kubeconfig, cluster.kubeconfig.read_bytes())
            if args.merge_kubeconfig:
                merge_into_kube_config(cluster.kubeconfig, Path("~/.kube/config").expanduser())
            _print_up(cluster, record)
            _warn_without_live_restore()
        elif args.command == "restart":
            rec = cluster.restart(args.component)
            print(f"{args.component} restarted (pid {rec['pid']})")
        elif args.command == "dashboard":
            return _dashboard_url(cluster)
        elif args.command == "certs":
            return _certs(cluster, args)
        elif args.command == "down":
            stopped = cluster.down()
            print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
        else:
            return _status(cluster)
    except ClusterError as err:
        print(f"minik: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
