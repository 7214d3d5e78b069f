"""`minik up --control-planes N --hosts M`: each control plane in a namespace host of
its own on the hosts' switch, as kubeadm's stacked control-plane machines.

Control-plane host i (namespace `<prefix>cp<i>`, an address from the top of the
hosts' subnet, so the workers' addresses stay as `--hosts` alone gives them) runs,
inside its namespace (`nsenter --net`, as the workers' processes):
- etcd member `etcd-<i>`: clients on its address and loopback, peers on its address,
  Kubernetes' ports 2379/2380 (each host has its own);
- `apiserver-<i>` on 0.0.0.0:6443, advertising its address (the `kubernetes`
  Service's endpoint), every etcd member in --etcd-servers (its own first);
- `scheduler-<i>`, `controller-<i>` with --leader-elect, talking to their own host's
  apiserver at https://127.0.0.1:6443 (as kubeadm's scheduler.conf and
  controller-manager.conf name the local apiserver).
Control-plane hosts are not nodes (kubeadm's default: no kubelet there); no dockerd.

Clients reach the apiservers through client-side load balancers (as k3s' agent
load balancer), never one apiserver:
- each worker host runs `apilb-<j>` on 127.0.0.1:6443 inside its namespace over all
  the apiservers; its kubelet, proxy and network agent use that address;
- the machine runs `apilb` where the single apiserver would listen (the hosts'
  gateway, --api-port): kubectl, the metrics server, ingress and dashboard use it.
The apiserver's serving certificate and etcd's name every member's address.

The hosts are recorded in DATA_DIR/controlplanehosts.json as they are made;
`tear_down` removes exactly those namespaces (their links and routes go with them)."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import sys
from pathlib import Path

import yaml

from api.privatefile import write_private
from componentbase import addonsargv
from componentbase.pki import ensure_serving_cert
from deploy import hostnet, processes, supervisor
from deploy.controlplanes import REPLICATED, ControlPlaneError, check_count, set_flag
from deploy.hostplan import RUN_DIR, Host, Plan, Route, link_id

RECORD = "controlplanehosts.json"
API_PORT = 6443  # Kubernetes' secure port: each host has its own network stack
ETCD_CLIENT_PORT = 2379
ETCD_PEER_PORT = 2380
LOCAL_API = f"https://127.0.0.1:{API_PORT}"  # inside a host: its apilb or its apiserver
INHOST_KUBECONFIGS = "kubeconfigs-inhost"
# components that run inside a host and so dial LOCAL_API
IN_HOST = ("kubelet-", "netagent-", "proxy-", *REPLICATED)


def plan_members(data_dir: Path, plan: Plan, n: int, prefix: str) -> list[Host]:
    """The control-plane hosts: namespace `<prefix>cp<i>`, the i-th of the last n
    addresses of the hosts' subnet, switch port `c<i>`."""
    addresses = list(ipaddress.ip_network(plan.hosts_cidr).hosts())
    if len(addresses) < len(plan.hosts) + 1 + n:
        raise ControlPlaneError(f"{plan.hosts_cidr} has no room for {n} control-plane hosts")
    return [
        Host(
            index=i,
            node=f"{prefix}cp{i}",
            netns=f"{prefix}cp{i}",
            address=str(addresses[len(addresses) - n + i - 1]),
            pod_cidr="",  # not a node: no pods
            port=f"c{i}",
            dir=str(data_dir / "controlplanes" / f"{prefix}cp{i}"),
            run_dir=str(RUN_DIR / link_id(data_dir) / f"c{i}"),
        )
        for i in range(1, n + 1)
    ]


def read_record(data_dir: Path) -> tuple[list[Host], hostnet.Made] | None:
    try:
        data = json.loads((data_dir / RECORD).read_text())
    except (OSError, ValueError):
        return None
    members = [Host(**h) for h in data["members"]]
    made = hostnet.Made(**data["made"])
    made.saved = lambda: _write_record(data_dir, members, made)
    return members, made


def _write_record(data_dir: Path, members: list[Host], made: hostnet.Made) -> None:
    body = {"members": [dataclasses.asdict(m) for m in members], "made": made.to_dict()}
    write_private(data_dir / RECORD, json.dumps(body, indent=2).encode())


def bring_up(data_dir: Path, plan: Plan, n: int, prefix: str) -> list[Host]:
    """Make (or complete) the control-plane hosts on the plan's switch (which must
    exist), with routes to every worker's pod subnet (host-gw, as the workers' own)."""
    members = plan_members(data_dir, plan, n, prefix)
    previous = read_record(data_dir)
    if previous and previous[0] != members:
        raise ControlPlaneError(f"{data_dir} holds other control-plane hosts: `minik down` first")
    made = previous[1] if previous else hostnet.Made()
    held = [m.netns for m in members if hostnet.netns_exists(m.netns) and m.netns not in made.netns]
    if held:
        raise ControlPlaneError(f"namespaces already in use by something else: {', '.join(held)}")
    made.saved = lambda: _write_record(data_dir, members, made)
    made.saved()
    try:
        for member in members:
            hostnet.create_host(plan, member, made)
            for worker in plan.hosts:
                hostnet.add_route(Route(member.netns, worker.pod_cidr, worker.address), made)
    except hostnet.NetError as err:
        raise ControlPlaneError(f"{err} (`minik down` removes what was made)") from err
    return members


def tear_down(data_dir: Path) -> list[str]:
    """Remove the recorded control-plane hosts; names what it removed."""
    found = read_record(data_dir)
    if found is None:
        return []
    removed = hostnet.remove(found[1])
    (data_dir / RECORD).unlink(missing_ok=True)
    return removed


# ---- the supervised processes --------------------------------------------------------


def replicate(
    table: list[supervisor.Component], data_dir: Path, plan: Plan, n: int, prefix: str
) -> list[supervisor.Component]:
    """The one-control-plane table of `minik up --hosts` turned into N control-plane
    hosts, a balancer in each worker host and one on the machine."""
    check_count(n)
    if not any(c.name == "etcd" for c in table):
        raise ControlPlaneError("--control-planes runs its own etcd members: drop --etcd-servers")
    if (data_dir / "etcd").exists():
        raise ControlPlaneError(f"{data_dir} holds a single-member etcd: use a new --data-dir")
    members = bring_up(data_dir, plan, n, prefix)
    pki = data_dir / "pki"
    ensure_serving_cert(pki, (plan.gateway, *(m.address for m in members)))
    inhost = inhost_kubeconfigs(data_dir)
    out: list[supervisor.Component] = []
    for component in table:
        if component.name == "etcd":
            out.extend(etcd_members(component, data_dir, members))
        elif component.name == "apiserver":
            out.extend(apiservers(component, members))
            out.append(machine_balancer(component, members))
            out.extend(host_balancers(plan, members, component.ca_file))
        elif component.name in REPLICATED:
            out.extend(leader_elected(component, members))
        elif component.name == addonsargv.MODULE:  # the apiservers' aggregation layer dials metrics
            out.append(_metrics_on_gateway(component, plan.gateway))
        else:
            out.append(component)
    return [_in_host_kubeconfig(c, inhost) for c in out]


def _metrics_on_gateway(component: supervisor.Component, gateway: str) -> supervisor.Component:
    """The add-ons with the metrics server listening on the hosts' gateway, where the
    apiservers in the control-plane hosts reach it."""
    head, parts = addonsargv.split_command(component.argv)
    parts["metrics"] = [*parts["metrics"], "--bind-address", gateway]
    return dataclasses.replace(component, argv=[*head, *addonsargv.command_line(parts)])


def etcd_url(member: Host) -> str:
    return f"https://{member.address}:{ETCD_CLIENT_PORT}"


def etcd_members(
    single: supervisor.Component, data_dir: Path, members: list[Host]
) -> list[supervisor.Component]:
    """One etcd member in each control-plane host; only the last has a ready URL (a
    member is healthy only once a quorum has started)."""
    tls = processes.etcd_pki(data_dir / "pki", tuple(m.address for m in members))
    cluster = ",".join(f"etcd-{m.index}=https://{m.address}:{ETCD_PEER_PORT}" for m in members)
    out = []
    for m in members:
        argv = processes.etcd_argv(
            data_dir / f"etcd-{m.index}",
            ETCD_CLIENT_PORT,
            ETCD_PEER_PORT,
            tls=tls,
            name=f"etcd-{m.index}",
            initial_cluster=cluster,
        )
        peer = f"https://{m.address}:{ETCD_PEER_PORT}"
        local = f"https://127.0.0.1:{ETCD_CLIENT_PORT}"
        argv = set_flag(argv, "--listen-client-urls", f"{etcd_url(m)},{local}")
        argv = set_flag(argv, "--advertise-client-urls", etcd_url(m))
        argv = set_flag(argv, "--listen-peer-urls", peer)
        argv = set_flag(argv, "--initial-advertise-peer-urls", peer)
        last = m is members[-1]
        out.append(
            dataclasses.replace(
                single,
                name=f"etcd-{m.index}",
                argv=m.enter(argv),
                ready_url=f"{etcd_url(m)}/health" if last else None,
                extra={"url": etcd_url(m), "host": m.netns},
            )
        )
    return out


def apiservers(single: supervisor.Component, members: list[Host]) -> list[supervisor.Component]:
    """The single apiserver's command line in each control-plane host: 0.0.0.0:6443
    (the host's loopback serves its scheduler and controller manager), its address
    advertised, every etcd member (its own first)."""
    out = []
    for m in members:
        servers = [etcd_url(m), *(etcd_url(o) for o in members if o is not m)]
        argv = set_flag(single.argv, "--etcd-servers", ",".join(servers))
        argv = set_flag(argv, "--secure-port", str(API_PORT))
        argv = set_flag(argv, "--bind-address", "0.0.0.0")
        argv = [*argv, "--advertise-address", m.address]
        url = f"https://{m.address}:{API_PORT}"
        out.append(
            dataclasses.replace(
                single,
                name=f"apiserver-{m.index}",
                argv=m.enter(argv),
                ready_url=None,
                extra={"url": url, "metrics": f"{url}/metrics", "host": m.netns},
            )
        )
    return out


def _apilb_argv(listen: str, members: list[Host], ca_file: str | None) -> list[str]:
    argv = [sys.executable, "-m", "apilb", "--listen", listen]
    for m in members:
        argv += ["--server", f"https://{m.address}:{API_PORT}"]
    return argv + (["--ca-file", ca_file] if ca_file else [])


def machine_balancer(single: supervisor.Component, members: list[Host]) -> supervisor.Component:
    """apilb on the machine where the single apiserver would listen; ready when /readyz
    answers through it."""
    listen = single.extra["url"].removeprefix("https://")
    return supervisor.Component(
        "apilb",
        _apilb_argv(listen, members, single.ca_file),
        ready_url=single.ready_url,
        ca_file=single.ca_file,
        initial_backoff=0.2,
        extra={"url": single.extra["url"]},
    )


def host_balancers(
    plan: Plan, members: list[Host], ca_file: str | None
) -> list[supervisor.Component]:
    """apilb-<j> on 127.0.0.1:6443 inside worker host j (its kubelet, proxy and agent
    dial it)."""
    return [
        supervisor.Component(
            f"apilb-{h.index}",
            h.enter(_apilb_argv(f"127.0.0.1:{API_PORT}", members, ca_file)),
            initial_backoff=0.2,
            extra={"url": LOCAL_API, "host": h.netns},
        )
        for h in plan.hosts
    ]


def leader_elected(single: supervisor.Component, members: list[Host]) -> list[supervisor.Component]:
    """A scheduler or controller manager in each control-plane host, --leader-elect,
    its metrics listener on the host's address."""
    out = []
    for m in members:
        port = single.argv[single.argv.index("--secure-port") + 1]
        argv = [*single.argv, "--bind-address", m.address, "--leader-elect"]
        extra = {**single.extra, "metrics": f"https://{m.address}:{port}/metrics", "host": m.netns}
        out.append(
            dataclasses.replace(
                single, name=f"{single.name}-{m.index}", argv=m.enter(argv), extra=extra
            )
        )
    return out


def inhost_kubeconfigs(data_dir: Path) -> dict[str, str]:
    """Each component kubeconfig again, naming LOCAL_API: {original path: copy's path}."""
    source = data_dir / "kubeconfigs"
    target = data_dir / INHOST_KUBECONFIGS
    target.mkdir(parents=True, exist_ok=True)
    out = {}
    for path in sorted(source.glob("*.kubeconfig")):
        doc = yaml.safe_load(path.read_text())
        for entry in doc.get("clusters") or []:
            entry["cluster"]["server"] = LOCAL_API
        write_private(target / path.name, yaml.safe_dump(doc, sort_keys=False).encode())
        out[str(path)] = str(target / path.name)
    return out


def _in_host_kubeconfig(
    component: supervisor.Component, inhost: dict[str, str]
) -> supervisor.Component:
    if not component.name.startswith(IN_HOST):
        return component
    return dataclasses.replace(component, argv=[inhost.get(w, w) for w in component.argv])
