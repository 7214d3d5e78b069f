"""`minik up | down | status`: a whole local cluster from one command.

Each component is its own process, started by `deploy/processes.py`, logging to
DATA_DIR/logs/<component>.log; their PIDs go to DATA_DIR/pids.json so `down` stops
exactly what `up` started. The data dir keeps etcd's data, the tokens and the
kubeconfig, so `up` on the same dir brings the same cluster back."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

import yaml

from client.kubeconfig import write_kubeconfig
from deploy import processes

COMPONENT_USERS = [
    ("admin", "system:masters"),
    ("kube-scheduler", "system:kube-scheduler"),
    ("kube-controller-manager", "system:kube-controller-manager"),
    ("kubelet", "system:nodes"),
    ("kube-proxy", "system:node-proxier"),
]


class ClusterError(Exception):
    pass


class LocalCluster:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.expanduser().resolve()
        self.logs = self.data_dir / "logs"
        self.pid_file = self.data_dir / "pids.json"
        self.token_file = self.data_dir / "tokens.csv"
        self.kubeconfig = self.data_dir / "kubeconfig"

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

    def tokens(self) -> dict[str, str]:
        if self.token_file.exists():
            out = {}
            for line in self.token_file.read_text().splitlines():
                parts = line.split(",")
                if len(parts) >= 2:
                    out[parts[1]] = parts[0]
            if all(user in out for user, _ in COMPONENT_USERS):
                return out
        return processes.write_token_file(self.token_file, COMPONENT_USERS)

    def up(self, etcd_servers: str | None, api_port: int, nodes: int) -> dict[str, dict]:
        if self.running():
            raise ClusterError(
                f"a minik cluster already runs from {self.data_dir} "
                "(`minik status` shows it; `minik down` stops it)"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        tokens = self.tokens()
        started: dict[str, processes.Process] = {}
        record: dict[str, dict] = {}
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
                started["etcd"] = etcd
                etcd_url = f"http://127.0.0.1:{client_port}"
                record["etcd"] = {"pid": etcd.pid, "url": etcd_url}
                self._save(record)
            api = processes.start_apiserver(
                etcd_url,
                api_port,
                self.token_file,
                self.logs / "apiserver.log",
                self.data_dir / "pki",
            )
            started["apiserver"] = api
            server = f"https://127.0.0.1:{api_port}"
            record["apiserver"] = {"pid": api.pid, "url": server}
            self._save(record)
        except processes.StartError as err:
            for proc in reversed(list(started.values())):
                proc.stop()
            self.pid_file.unlink(missing_ok=True)
            raise ClusterError(str(err)) from err
        write_kubeconfig(
            self.kubeconfig, server, tokens["admin"], ca_file=self.data_dir / "pki" / "ca.crt"
        )
        return record

    def _save(self, record: dict[str, dict]) -> None:
        self.pid_file.write_text(json.dumps(record, indent=2))

    def down(self) -> list[str]:
        stopped = []
        for name, rec in reversed(list(self.recorded().items())):
            pid = int(rec["pid"])
            if processes.pid_alive(pid):
                processes.stop_pid(pid)
                stopped.append(name)
        self.pid_file.unlink(missing_ok=True)
        return stopped


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


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="minik", description="run a local minik cluster")
    sub = p.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start a local cluster")
    up.add_argument("--nodes", type=int, default=1)
    up.add_argument("--data-dir", default=os.environ.get("MINIK_DATA_DIR", "~/.minik"))
    up.add_argument("--etcd-servers", default=None, help="use this etcd instead of starting one")
    up.add_argument("--api-port", type=int, default=6443)
    up.add_argument(
        "--merge-kubeconfig",
        action="store_true",
        help="also add a `minik` context to ~/.kube/config for kubectl",
    )
    for name in ("down", "status"):
        s = sub.add_parser(name)
        s.add_argument("--data-dir", default=os.environ.get("MINIK_DATA_DIR", "~/.minik"))
    args = p.parse_args(argv)
    cluster = LocalCluster(Path(args.data_dir))
    try:
        if args.command == "up":
            record = cluster.up(args.etcd_servers, args.api_port, args.nodes)
            home_kubeconfig = Path("~/.minik/kubeconfig").expanduser()
            if home_kubeconfig.resolve() != cluster.kubeconfig:
                home_kubeconfig.parent.mkdir(parents=True, exist_ok=True)
                home_kubeconfig.write_text(cluster.kubeconfig.read_text())
                home_kubeconfig.chmod(0o600)
            if args.merge_kubeconfig:
                merge_into_kube_config(cluster.kubeconfig, Path("~/.kube/config").expanduser())
            print(f"minik is up (data dir {cluster.data_dir})")
            for name, rec in record.items():
                extra = f"  {rec['url']}" if "url" in rec else ""
                print(
                    f"  {name:<11} pid {rec['pid']:<8} log {cluster.logs / (name + '.log')}{extra}"
                )
            print(f"kubeconfig: {cluster.kubeconfig} (also ~/.minik/kubeconfig)")
            print(
                "next: minikctl get namespaces   |   "
                f"kubectl --kubeconfig {cluster.kubeconfig} get ns"
            )
        elif args.command == "down":
            stopped = cluster.down()
            print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
        else:
            running = cluster.running()
            recorded = cluster.recorded()
            if not recorded:
                print(f"no minik cluster recorded in {cluster.data_dir}")
                return 1
            for name, rec in recorded.items():
                state = "running" if name in running else "stopped"
                print(f"{name:<11} pid {rec['pid']:<8} {state}")
            return 0 if len(running) == len(recorded) else 1
    except ClusterError as err:
        print(f"minik: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
