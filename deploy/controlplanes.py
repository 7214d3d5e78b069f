"""`minik up --control-planes N`: an HA control plane on this machine's loopback.

What runs, each a supervised process (deploy/supervisor.py) like the rest of `minik up`:
- `etcd-1`…`etcd-N`: one etcd cluster of N members (`--initial-cluster` with every
  member's peer URL, TLS on client and peer URLs with etcd's own CA, as kubeadm's
  stacked etcd). A quorum of N//2+1 must live; with 3, one member may die.
- `apiserver-1`…`apiserver-N`: each with `--etcd-servers` listing every member, so
  each fails over between members by itself (apiserver/etcdclient.py).
- `apilb`: the client-side load balancer (python -m apilb, as k3s' agent load
  balancer) on `--api-port`, where a single apiserver would listen: the admin
  kubeconfig and every component's kubeconfig name it unchanged, and it forwards each
  connection to a healthy apiserver.
- `scheduler-1`…, `controller-1`…: one per control plane with `--leader-elect` (the
  Lease in kube-system picks the one that acts; Kubernetes' defaults 15 s / 10 s / 2 s).

`replicate` turns the one-control-plane table `minik up` builds into this one, so the
single and HA clusters share every flag. The ports are kept in DATA_DIR/controlplanes.json:
etcd members know each other by their peer URLs, which must survive a `down` and `up`."""

from __future__ import annotations

import dataclasses
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from deploy import processes, supervisor

LAYOUT_FILE = "controlplanes.json"
REPLICATED = ("scheduler", "controller")  # leader-elected, one per control plane


class ControlPlaneError(Exception):
    pass


@dataclass(frozen=True)
class Member:
    """One control plane's ports on loopback."""

    index: int
    etcd_client: int
    etcd_peer: int
    api_port: int

    @property
    def etcd_name(self) -> str:
        return f"etcd-{self.index}"

    @property
    def etcd_url(self) -> str:
        return f"https://127.0.0.1:{self.etcd_client}"

    @property
    def peer_url(self) -> str:
        return f"https://127.0.0.1:{self.etcd_peer}"

    @property
    def api_url(self) -> str:
        return f"https://127.0.0.1:{self.api_port}"


def check_count(n: int) -> None:
    """etcd's quorum: an even count tolerates no more failures than one less."""
    if n < 1 or n % 2 == 0:
        raise ControlPlaneError(f"--control-planes must be odd (1, 3, 5…), got {n}")


def layout(data_dir: Path, n: int) -> list[Member]:
    """This data dir's members: read back when it has some (the etcd members' peer URLs
    are in their data), else new free ports, saved."""
    path = data_dir / LAYOUT_FILE
    if path.exists():
        members = [Member(**m) for m in json.loads(path.read_text())]
        if len(members) != n:
            raise ControlPlaneError(
                f"{data_dir} holds a control plane of {len(members)} member(s), not {n}: "
                "changing the member count is not supported (use a new --data-dir)"
            )
        return members
    if (data_dir / "etcd").exists():
        raise ControlPlaneError(
            f"{data_dir} holds a single-member etcd: an HA control plane needs a new --data-dir"
        )
    members = [
        Member(i, processes.free_port(), processes.free_port(), processes.free_port())
        for i in range(1, n + 1)
    ]
    path.write_text(json.dumps([dataclasses.asdict(m) for m in members], indent=2))
    return members


def replicate(
    table: list[supervisor.Component], data_dir: Path, n: int
) -> list[supervisor.Component]:
    """The one-control-plane table of `minik up` (etcd, apiserver on the API port, …)
    as N control planes behind `apilb` on that port."""
    check_count(n)
    if not any(c.name == "etcd" for c in table):
        raise ControlPlaneError("--control-planes runs its own etcd members: drop --etcd-servers")
    members = layout(data_dir, n)
    out: list[supervisor.Component] = []
    for component in table:
        if component.name == "etcd":
            out.extend(etcd_members(component, data_dir, members))
        elif component.name == "apiserver":
            apiservers = apiserver_replicas(component, members)
            out.extend(apiservers)
            out.append(load_balancer(component, apiservers))
        elif component.name in REPLICATED:
            out.extend(leader_elected(component, n))
        else:
            out.append(component)
    return out


def etcd_members(
    single: supervisor.Component, data_dir: Path, members: list[Member]
) -> list[supervisor.Component]:
    """N etcd members with the single etcd's TLS. Only the last has a ready URL: the
    supervisor starts the others without waiting, and a member is healthy only once a
    quorum has started."""
    tls = processes.etcd_pki(data_dir / "pki")
    cluster = ",".join(f"{m.etcd_name}={m.peer_url}" for m in members)
    out = []
    for m in members:
        argv = processes.etcd_argv(
            data_dir / m.etcd_name,
            m.etcd_client,
            m.etcd_peer,
            tls=tls,
            name=m.etcd_name,
            initial_cluster=cluster,
        )
        last = m is members[-1]
        out.append(
            dataclasses.replace(
                single,
                name=m.etcd_name,
                argv=argv,
                ready_url=f"{m.etcd_url}/health" if last else None,
                extra={"url": m.etcd_url},
            )
        )
    return out


def apiserver_replicas(
    single: supervisor.Component, members: list[Member]
) -> list[supervisor.Component]:
    """The single apiserver's command line once per member: its own port, every etcd
    member. None gates the start order; the balancer's readiness does."""
    servers = ",".join(m.etcd_url for m in members)
    out = []
    for m in members:
        argv = set_flag(single.argv, "--etcd-servers", servers)
        argv = set_flag(argv, "--secure-port", str(m.api_port))
        extra = {"url": m.api_url, "metrics": f"{m.api_url}/metrics"}
        out.append(
            dataclasses.replace(
                single, name=f"apiserver-{m.index}", argv=argv, ready_url=None, extra=extra
            )
        )
    return out


def load_balancer(
    single: supervisor.Component, apiservers: list[supervisor.Component]
) -> supervisor.Component:
    """apilb on the single apiserver's address, in front of the replicas; ready when
    /readyz answers through it (at least one apiserver is ready)."""
    listen = single.extra["url"].removeprefix("https://")
    argv = [sys.executable, "-m", "apilb", "--listen", listen]
    for apiserver in apiservers:
        argv += ["--server", apiserver.extra["url"]]
    if single.ca_file:
        argv += ["--ca-file", single.ca_file]
    return supervisor.Component(
        "apilb",
        argv,
        ready_url=single.ready_url,
        ca_file=single.ca_file,
        initial_backoff=0.2,
        extra={"url": single.extra["url"]},
    )


def leader_elected(single: supervisor.Component, n: int) -> list[supervisor.Component]:
    """A scheduler or controller manager per control plane, with --leader-elect and its
    own metrics port."""
    out = []
    for i in range(1, n + 1):
        port = processes.free_port()
        argv = [*set_flag(single.argv, "--secure-port", str(port)), "--leader-elect"]
        extra = {**single.extra, "metrics": f"https://127.0.0.1:{port}/metrics"}
        out.append(dataclasses.replace(single, name=f"{single.name}-{i}", argv=argv, extra=extra))
    return out


def set_flag(argv: list[str], flag: str, value: str) -> list[str]:
    """`argv` with `flag`'s value (the next word) replaced; ControlPlaneError if absent."""
    if flag not in argv:
        raise ControlPlaneError(f"{flag} missing from {argv[:3]}")
    i = argv.index(flag)
    return [*argv[: i + 1], value, *argv[i + 2 :]]
