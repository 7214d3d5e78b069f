"""`minikctl service NAME --url`: where to reach a Service from this host (minik's own
command, in the spirit of `minikube service --url`; kubectl has no equivalent).

One URL per port: a LoadBalancer with an ingress address is reached there on its port;
NodePort and LoadBalancer services on a node's InternalIP (127.0.0.1 without one) at the
node port; ClusterIP services at the cluster IP, which the minik proxy holds on the
host's loopback so that the host reaches it too.
"""

from __future__ import annotations

import argparse
from typing import Any

from api.resources import by_kind
from minikctl.context import CLIError, Context
from minikctl.printing import render_rows

Obj = dict[str, Any]
SERVICES = by_kind("Service", "v1")
NODES = by_kind("Node", "v1")
LOCALHOST = "127.0.0.1"


def register(sub: Any, parents: list[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "service",
        aliases=["svc"],
        parents=parents,
        help="print the URLs that reach a service from this host",
        description="Print, one per port, the URLs that reach service NAME from this host.",
    )
    p.add_argument("name", metavar="NAME")
    p.add_argument("--url", action="store_true", help="print only the URLs, one per line")
    p.set_defaults(func=run)


def node_address(nodes: list[Obj]) -> str:
    """The first node's InternalIP (Ready nodes first); loopback when none has one."""

    def ready(node: Obj) -> bool:
        return any(
            c.get("type") == "Ready" and c.get("status") == "True"
            for c in (node.get("status") or {}).get("conditions") or []
        )

    for node in sorted(nodes, key=lambda n: not ready(n)):
        for addr in (node.get("status") or {}).get("addresses") or []:
            if addr.get("type") == "InternalIP" and addr.get("address"):
                return str(addr["address"])
    return LOCALHOST


def _scheme(port: Obj) -> str:
    protocol = (port.get("protocol") or "TCP").upper()
    return "http" if protocol == "TCP" else protocol.lower()


def _host(ip: str) -> str:
    return f"[{ip}]" if ":" in ip else ip


def service_urls(svc: Obj, nodes: list[Obj]) -> list[tuple[Obj, str]]:
    """(port, URL) for every port of the service."""
    meta, spec = svc.get("metadata") or {}, svc.get("spec") or {}
    name, kind = meta.get("name", ""), spec.get("type") or "ClusterIP"
    ports = spec.get("ports") or []
    if kind == "ExternalName":
        raise CLIError(
            f'service "{name}" is of type ExternalName: it is the DNS name '
            f"{spec.get('externalName', '')}, not an address in the cluster"
        )
    if not ports:
        raise CLIError(f'service "{name}" has no ports')
    ingress = ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    lb_host = next((i.get("ip") or i.get("hostname") for i in ingress if i), None)
    if kind == "LoadBalancer" and lb_host:
        return [(p, f"{_scheme(p)}://{_host(lb_host)}:{p.get('port')}") for p in ports]
    if kind in ("NodePort", "LoadBalancer"):
        host = node_address(nodes)
        return [(p, f"{_scheme(p)}://{_host(host)}:{p.get('nodePort')}") for p in ports]
    cluster_ip = spec.get("clusterIP")
    if not cluster_ip or cluster_ip == "None":
        raise CLIError(
            f'service "{name}" is headless (clusterIP: None): reach its pods by DNS name'
        )
    return [(p, f"{_scheme(p)}://{_host(cluster_ip)}:{p.get('port')}") for p in ports]


def run(ctx: Context, args: argparse.Namespace) -> int:
    assert SERVICES is not None and NODES is not None
    svc = ctx.client.get(SERVICES, args.name, ctx.namespace)
    kind = (svc.get("spec") or {}).get("type") or "ClusterIP"
    nodes = ctx.client.list(NODES).get("items") or [] if kind != "ClusterIP" else []
    urls = service_urls(svc, nodes)
    if args.url:
        for _, url in urls:
            ctx.print(url)
        return 0
    rows = [["NAMESPACE", "NAME", "PORT", "URL"]]
    for port, url in urls:
        label = (
            f"{port.get('name')}/{port.get('port')}" if port.get("name") else str(port.get("port"))
        )
        rows.append([ctx.namespace, args.name, label, url])
    ctx.print(render_rows(rows))
    return 0
