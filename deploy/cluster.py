"""`minik up | down | status`: a whole local cluster from one command.

Each component is its own process, started by `deploy/processes.py`, logging to
DATA_DIR/logs/<component>.log; their PIDs go to DATA_DIR/pids.json so `down` stops
exactly what `up` started. The data dir keeps etcd's data, the CA, the tokens and the
kubeconfigs, so `up` on the same dir brings the same cluster back."""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import fcntl
import ipaddress
import json
import os
import secrets
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from api.clusterdefaults import (
    DEFAULT_CLUSTER_DNS,
    DEFAULT_POD_NETWORK,
    NODE_CONTAINER_LABEL,
    PROXY_LOCK_FILE,
)
from api.privatefile import write_private
from client.kubeconfig import write_kubeconfig
from componentbase import addonsargv
from componentbase.pki import ca_key_path
from deploy import (
    certs,
    controlplanes,
    encryption,
    hostcontrolplanes,
    hostjoin,
    hostpodnet,
    hosts,
    podsecurity,
    processes,
    supervisor,
)
from deploy.hostplan import DEFAULT_HOSTS_CIDR, DEFAULT_HOSTS_POD_CIDR, Plan
from deploy.identities import (
    ADMIN,
    AUTHORIZATION_MODE,
    ensure_credentials,
    kubelet_kubeconfig,
)
from deploy.jointoken import JoinError
from deploy.nodefiles import kubelet_bootstrap_flags

NODE_PREFIX = "minik-node-"
SUPERVISOR = "supervisor"
FIRST_KUBELET_PORT = 10250


class ClusterError(Exception):
    pass


@dataclass(frozen=True)
class UpOptions:
    """Knobs of `minik up` beyond the node count."""

    node_ip: str = "127.0.0.1"  # LoadBalancer/NodePort services answer here
    node_grace_seconds: int = 50  # a silent node is NotReady after this (as Kubernetes 1.32+)
    toleration_seconds: int = 300  # then its pods are evicted after this
    upstream_dns: str | None = None  # the proxy's resolver for names outside the cluster
    node_prefix: str = NODE_PREFIX  # nodes are <prefix>1, <prefix>2, …
    pod_network: str = DEFAULT_POD_NETWORK  # the Docker network the kubelets' pods join
    # The ingress controller's ports on the node address: not 80/443, so a
    # LoadBalancer Service on port 80 (the proxy's, as in the walkthrough) keeps it.
    ingress_http_port: int = 8080
    ingress_https_port: int = 8443
    dashboard_port: int = 9090  # the live web dashboard, on 127.0.0.1 (it shows pod logs)
    event_ttl: float | None = None  # the apiserver's --event-ttl in seconds (None: its 1h)
    hosts: bool = False  # each node an isolated host (deploy/hosts.py)
    hosts_cidr: str = DEFAULT_HOSTS_CIDR
    hosts_pod_cidr: str = DEFAULT_HOSTS_POD_CIDR
    cluster_cidr: str | None = None  # set: the controller's --allocate-node-cidrs from it
    pod_network_backend: str = hostpodnet.HOST_GW  # with hosts: netagent's backend
    control_planes: int = 1  # >1: etcd members, apiservers behind apilb (deploy/controlplanes)

    def node_name(self, index: int) -> str:
        return f"{self.node_prefix}{index}"

    def toleration_flags(self) -> list[str]:
        return [
            "--default-not-ready-toleration-seconds",
            str(self.toleration_seconds),
            "--default-unreachable-toleration-seconds",
            str(self.toleration_seconds),
        ]

    def event_ttl_flags(self) -> list[str]:
        """kube-apiserver's --event-ttl, passed on only when `minik up` was given one."""
        return [] if self.event_ttl is None else ["--event-ttl", f"{self.event_ttl:g}s"]


class LocalCluster:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.expanduser().resolve()
        self.logs = self.data_dir / "logs"
        self.pid_file = self.data_dir / "pids.json"
        self.token_file = self.data_dir / "tokens.csv"
        self.kubeconfig = self.data_dir / "kubeconfig"
        self.pki = self.data_dir / "pki"
        self.repaired: list[str] | None = None  # after an `up` that repaired: what it started
        self.renewed: list[certs.Leaf] = []  # after an `up`: certificates it renewed

    # ---- records -----------------------------------------------------------

    def recorded(self) -> dict[str, dict]:
        """The components the supervisor records (pids.json), without its own entry."""
        try:
            data = json.loads(self.pid_file.read_text())
        except (OSError, ValueError):
            return {}
        return {name: rec for name, rec in data.items() if name != SUPERVISOR}

    def supervisor_pid(self) -> int | None:
        try:
            rec = json.loads(self.pid_file.read_text()).get(SUPERVISOR) or {}
        except (OSError, ValueError):
            return None
        pid = int(rec.get("pid") or 0)
        return pid if pid and processes.pid_alive(pid) else None

    def running(self) -> dict[str, dict]:
        return {
            name: rec
            for name, rec in self.recorded().items()
            if rec.get("pid") and processes.pid_alive(int(rec["pid"]))
        }

    # ---- up / repair / restart / down --------------------------------------

    def up(
        self, etcd_servers: str | None, api_port: int, nodes: int, options: UpOptions | None = None
    ) -> dict[str, dict]:
        """Start a cluster under a new supervisor, or repair this data dir's cluster:
        a live supervisor starts its dead components now; with none, a new supervisor
        adopts the components still running and starts only the dead ones."""
        options = options or UpOptions()
        self.repaired = None
        running = self.running()
        if self.supervisor_pid() is not None or (running and self.spec_file.exists()):
            self.repaired = [name for name in self.recorded() if name not in running]
            hosts.restart_engines(self.data_dir)
            if self.supervisor_pid() is not None:
                self._control("repair")
            else:
                self.repaired.insert(0, SUPERVISOR)
                self._start_supervisor()
            return self._wait_up(self._spec_nodes(), options.node_prefix, repairing=True)
        if not options.hosts and not processes.port_free(api_port):
            # else the readiness checks would meet that server's certificate, not ours,
            # and fail on verification until `up` gave up
            raise ClusterError(
                f"port {api_port} on 127.0.0.1 is in use (another cluster's apiserver?): "
                "stop what listens there, or choose another --api-port"
            )
        holder = None if options.hosts else proxy_lock_holder()
        if holder is not None:
            raise ClusterError(
                f"another minik proxy (pid {holder}) serves Services on this host; "
                "stop that cluster (or the compose lab) first"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        # the CA keys, the admin token and the encryption key live here: no other user
        # may even list it (the components all run as root)
        self.data_dir.chmod(0o700)
        self.pid_file.unlink(missing_ok=True)
        table = self.components(etcd_servers, api_port, nodes, options)
        supervisor.write_spec(self.spec_file, table)
        self._start_supervisor()
        try:
            return self._wait_up(nodes, options.node_prefix, repairing=False)
        except ClusterError:
            self._stop_supervisor()
            raise

    @property
    def spec_file(self) -> Path:
        return self.data_dir / "components.json"

    def _spec_nodes(self) -> int:
        return sum(1 for c in supervisor.read_spec(self.spec_file) if "node" in c.extra)

    def components(
        self, etcd_servers: str | None, api_port: int, nodes: int, options: UpOptions
    ) -> list[supervisor.Component]:
        """The table of what `minik up` runs, in start order (see COMPONENTS). Leaf
        certificates within 30 days of their end are renewed first (kubeadm renews
        them on upgrade); the processes started from the table load the new ones."""
        self.renewed = certs.renew_expiring(self.data_dir)
        node_names = [options.node_name(i) for i in range(1, nodes + 1)]
        # the hosts' kubelets get theirs by a CSR when they join (deploy/hostjoin)
        certified = [] if options.hosts else node_names
        credentials = ensure_credentials(self.token_file, self.pki, certified)
        plan = self._hosts(node_names, options) if options.hosts else None
        if plan:
            hostjoin.forget_unjoined(self.data_dir, plan)
        api_host = plan.gateway if plan else "127.0.0.1"  # the hosts reach it there
        etcd_url = etcd_servers
        etcd_flags: list[str] = []
        table: list[supervisor.Component] = []
        if not etcd_url:
            # TLS with client certificates: only the apiserver (and the supervisor's
            # health check) may read etcd, not any local user or hostNetwork pod
            tls = processes.etcd_pki(self.pki)
            etcd_flags = tls.apiserver_flags()
            client_port = processes.free_port()
            etcd_url = f"https://127.0.0.1:{client_port}"
            argv = processes.etcd_argv(
                self.data_dir / "etcd", client_port, processes.free_port(), tls=tls
            )
            cert, key = tls.healthcheck()
            table.append(
                supervisor.Component(
                    "etcd",
                    argv,
                    env=processes.ETCD_ENV,
                    ready_url=f"{etcd_url}/health",
                    ca_file=str(tls.ca),
                    cert_file=cert,
                    key_file=key,
                    extra={"url": etcd_url},
                )
            )
        server = f"https://{api_host}:{api_port}"
        ca = self.pki / "ca.crt"
        table.append(
            supervisor.Component(
                "apiserver",
                processes.apiserver_argv(
                    etcd_url,
                    api_port,
                    self.token_file,
                    self.pki,
                    [
                        *etcd_flags,
                        "--authorization-mode",
                        AUTHORIZATION_MODE,
                        "--enable-bootstrap-token-auth",  # machines join (issue 16)
                        *options.toleration_flags(),
                        *options.event_ttl_flags(),
                        *requestheader_flags(self.data_dir),
                        *admission_flags(self.data_dir),
                        *encryption_flags(self.data_dir),
                        *processes.kubelet_flags(
                            self.pki, verify=True, local=_local_address(options.node_ip)
                        ),
                    ],
                    bind=api_host,
                ),
                ready_url=f"{server}/readyz",
                ca_file=str(ca),
                extra={"url": server, "metrics": f"{server}/metrics"},
            )
        )
        write_kubeconfig(self.kubeconfig, server, credentials.admin_token, ca_file=ca)
        configs = {
            name: write_kubeconfig(
                self.data_dir / "kubeconfigs" / f"{name}.kubeconfig",
                server,
                ca_file=ca,
                client_cert=pair,
            )
            for name, pair in credentials.client_certs.items()
        }
        (self.data_dir / "kubeconfigs" / f"{ADMIN}.kubeconfig").unlink(missing_ok=True)
        context = ComponentContext(self.data_dir, configs, nodes, options, plan)
        for entry in COMPONENTS:
            table.extend(entry(context))
        if options.control_planes == 1:
            return link_component_statuses(table)
        try:
            if plan:  # each control plane in a namespace host of its own
                table = hostcontrolplanes.replicate(
                    table, self.data_dir, plan, options.control_planes, options.node_prefix
                )
            else:
                table = controlplanes.replicate(table, self.data_dir, options.control_planes)
        except controlplanes.ControlPlaneError as err:
            raise ClusterError(str(err)) from err
        return link_component_statuses(table)

    def _hosts(self, node_names: list[str], options: UpOptions) -> Plan:
        try:
            return hosts.bring_up(
                self.data_dir,
                node_names,
                options.node_prefix,
                options.hosts_cidr,
                options.cluster_cidr or options.hosts_pod_cidr,
                node_ipam=options.cluster_cidr is not None,
            )
        except hosts.HostsError as err:
            raise ClusterError(str(err)) from None

    def _start_supervisor(self) -> None:
        argv = [sys.executable, "-m", "deploy.supervisor", "--data-dir", str(self.data_dir)]
        proc = processes.spawn(SUPERVISOR, argv, self.logs / "supervisor.log")
        deadline = time.monotonic() + 10
        while self.supervisor_pid() != proc.pid:
            if not proc.alive() or time.monotonic() > deadline:
                raise ClusterError(f"the supervisor did not start:\n{proc.log_tail()}")
            time.sleep(0.05)

    def _stop_supervisor(self, timeout: float = 90) -> None:
        pid = self.supervisor_pid()
        if pid is not None:
            processes.stop_pid(pid, timeout)

    def _control(self, request: str) -> None:
        control = self.data_dir / "control"
        control.mkdir(parents=True, exist_ok=True)
        (control / request).touch()

    def _wait_up(
        self, nodes: int, prefix: str, repairing: bool, timeout: float = 120
    ) -> dict[str, dict]:
        """Every component running, the apiserver ready, the nodes Ready, the proxy
        serving; a component that keeps failing is reported with its last log lines.
        The hosts' components wait for their join (deploy/hostjoin), done once the
        control plane runs."""
        deadline = time.monotonic() + timeout
        self._wait_running(deadline, repairing, waiting_ok=True)
        self._ensure_join_bootstrap(max(1.0, deadline - time.monotonic()))
        self._join_hosts(max(1.0, deadline - time.monotonic()))
        self._wait_running(deadline, repairing, waiting_ok=False)
        self._wait_nodes_ready(nodes, prefix, max(1.0, deadline - time.monotonic()))
        _wait_proxy_serving(self, max(1.0, deadline - time.monotonic()))
        return self.recorded()

    def _wait_running(self, deadline: float, repairing: bool, waiting_ok: bool) -> None:
        """Every component running (or, with `waiting_ok`, waiting for its file)."""
        accepted = ("running", "waiting") if waiting_ok else ("running",)
        while time.monotonic() < deadline:
            if self.supervisor_pid() is None:
                raise ClusterError(f"the supervisor exited; see {self.logs / 'supervisor.log'}")
            recorded = self.recorded()
            for name, rec in recorded.items():
                if not repairing and int(rec.get("restarts") or 0) >= 2:
                    tail = "\n".join(rec.get("last_log") or [])
                    raise ClusterError(f"{name} exited with {rec.get('last_exit')}:\n{tail}")
            if recorded and all(r.get("state") in accepted for r in recorded.values()):
                return
            time.sleep(0.2)
        waiting = [n for n, r in self.recorded().items() if r.get("state") == "waiting"]
        detail = f" ({', '.join(waiting)} waiting for their join)" if waiting else ""
        raise ClusterError(f"components did not start in time{detail}; see {self.logs}")

    def _join_hosts(self, timeout: float) -> None:
        """The worker hosts not joined yet join with a new bootstrap token."""
        from client.kubeconfig import load

        found = hosts.read_record(self.data_dir)
        if found is None:
            return
        try:
            hostjoin.join_hosts(self.data_dir, found[0], load(str(self.kubeconfig)), timeout)
        except JoinError as err:
            raise ClusterError(f"the hosts' join: {err}") from err

    def _ensure_join_bootstrap(self, timeout: float) -> None:
        """kubeadm's bindings and cluster-info for joining machines (deploy/kubeadmbootstrap),
        reconciled at every `up`; retried while the apiserver's RBAC defaults settle."""
        from client.kubeconfig import load
        from client.rest import Client
        from deploy import kubeadmbootstrap

        config = load(str(self.kubeconfig))
        ca_pem = (self.pki / "ca.crt").read_bytes()
        deadline = time.monotonic() + timeout
        with Client(config) as api:
            while True:
                try:
                    kubeadmbootstrap.ensure(api, config.server, ca_pem)
                    return
                except Exception as err:
                    if time.monotonic() > deadline:
                        raise ClusterError(f"kubeadm's join bootstrap objects: {err}") from err
                    time.sleep(0.5)

    def start_supervised(self, table: list[supervisor.Component]) -> None:
        """Run `table` under a new supervisor of this data dir (`minik join`)."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        self.pid_file.unlink(missing_ok=True)
        supervisor.write_spec(self.spec_file, table)
        self._start_supervisor()

    def restart(self, name: str, timeout: float = 60) -> dict:
        """Restart one component through the supervisor (a new PID, running)."""
        recorded = self.recorded()
        if name not in recorded:
            raise ClusterError(f"no component {name!r}; components: {', '.join(recorded)}")
        if self.supervisor_pid() is None:
            raise ClusterError("the supervisor is not running: `minik up` repairs the cluster")
        before = recorded[name].get("pid")
        self._control(f"restart-{name}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rec = self.recorded().get(name) or {}
            if rec.get("pid") and rec.get("pid") != before and rec.get("state") == "running":
                return rec
            time.sleep(0.1)
        raise ClusterError(f"{name} did not restart within {timeout:.0f}s")

    def _wait_nodes_ready(self, nodes: int, prefix: str, timeout: float = 90) -> None:
        from api.resources import NODES
        from client.kubeconfig import load
        from client.rest import Client

        deadline = time.monotonic() + timeout
        with Client(load(str(self.kubeconfig))) as api:
            while time.monotonic() < deadline:
                with contextlib.suppress(Exception):
                    listed = api.list(NODES)
                    ready = [
                        n
                        for n in listed["items"]
                        if node_ready(n) and n["metadata"]["name"].startswith(prefix)
                    ]
                    if len(ready) >= nodes:
                        return
                time.sleep(0.5)
        raise ClusterError(f"nodes did not become Ready within {timeout:.0f}s; see {self.logs}")

    def down(self) -> list[str]:
        """Stop the supervisor (which stops every component in reverse order), then
        anything still recorded as running (by PID), then the pods' containers."""
        stopped: list[str] = []
        recorded = self.recorded()
        running_before = set(self.running())
        self._stop_supervisor()
        for name, rec in reversed(list(recorded.items())):
            pid = int(rec.get("pid") or 0)
            if pid and processes.pid_alive(pid):
                processes.stop_pid(pid, timeout=40 if name.startswith("kubelet") else 10)
        stopped.extend(name for name in recorded if name in running_before)
        nodes = [rec["node"] for rec in recorded.values() if "node" in rec]
        removed = remove_node_containers(nodes)
        if removed:
            stopped.append(f"{removed} pod container(s)")
        stopped.extend(hostcontrolplanes.tear_down(self.data_dir))
        stopped.extend(hosts.tear_down(self.data_dir))
        self.pid_file.unlink(missing_ok=True)
        return stopped


@dataclass(frozen=True)
class ComponentContext:
    """What a COMPONENTS entry needs to describe its processes."""

    data_dir: Path
    kubeconfigs: dict[str, Path]
    nodes: int
    options: UpOptions
    hosts: Plan | None = None  # `minik up --hosts`: each node's host


PY = [sys.executable, "-m"]


def _metrics_listener() -> tuple[list[str], dict[str, str]]:
    """`--secure-port` of a scheduler's or controller manager's /metrics listener on
    loopback (a free port, HTTPS; the apiserver checks its callers), and its URL for
    pids.json."""
    port = processes.free_port()
    return ["--secure-port", str(port)], {"metrics": f"https://127.0.0.1:{port}/metrics"}


def _scheduler(ctx: ComponentContext) -> list[supervisor.Component]:
    flags, extra = _metrics_listener()
    argv = [*PY, "scheduler", "--kubeconfig", str(ctx.kubeconfigs["kube-scheduler"]), *flags]
    return [supervisor.Component("scheduler", argv, extra=extra)]


def _controller(ctx: ComponentContext) -> list[supervisor.Component]:
    flags, extra = _metrics_listener()
    argv = [
        *PY,
        "controller",
        "--kubeconfig",
        str(ctx.kubeconfigs["kube-controller-manager"]),
        "--node-monitor-grace-period",
        f"{ctx.options.node_grace_seconds}s",
        *ctx.options.toleration_flags(),
        *signing_flags(ctx.data_dir / "pki"),
        *flags,
    ]
    if ctx.options.cluster_cidr:  # node IPAM: each Node's spec.podCIDR (controller/nodeipam)
        argv += ["--allocate-node-cidrs", f"--cluster-cidr={ctx.options.cluster_cidr}"]
    return [supervisor.Component("controller", argv, extra=extra)]


def link_component_statuses(table: list[supervisor.Component]) -> list[supervisor.Component]:
    """Each apiserver's `kubectl get componentstatuses` probes the scheduler and the
    controller manager of its own control plane (`apiserver-2`: `scheduler-2`), at the
    /healthz beside their /metrics: they listen on free ports, not Kubernetes' 10259
    and 10257 that an apiserver probes by default."""
    by_name = {c.name: c for c in table}
    linked = []
    for component in table:
        if component.name == "apiserver" or component.name.startswith("apiserver-"):
            suffix = component.name.removeprefix("apiserver")
            flags: list[str] = []
            for peer, flag in (
                ("scheduler", "--component-status-scheduler-url"),
                ("controller", "--component-status-controller-manager-url"),
            ):
                found = by_name.get(peer + suffix) or by_name.get(peer)
                metrics = found.extra.get("metrics") if found else None
                if metrics:
                    flags += [flag, metrics.removesuffix("/metrics") + "/healthz"]
            component = dataclasses.replace(component, argv=[*component.argv, *flags])
        linked.append(component)
    return linked


def signing_flags(pki: Path) -> list[str]:
    """As kubeadm runs kube-controller-manager: csrsigning signs with the cluster CA,
    the bootstrapsigner signs cluster-info for each bootstrap token and the tokencleaner
    removes expired ones (both off by default)."""
    return [
        "--controllers=*,bootstrapsigner,tokencleaner",
        f"--cluster-signing-cert-file={pki / 'ca.crt'}",
        f"--cluster-signing-key-file={ca_key_path(pki)}",
    ]


def kubelet_argv(
    kubeconfig: Path,
    name: str,
    root_dir: Path,
    port: int,
    memory_mib: int,
    node_ip: str,
    pod_network: str,
    tls_flags: list[str],
) -> list[str]:
    """How minik runs a kubelet: `minik up`'s nodes and a machine that `minik join`s."""
    return [
        *PY,
        "kubelet",
        "--kubeconfig",
        str(kubeconfig),
        "--node-name",
        name,
        "--root-dir",
        str(root_dir),
        "--port",
        str(port),
        "--cpu",
        str(os.cpu_count() or 1),
        "--memory",
        f"{memory_mib}Mi",
        "--node-ip",
        node_ip,
        "--cluster-dns",
        DEFAULT_CLUSTER_DNS,
        "--pod-network",
        pod_network,
        *tls_flags,
    ]


def kubelet_component(slot: str, argv: list[str], node_ip: str) -> supervisor.Component:
    port = argv[argv.index("--port") + 1]
    name = argv[argv.index("--node-name") + 1]
    host = f"[{node_ip}]" if ":" in node_ip else node_ip
    extra = {"node": name, "metrics": f"https://{host}:{port}/metrics"}
    return supervisor.Component(slot, argv, stop_timeout=40, extra=extra)


def _kubelets(ctx: ComponentContext) -> list[supervisor.Component]:
    memory_mib = host_memory_mib() // max(ctx.nodes, 1)
    out = []
    for i in range(1, ctx.nodes + 1):
        name = ctx.options.node_name(i)
        root = ctx.data_dir / "nodes" / name
        pki = root / "pki"  # as Kubernetes' /var/lib/kubelet/pki
        host = ctx.hosts.hosts[i - 1] if ctx.hosts else None
        ip = host.address if host else ctx.options.node_ip
        tls = processes.kubelet_serving_flags(ctx.data_dir / "pki", name, ip, pki)
        if host:  # a joining host: its kubelet TLS-bootstraps (deploy/hostjoin)
            files = hostjoin.node_files(ctx.data_dir, name)
            kubeconfig, tls = files.kubelet, [*tls, *kubelet_bootstrap_flags(files)]
        else:
            kubeconfig = ctx.kubeconfigs[kubelet_kubeconfig(name)]
        argv = kubelet_argv(
            kubeconfig,
            name,
            root,
            hosts.KUBELET_PORT if host else kubelet_port(i),
            memory_mib,
            ip,
            ctx.options.pod_network,
            tls,
        )
        if not host:
            out.append(kubelet_component(f"kubelet-{i}", argv, ip))
            continue
        argv = host.enter([*argv, *hosts.kubelet_flags(host)])
        kubelet = kubelet_component(f"kubelet-{i}", argv, ip)
        out.append(dataclasses.replace(kubelet, start_after_file=str(files.bootstrap)))
        # it patches only its own Node: as the kubelet, once its TLS bootstrap is done
        agent = hosts.netagent_component(i, host, files.kubelet, ctx.options.pod_network_backend)
        out.append(dataclasses.replace(agent, start_after_file=str(files.kubelet)))
    if ctx.hosts:
        out += hostpodnet.machine_components(ctx.hosts, ctx.kubeconfigs["kube-proxy"])
    return out


# Every Service's data plane is down until the proxy is back: its first restart after a
# stable run waits this long (a crash loop still doubles it up to the supervisor's cap).
PROXY_RESTART_SECONDS = 0.05


def _proxy(ctx: ComponentContext) -> list[supervisor.Component]:
    """The host's proxy, restarted at once when it dies: the supervisor wakes on its exit
    (SIGCHLD) and starts the next after PROXY_RESTART_SECONDS. A second proxy blocked on
    the host lock (`--lock-wait -1`) as a standby took over ~0.15 s sooner (its
    interpreter already ran), and held ~16 MiB of the idle cluster's memory for that."""
    o = ctx.options
    if ctx.hosts:  # one in each host, as the kube-proxy ServiceAccount (deploy/hostjoin)
        kubeconfigs = {
            h.node: hostjoin.node_files(ctx.data_dir, h.node).proxy for h in ctx.hosts.hosts
        }
        return hosts.host_components(ctx.data_dir, ctx.hosts, kubeconfigs, o.upstream_dns)
    metrics_port = processes.free_port()
    argv = [
        *PY,
        "proxy",
        "--kubeconfig",
        str(ctx.kubeconfigs["kube-proxy"]),
        "--node-name",
        o.node_name(1),
        "--bind-address",
        o.node_ip,
        "--node-ip",
        o.node_ip,
        "--cluster-dns",
        DEFAULT_CLUSTER_DNS,
        *(["--upstream-dns", o.upstream_dns] if o.upstream_dns else []),
        # a restarted proxy waits for its predecessor's lock, however long it takes to go
        "--metrics-bind-address",
        f"127.0.0.1:{metrics_port}",
        "--lock-wait",
        "-1",
    ]
    extra = {"metrics": f"http://127.0.0.1:{metrics_port}/metrics"}
    return [
        supervisor.Component(
            "proxy",
            argv,
            initial_backoff=PROXY_RESTART_SECONDS,
            ready_pid_file=PROXY_LOCK_FILE,
            extra=extra,
        )
    ]


def requestheader_secret(data_dir: Path) -> Path:
    """The secret the apiserver presents to aggregated servers (made once)."""
    path = data_dir / "requestheader-secret"
    if not path.exists():
        write_private(path, (secrets.token_hex(32) + "\n").encode())
    return path


def requestheader_flags(data_dir: Path) -> list[str]:
    return ["--requestheader-secret-file", str(requestheader_secret(data_dir))]


def admission_flags(data_dir: Path) -> list[str]:
    """Pod Security Standards: enforce baseline, warn and audit restricted, kube-system
    exempt (deploy/podsecurity.py); a namespace labelled
    `pod-security.kubernetes.io/enforce=privileged` opts out."""
    path = podsecurity.write_admission_config(data_dir / podsecurity.FILE_NAME)
    return podsecurity.flags(path)


def encryption_flags(data_dir: Path) -> list[str]:
    """Secrets encrypted at rest (aescbc, a key made once per cluster: deploy/encryption.py)."""
    return encryption.flags(encryption.ensure_encryption_config(data_dir / encryption.FILE_NAME))


def _metrics_flags(ctx: ComponentContext) -> list[str]:
    """The metrics server behind the aggregation layer (metrics.k8s.io)."""
    return [
        "--kubeconfig",
        str(ctx.kubeconfigs["metrics-server"]),
        "--port",
        str(processes.free_port()),
        "--metric-resolution",
        "15s",
        *requestheader_flags(ctx.data_dir),
    ]


def _ingress_flags(ctx: ComponentContext) -> list[str]:
    o = ctx.options
    return [
        "--kubeconfig",
        str(ctx.kubeconfigs["ingress"]),
        "--node-name",
        o.node_name(1),
        "--bind-address",
        o.node_ip,
        "--http-port",
        str(o.ingress_http_port),
        "--https-port",
        str(o.ingress_https_port),
    ]


def _dashboard_flags(ctx: ComponentContext, port: int) -> list[str]:
    """The live web page (read-only), on loopback: it shows what its user sees."""
    return [
        "--kubeconfig",
        str(ctx.kubeconfigs["dashboard"]),
        "--bind-address",
        "127.0.0.1",
        "--port",
        str(port),
        "--metrics-interval",
        "15s",
    ]


def _addons(ctx: ComponentContext) -> list[supervisor.Component]:
    """The ingress controller, the metrics server and the dashboard: one process
    (addons/), each with its own credentials and flags. When the dashboard's port is
    taken (another cluster's dashboard) a free one is used: `up` prints it."""
    o = ctx.options
    port = o.dashboard_port if processes.port_free(o.dashboard_port) else processes.free_port()
    argv = addonsargv.command_line(
        {
            "ingress": _ingress_flags(ctx),
            "metrics": _metrics_flags(ctx),
            "dashboard": _dashboard_flags(ctx, port),
        }
    )
    extra = {
        "ingress": f"http://{o.node_ip}:{o.ingress_http_port}",
        "dashboard": f"http://127.0.0.1:{port}/",
    }
    return [supervisor.Component(addonsargv.MODULE, [*PY, addonsargv.MODULE, *argv], extra=extra)]


# What `minik up` supervises after etcd and the apiserver, in start order: one entry
# per component kind, each giving its processes. Add a component with one line here.
COMPONENTS: list[Callable[[ComponentContext], list[supervisor.Component]]] = [
    _scheduler,
    _controller,
    _kubelets,
    _proxy,
    _addons,
]


def check_node_prefix(prefix: str) -> None:
    """Node names must be DNS subdomains: the prefix plus a number has to be one."""
    from api.labels import dns1123_subdomain_errors

    errors = dns1123_subdomain_errors(f"{prefix}1")
    if errors:
        raise ClusterError(f"--node-prefix {prefix!r}: node names would be invalid: {errors[0]}")


def check_pod_network_flags(args: argparse.Namespace) -> None:
    """--hosts' pod range is one of --hosts-pod-cidr (minik's subnets) and
    --cluster-cidr (node IPAM's); the backend is for hosts only; node IPAM is not yet
    for control planes in hosts."""
    if not args.hosts and args.pod_network_backend != hostpodnet.HOST_GW:
        raise ClusterError("--pod-network-backend is for --hosts (one engine has one bridge)")
    if args.allocate_node_cidrs and args.hosts and args.control_planes > 1:
        raise ClusterError(
            "--allocate-node-cidrs with --control-planes and --hosts is not supported yet "
            "(the control-plane hosts route minik's own per-host subnets only)"
        )
    if args.allocate_node_cidrs and args.hosts_pod_cidr != DEFAULT_HOSTS_POD_CIDR:
        raise ClusterError(
            "--hosts-pod-cidr is minik's own per-host subnets; with --allocate-node-cidrs "
            "the pod range is --cluster-cidr"
        )


def check_cluster_cidr(text: str) -> None:
    """--cluster-cidr's syntax before anything starts (the controller checks the rest)."""
    for part in text.split(","):
        try:
            ipaddress.ip_network(part.strip(), strict=False)
        except ValueError:
            raise ClusterError(f"--cluster-cidr: invalid CIDR address: {part}") from None


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


def proxy_lock_holder(lock_file: str = PROXY_LOCK_FILE) -> int | None:
    """The PID of a live proxy holding this host's proxy lock, if any."""
    try:
        text = Path(lock_file).read_text().strip()
    except OSError:
        return None
    if not text.isdigit() or not processes.pid_alive(int(text)):
        return None
    with open(lock_file) as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return int(text)
        fcntl.flock(handle, fcntl.LOCK_UN)
    return None


def _wait_proxy_serving(cluster: LocalCluster, timeout: float = 20) -> None:
    """The proxy is up once one of ours holds the host's proxy lock (one per host; each
    isolated host's proxy has its own lock file)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ours: dict[str, set[int]] = {}
        for name, rec in cluster.recorded().items():
            if "proxy" in name:
                lock = rec.get("lock", PROXY_LOCK_FILE)
                ours.setdefault(lock, set()).add(int(rec.get("pid") or 0))
        if ours and all(proxy_lock_holder(lock) in pids for lock, pids in ours.items()):
            return
        time.sleep(0.2)
    raise ClusterError(f"the proxy did not start serving within {timeout:.0f}s")


def _local_address(address: str) -> bool:
    """Whether the apiserver must be told its kubelets are local
    (--kubelet-allow-local-addresses): a loopback or link-local node address."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address == "localhost"
    return ip.is_loopback or ip.is_link_local or ip.is_unspecified


def kubelet_port(index: int) -> int:
    """10250 for the first node as in Kubernetes, unless taken (another cluster or test
    on this host); then any free port."""
    port = FIRST_KUBELET_PORT + index - 1
    try:
        with socket.socket() as s:
            s.bind(("0.0.0.0", port))
    except OSError:
        return processes.free_port()
    return port


def node_ready(node: dict) -> bool:
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (node.get("status") or {}).get("conditions") or []
    )


def host_memory_mib() -> int:
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
    write_private(target, yaml.safe_dump(theirs, sort_keys=False).encode())
