"""`minik up --hosts`: each worker host joins the cluster the kubeadm way, as `minik
join` joins a machine, instead of being handed credentials by `up`.

Once the apiserver answers, `up` makes a bootstrap token (as `minik token create`),
discovers the CA through cluster-info pinned by its hash (deploy/discovery.discover_ca),
and writes each host's configuration directory (deploy/nodefiles, kubeadm's
/etc/kubernetes, here DATA_DIR/nodes/<node>/kubernetes): the bootstrap kubeconfig, and
the proxy's kubeconfig with a kube-system/kube-proxy ServiceAccount token asked for
with the bootstrap token. The host's supervised components wait for those files
(supervisor.Component.start_after_file): the kubelet TLS-bootstraps with the token
(its CSR, signer kubernetes.io/kube-apiserver-client-kubelet, auto-approved) and is
then system:node:<name>, writing kubelet.conf; the network agent, which patches only
its own Node, starts with that kubelet.conf; the proxy with its ServiceAccount token.

A restarted kubelet keeps the certificate it was issued (kubelet-client-current.pem,
renewed by --rotate-certificates) and needs no token: a later `up` joins only a host
whose kubelet holds no valid one (or whose files are gone), with a new token then."""

from __future__ import annotations

import time
from pathlib import Path

from client.kubeconfig import KubeConfig
from client.rest import Client
from deploy import hostcontrolplanes
from deploy.discovery import create_token, discover_ca
from deploy.hostplan import Host, Plan
from deploy.jointoken import DEFAULT_TTL_SECONDS, ca_cert_hash, generate_token
from deploy.nodefiles import (
    NodeFiles,
    has_client_certificate,
    write_bootstrap,
    write_ca,
    write_proxy_kubeconfig,
)

JOIN_DIR = "kubernetes"  # in the kubelet's root dir: the host's /etc/kubernetes
TOKEN_DESCRIPTION = "minik up --hosts: the worker hosts join with it"


def node_files(data_dir: Path, node: str) -> NodeFiles:
    return NodeFiles(data_dir / "nodes" / node / JOIN_DIR)


def cert_dir(data_dir: Path, node: str) -> Path:
    """The kubelet's --cert-dir: <root-dir>/pki, where its TLS bootstrap stores."""
    return data_dir / "nodes" / node / "pki"


def forget_unjoined(data_dir: Path, plan: Plan) -> list[str]:
    """At a fresh `up`: a host whose kubelet holds no valid client certificate joins
    again, so its bootstrap kubeconfig (an old token's) and kubelet.conf go now, before
    its components start waiting for them. The nodes that will join."""
    again = []
    for host in plan.hosts:
        if not has_client_certificate(cert_dir(data_dir, host.node)):
            files = node_files(data_dir, host.node)
            files.bootstrap.unlink(missing_ok=True)
            files.kubelet.unlink(missing_ok=True)
            again.append(host.node)
    return again


def unjoined(data_dir: Path, plan: Plan) -> list[Host]:
    """Hosts missing a file their components wait for (bootstrap or proxy kubeconfig)."""
    files = {h.node: node_files(data_dir, h.node) for h in plan.hosts}
    return [
        h
        for h in plan.hosts
        if not (files[h.node].bootstrap.exists() and files[h.node].proxy.exists())
    ]


def hosts_server(data_dir: Path, machine_server: str) -> str:
    """The apiserver as a worker host reaches it: with control-plane hosts its own
    apilb (deploy/hostcontrolplanes), else the machine's address."""
    if hostcontrolplanes.read_record(data_dir) is not None:
        return hostcontrolplanes.LOCAL_API
    return machine_server


def join_hosts(data_dir: Path, plan: Plan, admin: KubeConfig, timeout: float) -> list[str]:
    """Join every unjoined host with one new bootstrap token; the nodes joined."""
    hosts = unjoined(data_dir, plan)
    if not hosts:
        return []
    deadline = time.monotonic() + timeout
    token = generate_token()
    with Client(admin) as api:
        create_token(api, token, DEFAULT_TTL_SECONDS, TOKEN_DESCRIPTION)
    pin = ca_cert_hash((data_dir / "pki" / "ca.crt").read_bytes())
    ca_pem = discover_ca(admin.server, token, [pin], False, max(1.0, deadline - time.monotonic()))
    server = hosts_server(data_dir, admin.server)
    for host in hosts:
        files = node_files(data_dir, host.node)
        files.dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_ca(files, ca_pem)
        if not files.proxy.exists():
            # asked for from here (the machine), used from inside the host
            write_proxy_kubeconfig(files, server, token, token_server=admin.server)
        if not files.bootstrap.exists():
            write_bootstrap(files, server, token)  # the kubelet starts once it is there
    return [h.node for h in hosts]
