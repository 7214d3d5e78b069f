"""`minik token create|list|delete` and `minik join`, as `kubeadm token` and `kubeadm join`.

A token is a `bootstrap.kubernetes.io/token` Secret (deploy/jointoken). `minik join`
discovers the cluster CA as kubeadm's token discovery does: it reads the `cluster-info`
ConfigMap in kube-public (which `minik up` keeps, deploy/kubeadmbootstrap) over a TLS
connection it cannot verify yet, checks the JWS the bootstrapsigner put there for its
token (so the server knows the token), accepts the CA in it only when its public key
matches a `--ca-cert-hash` pin (or with `--discovery-token-unsafe-skip-ca-verification`),
then reads cluster-info again with that CA trusted. It writes a bootstrap kubeconfig with the token
and starts a kubelet under a supervisor of its own data dir (`minik down --data-dir D`
stops it) with `--bootstrap-kubeconfig`: the kubelet asks for its client certificate by a
CertificateSigningRequest, which the controller manager approves and signs, and renews it
before it expires (`--rotate-certificates`). Beside the kubelet, under the same
supervisor, it starts a proxy as kube-system's kube-proxy ServiceAccount (what kubeadm's
kube-proxy DaemonSet would run here), unless a proxy already holds this host's lock (one
per host) or --skip-proxy."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from api import bootstraptoken as bt
from api.clusterdefaults import DEFAULT_CLUSTER_DNS, DEFAULT_POD_NETWORK, PROXY_LOCK_FILE
from api.errors import ApiError, NotFound
from api.humanize import human_duration
from api.labels import dns1123_subdomain_errors
from api.resources import NODES, SECRETS
from api.timefmt import parse_duration
from client.errors import ConnectionFailed
from client.kubeconfig import KubeConfig, KubeconfigError, load
from client.rest import Client
from deploy import cluster as clusters
from deploy import processes, supervisor
from deploy.discovery import create_token, discover_ca
from deploy.jointoken import (
    DEFAULT_TTL_SECONDS,
    JoinError,
    ca_cert_hash,
    check_hash_format,
    generate_token,
    join_command,
    split_token,
)
from deploy.kubeadmbootstrap import (
    PROXY_SERVICE_ACCOUNT,
    SYSTEM_NAMESPACE,
)
from deploy.nodefiles import (
    NodeFiles,
    kubelet_bootstrap_flags,
    write_bootstrap,
    write_ca,
    write_proxy_kubeconfig,
)

KUBELET_SLOT = "kubelet"
PROXY_SLOT = "proxy"


# ---- tokens ------------------------------------------------------------------------


def _admin(args: argparse.Namespace) -> tuple[Client, KubeConfig]:
    path = args.kubeconfig or str(Path(args.data_dir).expanduser() / "kubeconfig")
    try:
        config = load(path)
    except KubeconfigError as err:
        raise JoinError(str(err)) from err
    return Client(config), config


def _ca_pem(config: KubeConfig) -> bytes:
    if config.certificate_authority_data:
        return config.certificate_authority_data.encode()
    if config.certificate_authority:
        return Path(config.certificate_authority).read_bytes()
    raise JoinError("the kubeconfig names no certificate authority to print a hash of")


def token_create(args: argparse.Namespace) -> int:
    token = args.token or generate_token()
    ttl = parse_duration(args.ttl)
    api, config = _admin(args)
    with api:
        create_token(api, token, ttl, args.description)
    if args.print_join_command:
        print(join_command(config.server, token, ca_cert_hash(_ca_pem(config))))
    else:
        print(token)
    return 0


def token_list(args: argparse.Namespace) -> int:
    api, _ = _admin(args)
    with api:
        items = api.list(SECRETS, namespace=bt.NAMESPACE)["items"]
    print(f"{'TOKEN':<24} {'TTL':<8} {'EXPIRES':<21} {'USAGES':<32} EXTRA GROUPS")
    now = time.time()
    for secret in items:
        if secret.get("type") != bt.SECRET_TYPE:
            continue
        token = f"{bt.data(secret, bt.TOKEN_ID_KEY)}.{bt.data(secret, bt.TOKEN_SECRET_KEY)}"
        when = bt.expires_at(secret)
        ttl = "<forever>" if when is None else human_duration(max(0.0, when - now))
        expires = bt.data(secret, bt.EXPIRATION_KEY) or "<never>"
        usages = ",".join(
            usage
            for usage, key in (
                ("authentication", bt.USAGE_AUTHENTICATION),
                ("signing", bt.USAGE_SIGNING),
            )
            if bt.data(secret, key) == "true"
        )
        groups = bt.data(secret, bt.EXTRA_GROUPS_KEY) or "<none>"
        print(f"{token:<24} {ttl:<8} {expires:<21} {usages:<32} {groups}")
    return 0


def token_delete(args: argparse.Namespace) -> int:
    api, _ = _admin(args)
    with api:
        for given in args.tokens:
            token_id = given.split(".", 1)[0]
            try:
                api.delete(SECRETS, f"{bt.SECRET_PREFIX}{token_id}", namespace=bt.NAMESPACE)
            except NotFound as err:
                raise JoinError(f"bootstrap token {token_id!r} not found") from err
            print(f'bootstrap token "{token_id}" deleted')
    return 0


# ---- discovery -----------------------------------------------------------------------


# ---- the proxy -------------------------------------------------------------------------


def proxy_component(kubeconfig: Path, node: str, node_ip: str) -> supervisor.Component:
    """One proxy, as `minik up` runs it but without a standby (deploy/cluster._proxy)."""
    metrics_port = processes.free_port()
    argv = [
        *clusters.PY, "proxy", "--kubeconfig", str(kubeconfig), "--node-name", node,
        "--bind-address", node_ip, "--node-ip", node_ip,
        "--cluster-dns", DEFAULT_CLUSTER_DNS,
        "--metrics-bind-address", f"127.0.0.1:{metrics_port}",
        "--lock-wait", "0",
    ]  # fmt: skip
    return supervisor.Component(
        PROXY_SLOT,
        argv,
        initial_backoff=0.2,
        ready_pid_file=PROXY_LOCK_FILE,
        extra={"metrics": f"http://127.0.0.1:{metrics_port}/metrics"},
    )


# ---- join ----------------------------------------------------------------------------


def join(args: argparse.Namespace) -> int:
    data_dir = Path(args.data_dir).expanduser().resolve()
    local = clusters.LocalCluster(data_dir)
    if local.supervisor_pid() is not None:
        raise JoinError(f"{data_dir} already runs a cluster or a joined node (`minik down`)")
    split_token(args.token)
    bad_name = dns1123_subdomain_errors(args.node_name)
    if bad_name:
        raise JoinError(f"--node-name {args.node_name!r}: {bad_name[0]}")
    pins = [check_hash_format(p) for p in args.ca_cert_hash]
    server = args.server.rstrip("/")
    ca_pem = discover_ca(
        server,
        args.token,
        pins,
        args.discovery_token_unsafe_skip_ca_verification,
        args.discovery_timeout,
    )
    print(f"[discovery] cluster CA {ca_cert_hash(ca_pem)} trusted; server {server}")
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o700)
    files = NodeFiles(data_dir)
    write_ca(files, ca_pem)
    write_bootstrap(files, server, args.token)
    kubeconfig = files.kubelet
    node = args.node_name
    root = data_dir / "nodes" / node
    port = args.kubelet_port or clusters.kubelet_port(1)
    argv = clusters.kubelet_argv(
        kubeconfig,
        node,
        root,
        port,
        clusters.host_memory_mib(),
        args.node_ip,
        args.pod_network,
        # serving: a self-signed certificate in <root>/pki (no CA key on this machine);
        # callers' client certificates checked against the cluster CA
        [*kubelet_bootstrap_flags(files), "--client-ca-file", str(files.ca_file)],
    )
    table = [clusters.kubelet_component(KUBELET_SLOT, argv, args.node_ip)]
    holder = None if args.skip_proxy else clusters.proxy_lock_holder()
    if not args.skip_proxy and holder is None:
        proxy_kubeconfig = write_proxy_kubeconfig(files, server, args.token)
        table.append(proxy_component(proxy_kubeconfig, node, args.node_ip))
    local.start_supervised(table)
    print(f"[kubelet-start] kubelet for node {node} started (logs {local.logs})")
    if holder is not None:
        # one proxy per host (network namespace): the host's lock is held already
        print(f"[proxy] not started: proxy pid {holder} already serves this host")
    elif not args.skip_proxy:
        print(f"[proxy] proxy started as {SYSTEM_NAMESPACE}/{PROXY_SERVICE_ACCOUNT}")
    try:
        _wait_node_ready(local, kubeconfig, node, args.timeout)
    except JoinError:
        local.down()
        raise
    print(f"This node has joined the cluster as system:node:{node} and is Ready.")
    print(f"Stop it with: minik down --data-dir {data_dir}")
    return 0


def _wait_node_ready(
    local: clusters.LocalCluster, kubeconfig: Path, node: str, timeout: float
) -> None:
    """The TLS bootstrap wrote the kubelet's kubeconfig, and, with the node's own
    credentials, its Node is Ready."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if local.supervisor_pid() is None:
            raise JoinError(f"the supervisor exited; see {local.logs / 'supervisor.log'}")
        if kubeconfig.exists():
            try:
                with Client(load(str(kubeconfig))) as api:
                    if clusters.node_ready(api.get(NODES, node)):
                        return
            except (ApiError, ConnectionFailed, KubeconfigError):
                pass
        time.sleep(0.5)
    rec = local.recorded().get(KUBELET_SLOT) or {}
    tail = "\n".join(rec.get("last_log") or [])
    raise JoinError(
        f"node {node} did not become Ready within {timeout:.0f}s; "
        f"see {local.logs / 'kubelet.log'}{chr(10) + tail if tail else ''}"
    )


# ---- command line ---------------------------------------------------------------------


def _duration(text: str) -> str:
    try:
        parse_duration(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r}") from err
    return text


def register(sub: argparse._SubParsersAction, default_dir: str) -> None:
    token = sub.add_parser("token", help="bootstrap tokens for joining machines (kubeadm token)")
    tsub = token.add_subparsers(dest="token_command", required=True)
    create = tsub.add_parser("create", help="create a bootstrap token and print it")
    create.add_argument("token", nargs="?", help="the token to create (default: a random one)")
    create.add_argument(
        "--ttl",
        type=_duration,
        default=f"{DEFAULT_TTL_SECONDS // 3600}h",
        help="how long the token is valid (0: forever)",
    )
    create.add_argument("--description", default="")
    create.add_argument(
        "--print-join-command",
        action="store_true",
        help="print the whole `minik join` command, not just the token",
    )
    create.set_defaults(func=token_create)
    tsub.add_parser("list", help="list bootstrap tokens").set_defaults(func=token_list)
    delete = tsub.add_parser("delete", help="delete bootstrap tokens (by id or token)")
    delete.add_argument("tokens", nargs="+")
    delete.set_defaults(func=token_delete)
    for p in (create, *(tsub.choices[n] for n in ("list", "delete"))):
        p.add_argument("--data-dir", default=default_dir)
        p.add_argument("--kubeconfig", help="an admin kubeconfig (default DATA_DIR/kubeconfig)")

    j = sub.add_parser("join", help="join this machine to a cluster as a node (kubeadm join)")
    j.add_argument("--server", required=True, help="the apiserver, https://HOST:PORT")
    j.add_argument("--token", required=True, help="a bootstrap token, <id>.<secret>")
    j.add_argument(
        "--ca-cert-hash",
        action="append",
        default=[],
        metavar="sha256:HEX",
        help="pin of the cluster CA's public key (repeatable)",
    )
    j.add_argument(
        "--discovery-token-unsafe-skip-ca-verification",
        action="store_true",
        help="trust whatever CA cluster-info holds (no pin): unsafe",
    )
    j.add_argument("--node-name", default=_hostname())
    j.add_argument("--data-dir", default="~/.minik-node")
    j.add_argument("--node-ip", default="127.0.0.1")
    j.add_argument("--pod-network", default=DEFAULT_POD_NETWORK)
    j.add_argument("--kubelet-port", type=int, default=0, help="default 10250 if free")
    j.add_argument(
        "--skip-proxy",
        action="store_true",
        help="do not start a proxy here (kubeadm: --skip-phases addon/kube-proxy)",
    )
    j.add_argument("--timeout", type=float, default=120, help="seconds to wait for Ready")
    j.add_argument(
        "--discovery-timeout",
        type=float,
        default=300,
        help="seconds to wait for cluster-info signed for the token (kubeadm: 5m)",
    )
    j.set_defaults(func=join)


def _hostname() -> str:
    import socket

    return socket.gethostname().lower()


def run(args: argparse.Namespace) -> int:
    """Run a token or join command; failures are one line on stderr and exit 1."""
    try:
        return int(args.func(args))
    except (JoinError, ValueError) as err:
        print(f"minik: {err}", file=sys.stderr)
    except ConnectionFailed as err:
        print(f"minik: {err.message}", file=sys.stderr)
    except ApiError as err:
        print(f"minik: {err.message}", file=sys.stderr)
    return 1
