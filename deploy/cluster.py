"""`minik up | down | status`: a whole local cluster from one command.

Each component is its own process, started by `deploy/processes.py`, logging to
DATA_DIR/logs/<component>.log; their PIDs go to DATA_DIR/pids.json so `down` stops
exactly what `up` started. The data dir keeps etcd's data, the CA, the tokens and the
kubeconfigs, so `up` on the same dir brings the same cluster back."""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import secrets
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from api.clusterdefaults import (
    DEFAULT_CLUSTER_DNS,
    DEFAULT_POD_NETWORK,
    NODE_CONTAINER_LABEL,
    PROXY_LOCK_FILE,
)
from client.kubeconfig import write_kubeconfig
from deploy import processes

COMPONENT_USERS = [
    ("admin", "system:masters"),
    ("kube-scheduler", "system:kube-scheduler"),
    ("kube-controller-manager", "system:kube-controller-manager"),
    ("kubelet", "system:nodes"),
    ("kube-proxy", "system:node-proxier"),
    ("metrics-server", "system:metrics-server"),
]
NODE_PREFIX = "minik-node-"
FIRST_KUBELET_PORT = 10250


class ClusterError(Exception):
    pass


@dataclass(frozen=True)
class UpOptions:
    """Knobs of `minik up` beyond the node count."""

    node_ip: str = "127.0.0.1"  # LoadBalancer/NodePort services answer here
    node_grace_seconds: int = 40  # a silent node is NotReady after this
    toleration_seconds: int = 300  # then its pods are evicted after this
    upstream_dns: str | None = None  # the proxy's resolver for names outside the cluster
    node_prefix: str = NODE_PREFIX  # nodes are <prefix>1, <prefix>2, …
    pod_network: str = DEFAULT_POD_NETWORK  # the Docker network the kubelets' pods join

    def node_name(self, index: int) -> str:
        return f"{self.node_prefix}{index}"

    def toleration_flags(self) -> list[str]:
        return [
            "--default-not-ready-toleration-seconds",
            str(self.toleration_seconds),
            "--default-unreachable-toleration-seconds",
            str(self.toleration_seconds),
        ]


class LocalCluster:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.expanduser().resolve()
        self.logs = self.data_dir / "logs"
        self.pid_file = self.data_dir / "pids.json"
        self.token_file = self.data_dir / "tokens.csv"
        self.kubeconfig = self.data_dir / "kubeconfig"
        self.pki = self.data_dir / "pki"

    # ---- records -----------------------------------------------------------

    def recorded(self) -> dict[str, dict]:
        try:
            return json.loads(self.pid_file.read_text())
        except (OSError, ValueError):
            return {}

    def running(self) -> dict[str, dict]:
        return {
            name: rec
            for name, rec in self.recorded().items()
            if processes.pid_alive(int(rec["pid"]))
        }

    def _save(self, record: dict[str, dict]) -> None:
        self.pid_file.write_text(json.dumps(record, indent=2))

    def tokens(self) -> dict[str, str]:
        """The tokens of a previous `up` on this data dir, or new ones."""
        if self.token_file.exists():
            out = {}
            for line in self.token_file.read_text().splitlines():
                parts = line.split(",")
                if len(parts) >= 2:
                    out[parts[1]] = parts[0]
            if all(user in out for user, _ in COMPONENT_USERS):
                return out
        return processes.write_token_file(self.token_file, COMPONENT_USERS)

    # ---- up / down ---------------------------------------------------------

    def up(
        self, etcd_servers: str | None, api_port: int, nodes: int, options: UpOptions | None = None
    ) -> dict[str, dict]:
        options = options or UpOptions()
        if self.running():
            raise ClusterError(
                f"a minik cluster already runs from {self.data_dir} "
                "(`minik status` shows it; `minik down` stops it)"
            )
        holder = proxy_lock_holder()
        if holder is not None:
            raise ClusterError(
                f"another minik proxy (pid {holder}) serves Services on this host; "
                "stop that cluster (or the compose lab) first"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        tokens = self.tokens()
        record: dict[str, dict] = {}
        started: list[processes.Process] = []

        def keep(proc: processes.Process, **extra: object) -> None:
            started.append(proc)
            record[proc.name] = {"pid": proc.pid, **extra}
            self._save(record)

        try:
            etcd_url = etcd_servers
            if not etcd_url:
                client_port = processes.free_port()
                etcd = processes.start_etcd(
                    self.data_dir / "etcd",
                    client_port,
                    processes.free_port(),
                    self.logs / "etcd.log",
                )
                etcd_url = f"http://127.0.0.1:{client_port}"
                keep(etcd, url=etcd_url)
            api = processes.start_apiserver(
                etcd_url,
                api_port,
                self.token_file,
                self.logs / "apiserver.log",
                self.pki,
                extra=[*options.toleration_flags(), *self._requestheader_flags()],
            )
            server = f"https://127.0.0.1:{api_port}"
            keep(api, url=server)
            ca = self.pki / "ca.crt"
            write_kubeconfig(self.kubeconfig, server, tokens["admin"], ca_file=ca)
            configs = {
                user: write_kubeconfig(
                    self.data_dir / "kubeconfigs" / f"{user}.kubeconfig",
                    server,
                    tokens[user],
                    ca_file=ca,
                )
                for user, _ in COMPONENT_USERS
            }
            for proc in self._start_components(configs, nodes, options):
                node = proc.name.replace("kubelet-", options.node_prefix)
                keep(proc, **({"node": node} if proc.name.startswith("kubelet-") else {}))
            self._wait_nodes_ready(nodes, started, options.node_prefix)
            _wait_proxy_serving(next(p for p in started if p.name == "proxy"))
        except (processes.StartError, ClusterError) as err:
            for proc in reversed(started):
                proc.stop()
            self.pid_file.unlink(missing_ok=True)
            raise ClusterError(str(err)) from err
        return record

    def _start_components(
        self, configs: dict[str, Path], nodes: int, options: UpOptions
    ) -> list[processes.Process]:
        py = [sys.executable, "-m"]
        specs: list[tuple[str, list[str]]] = [
            ("scheduler", [*py, "scheduler", "--kubeconfig", str(configs["kube-scheduler"])]),
            (
                "controller",
                [
                    *py,
                    "controller",
                    "--kubeconfig",
                    str(configs["kube-controller-manager"]),
                    "--node-monitor-grace-period",
                    f"{options.node_grace_seconds}s",
                    *options.toleration_flags(),
                ],
            ),
        ]
        cpus = os.cpu_count() or 1
        memory_mib = _host_memory_mib() // max(nodes, 1)
        for i in range(1, nodes + 1):
            name = options.node_name(i)
            specs.append(
                (
                    f"kubelet-{i}",
                    [
                        *py,
                        "kubelet",
                        "--kubeconfig",
                        str(configs["kubelet"]),
                        "--node-name",
                        name,
                        "--root-dir",
                        str(self.data_dir / "nodes" / name),
                        "--port",
                        str(_kubelet_port(i)),
                        "--cpu",
                        str(cpus),
                        "--memory",
                        f"{memory_mib}Mi",
                        "--node-ip",
                        options.node_ip,
                        "--cluster-dns",
                        DEFAULT_CLUSTER_DNS,
                        "--pod-network",
                        options.pod_network,
                    ],
                )
            )
        specs.append(
            (
                "proxy",
                [
                    *py,
                    "proxy",
                    "--kubeconfig",
                    str(configs["kube-proxy"]),
                    "--node-name",
                    options.node_name(1),
                    "--bind-address",
                    options.node_ip,
                    "--node-ip",
                    options.node_ip,
                    "--cluster-dns",
                    DEFAULT_CLUSTER_DNS,
                    *(["--upstream-dns", options.upstream_dns] if options.upstream_dns else []),
                ],
            )
        )
        specs.append(("metrics", [*py, "metrics", *self._metrics_flags(configs)]))
        return [processes.spawn(name, argv, self.logs / f"{name}.log") for name, argv in specs]

    # ---- the metrics server behind the aggregation layer --------------------

    def _requestheader_secret(self) -> Path:
        """The secret the apiserver presents to aggregated servers (made once)."""
        path = self.data_dir / "requestheader-secret"
        if not path.exists():
            path.write_text(secrets.token_hex(32) + "\n")
            path.chmod(0o600)
        return path

    def _requestheader_flags(self) -> list[str]:
        return ["--requestheader-secret-file", str(self._requestheader_secret())]

    def _metrics_flags(self, configs: dict[str, Path]) -> list[str]:
        return [
            "--kubeconfig",
            str(configs["metrics-server"]),
            "--port",
            str(processes.free_port()),
            "--metric-resolution",
            "15s",
            *self._requestheader_flags(),
        ]

    def _wait_nodes_ready(
        self, nodes: int, started: list[processes.Process], prefix: str, timeout: float = 90
    ) -> None:
        from api.resources import NODES
        from client.kubeconfig import load
        from client.rest import Client

        deadline = time.monotonic() + timeout
        with Client(load(str(self.kubeconfig))) as api:
            while time.monotonic() < deadline:
                for proc in started:
                    if not proc.alive():
                        raise ClusterError(
                            f"{proc.name} exited with {proc.popen.returncode}:\n{proc.log_tail()}"
                        )
                listed = api.list(NODES)
                ready = [
                    n
                    for n in listed["items"]
                    if _node_ready(n) and n["metadata"]["name"].startswith(prefix)
                ]
                if len(ready) >= nodes:
                    return
                time.sleep(0.5)
        raise ClusterError(f"nodes did not become Ready within {timeout:.0f}s; see {self.logs}")

    def down(self) -> list[str]:
        """Stop what `up` started (by PID), then remove the pods' containers."""
        stopped = []
        recorded = self.recorded()
        for name, rec in reversed(list(recorded.items())):
            pid = int(rec["pid"])
            if processes.pid_alive(pid):
                processes.stop_pid(pid, timeout=40 if name.startswith("kubelet") else 10)
                stopped.append(name)
        nodes = [rec["node"] for rec in recorded.values() if "node" in rec]
        removed = remove_node_containers(nodes)
        if removed:
            stopped.append(f"{removed} pod container(s)")
        self.pid_file.unlink(missing_ok=True)
        return stopped


def check_node_prefix(prefix: str) -> None:
    """Node names must be DNS subdomains: the prefix plus a number has to be one."""
    from api.labels import dns1123_subdomain_errors

    errors = dns1123_subdomain_errors(f"{prefix}1")
    if errors:
        raise ClusterError(f"--node-prefix {prefix!r}: node names would be invalid: {errors[0]}")


def remove_node_containers(nodes: list[str]) -> int:
    """Containers the kubelets of these nodes left in Docker (by their node label)."""
    if not nodes:
        return 0
    import docker
    import docker.errors

    client = docker.from_env()
    count = 0
    for node in nodes:
        # the low-level list: the SDK's high-level one fails when a container goes mid-list
        for entry in client.api.containers(
            all=True, filters={"label": [f"{NODE_CONTAINER_LABEL}={node}"]}
        ):
            with contextlib.suppress(docker.errors.NotFound):
                client.api.remove_container(entry["Id"], force=True)
                count += 1
    return count


def proxy_lock_holder() -> int | None:
    """The PID of a live proxy holding this host's proxy lock, if any."""
    try:
        text = Path(PROXY_LOCK_FILE).read_text().strip()
    except OSError:
        return None
    if not text.isdigit() or not processes.pid_alive(int(text)):
        return None
    with open(PROXY_LOCK_FILE) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return int(text)
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


def _wait_proxy_serving(proxy: processes.Process, timeout: float = 20) -> None:
    """The proxy is up once it holds the host's proxy lock (one proxy per host)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not proxy.alive():
            raise ClusterError(f"the proxy exited:\n{proxy.log_tail()}")
        if proxy_lock_holder() == proxy.pid:
            return
        time.sleep(0.2)
    raise ClusterError(f"the proxy did not start serving within {timeout:.0f}s")


def _kubelet_port(index: int) -> int:
    """10250 for the first node as in Kubernetes, unless taken (another cluster or test
    on this host); then any free port."""
    port = FIRST_KUBELET_PORT + index - 1
    try:
        with socket.socket() as s:
            s.bind(("0.0.0.0", port))
    except OSError:
        return processes.free_port()
    return port


def _node_ready(node: dict) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (node.get("status") or {}).get("conditions") or []
    )


def _host_memory_mib() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) // 1024
    return 4096


def merge_into_kube_config(kubeconfig: Path, target: Path) -> None:
    """Add (or replace) a `minik` cluster, user and context in ~/.kube/config."""
    ours = yaml.safe_load(kubeconfig.read_text())
    try:
        theirs = yaml.safe_load(target.read_text()) or {}
    except OSError:
        theirs = {}
    theirs.setdefault("apiVersion", "v1")
    theirs.setdefault("kind", "Config")
    for section in ("clusters", "users", "contexts"):
        entries = [e for e in theirs.get(section) or [] if e.get("name") != "minik"]
        theirs[section] = entries + ours[section]
    theirs.setdefault("current-context", "minik")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(theirs, sort_keys=False))
    target.chmod(0o600)


def _print_up(cluster: LocalCluster, record: dict[str, dict]) -> None:
    print(f"minik is up (data dir {cluster.data_dir})")
    for name, rec in record.items():
        extra = f"  {rec['url']}" if "url" in rec else ""
        print(f"  {name:<11} pid {rec['pid']:<8} log {cluster.logs / (name + '.log')}{extra}")
    print(f"kubeconfig: {cluster.kubeconfig} (also ~/.minik/kubeconfig)")
    print("next:")
    print("  .venv/bin/minikctl get nodes")
    print(f"  kubectl --kubeconfig {cluster.kubeconfig} get pods -A")
    print("  docker build -t my-image:v1 examples/web && .venv/bin/minikctl apply -f examples/")


def _status(cluster: LocalCluster) -> int:
    recorded = cluster.recorded()
    if not recorded:
        print(f"no minik cluster recorded in {cluster.data_dir}")
        return 1
    running = cluster.running()
    healthy = True
    for name, rec in recorded.items():
        state = "running" if name in running else "stopped"
        if name == "apiserver" and name in running:
            ok = processes.http_ok(f"{rec['url']}/readyz", str(cluster.pki / "ca.crt"))
            state += ", ready" if ok else ", not ready"
            healthy &= ok
        print(f"{name:<11} pid {rec['pid']:<8} {state}")
    return 0 if healthy and len(running) == len(recorded) else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="minik", description="run a local minik cluster")
    sub = p.add_subparsers(dest="command", required=True)
    default_dir = os.environ.get("MINIK_DATA_DIR", "~/.minik")
    up = sub.add_parser("up", help="start a local cluster")
    up.add_argument("--nodes", type=int, default=1)
    up.add_argument("--data-dir", default=default_dir)
    up.add_argument("--etcd-servers", default=None, help="use this etcd instead of starting one")
    up.add_argument("--api-port", type=int, default=6443)
    up.add_argument(
        "--node-ip",
        default="127.0.0.1",
        help="node address: LoadBalancer and NodePort services answer here",
    )
    up.add_argument(
        "--node-grace-period",
        type=int,
        default=40,
        metavar="SECONDS",
        help="a node silent this long is marked NotReady/Unknown",
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
        "--merge-kubeconfig",
        action="store_true",
        help="also add a `minik` context to ~/.kube/config for kubectl",
    )
    for name in ("down", "status"):
        sub.add_parser(name).add_argument("--data-dir", default=default_dir)
    args = p.parse_args(argv)
    cluster = LocalCluster(Path(args.data_dir))
    try:
        if args.command == "up":
            if args.nodes < 1:
                raise ClusterError("--nodes must be at least 1")
            check_node_prefix(args.node_prefix)
            options = UpOptions(
                args.node_ip,
                args.node_grace_period,
                args.toleration_seconds,
                upstream_dns=args.upstream_dns,
                node_prefix=args.node_prefix,
                pod_network=args.pod_network,
            )
            record = cluster.up(args.etcd_servers, args.api_port, args.nodes, options)
            home_kubeconfig = Path("~/.minik/kubeconfig").expanduser()
            if home_kubeconfig.resolve() != cluster.kubeconfig:
                home_kubeconfig.parent.mkdir(parents=True, exist_ok=True)
                home_kubeconfig.write_text(cluster.kubeconfig.read_text())
                home_kubeconfig.chmod(0o600)
            if args.merge_kubeconfig:
                merge_into_kube_config(cluster.kubeconfig, Path("~/.kube/config").expanduser())
            _print_up(cluster, record)
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
