"""The apiserver's settings, parsed from Kubernetes-style flags."""

from __future__ import annotations

import argparse
import ipaddress
from dataclasses import dataclass, field

from api.clusterdefaults import DEFAULT_SERVICE_CIDR
from componentbase.flags import add_tls_flags, duration, tls_policy
from componentbase.logs import add_verbosity_flag
from componentbase.serving import DEFAULT_TLS_POLICY, TLSPolicy


@dataclass
class Config:
    etcd_servers: list[str] = field(default_factory=lambda: ["http://127.0.0.1:2379"])
    # TLS toward https etcd servers (apiserver/etcdclient.py)
    etcd_cafile: str | None = None
    etcd_certfile: str | None = None
    etcd_keyfile: str | None = None
    bind_address: str = "127.0.0.1"
    advertise_address: str | None = None
    port: int = 6443
    token_auth_file: str | None = None
    client_ca_file: str | None = None
    anonymous_auth: bool = True
    # bootstrap.kubernetes.io/token Secrets in kube-system authenticate (apiserver/bootstraptoken)
    enable_bootstrap_token_auth: bool = False
    authorization_mode: list[str] = field(default_factory=lambda: ["AlwaysAllow"])
    requestheader_secret_file: str | None = None
    # ServiceAccount tokens (apiserver/serviceaccount)
    service_account_key_files: list[str] = field(default_factory=list)
    service_account_signing_key_file: str | None = None
    service_account_issuers: list[str] = field(
        default_factory=lambda: ["https://kubernetes.default.svc.cluster.local"]
    )
    api_audiences: list[str] = field(default_factory=list)  # [] means the issuer
    service_account_max_token_expiration: float = 0.0  # 0: no cap
    admission_disabled: list[str] = field(default_factory=list)
    tls_cert_file: str | None = None
    tls_private_key_file: str | None = None
    cert_dir: str | None = None
    tls_policy: TLSPolicy = DEFAULT_TLS_POLICY  # --tls-min-version, --tls-cipher-suites
    service_cluster_ip_range: str = DEFAULT_SERVICE_CIDR
    service_node_port_range: tuple[int, int] = (30000, 32767)
    default_not_ready_toleration_seconds: int = 300
    default_unreachable_toleration_seconds: int = 300
    max_request_bytes: int = 3 * 1024 * 1024
    max_requests_inflight: int = 400  # kube-apiserver's defaults; 0: no limit
    max_mutating_requests_inflight: int = 200
    # kube-apiserver's bookmarkFrequency is a minute, its clients' HTTP/2 pings find dead
    # connections; over HTTP/1.1 minik's clients take a bookmark as the heartbeat
    # (client/rest.WATCH_SILENCE_SECONDS, three intervals). Each idle watch costs a
    # bookmark per interval on both ends: ~60 watches in an idle `minik up`.
    bookmark_interval_seconds: float = 15.0
    etcd_compaction_interval: float = 300.0
    event_ttl: float = 3600.0  # kube-apiserver's --event-ttl: Events live 1h after a write
    verbosity: int = 0  # -v, as klog's (componentbase.logs)
    workers: int = 1
    admission_control_config_file: str | None = None
    encryption_provider_config: str | None = None  # apiserver/encryption
    # How the apiserver reaches kubelets (apiserver/kubeletclient.py)
    kubelet_client_certificate: str | None = None
    kubelet_client_key: str | None = None
    kubelet_certificate_authority: str | None = None
    kubelet_allow_local_addresses: bool = False
    # What `kubectl get componentstatuses` probes (apiserver/componentstatus.py)
    component_status_scheduler_url: str = "https://127.0.0.1:10259/healthz"
    component_status_controller_manager_url: str = "https://127.0.0.1:10257/healthz"


def parse_port_range(text: str) -> tuple[int, int]:
    low, _, high = text.partition("-")
    try:
        lo, hi = int(low), int(high or low)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"invalid port range {text!r} (want LOW-HIGH)") from err
    if not 1 <= lo <= hi <= 65535:
        raise argparse.ArgumentTypeError(f"invalid port range {text!r}")
    return lo, hi


def parse_cidr(text: str) -> str:
    try:
        return str(ipaddress.ip_network(text, strict=False))
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"invalid CIDR {text!r}") from err


def _http_url(text: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme not in ("http", "https") or not parts.hostname or not port:
        raise argparse.ArgumentTypeError(f"want http(s)://HOST:PORT/PATH, got {text!r}")
    return text


def parse_bool(text: str) -> bool:
    """A Go bool flag's value (strconv.ParseBool)."""
    if text in ("1", "t", "T", "true", "TRUE", "True"):
        return True
    if text in ("0", "f", "F", "false", "FALSE", "False"):
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean {text!r}")


def parse_modes(text: str) -> list[str]:
    from apiserver.authz import parse_modes as parse

    try:
        return parse(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from err


def parse_args(argv: list[str] | None = None) -> Config:
    p = argparse.ArgumentParser(prog="python -m apiserver", description="minik API server")
    p.add_argument(
        "--etcd-servers", default="http://127.0.0.1:2379", help="comma-separated etcd client URLs"
    )
    p.add_argument(
        "--etcd-cafile", help="verify https etcd servers' certificates with this CA (PEM)"
    )
    p.add_argument(
        "--etcd-certfile",
        help="the client certificate presented to etcd (PEM), for its --client-cert-auth",
    )
    p.add_argument("--etcd-keyfile", help="the key of --etcd-certfile (PEM)")
    p.add_argument("--bind-address", default="127.0.0.1")
    p.add_argument("--advertise-address", help="address the `kubernetes` Service points at")
    p.add_argument("--secure-port", type=int, default=6443, dest="port", help="HTTPS port")
    p.add_argument("--token-auth-file", help='static token CSV: token,user,uid,"group1,group2"')
    p.add_argument(
        "--client-ca-file",
        help="authenticate client certificates signed by this CA (CN user, O groups)",
    )
    p.add_argument(
        "--enable-bootstrap-token-auth",
        type=parse_bool,
        nargs="?",
        const=True,
        default=False,
        help="authenticate bootstrap tokens (Secrets of type bootstrap.kubernetes.io/token "
        "in kube-system) as system:bootstrap:<id> in system:bootstrappers",
    )
    p.add_argument(
        "--anonymous-auth",
        type=parse_bool,
        nargs="?",
        const=True,
        default=True,
        help="serve unauthenticated requests as system:anonymous (off under AlwaysAllow, "
        "as in Kubernetes)",
    )
    p.add_argument(
        "--authorization-mode",
        type=parse_modes,
        default=["AlwaysAllow"],
        help="authorizers in order, comma-separated: AlwaysAllow, AlwaysDeny, Node, RBAC "
        "(kubeadm's: Node,RBAC)",
    )
    p.add_argument(
        "--requestheader-secret-file",
        help="a shared secret (first line) presented as a bearer token to aggregated API "
        "servers with X-Remote-User/X-Remote-Group (minik's stand-in for "
        "--proxy-client-cert-file)",
    )
    p.add_argument(
        "--service-account-key-file",
        action="append",
        default=[],
        help="PEM file of keys that verify ServiceAccount tokens (repeatable); default "
        "the signing key's public half",
    )
    p.add_argument(
        "--service-account-signing-key-file",
        help="the private key that signs ServiceAccount tokens (TokenRequest)",
    )
    p.add_argument(
        "--service-account-issuer",
        action="append",
        default=[],
        help="the tokens' iss (the first signs; all are accepted; repeatable); default "
        "https://kubernetes.default.svc.cluster.local",
    )
    p.add_argument(
        "--api-audiences",
        default="",
        help="comma-separated audiences tokens must name to be accepted; default the issuer",
    )
    p.add_argument(
        "--service-account-max-token-expiration",
        type=duration,
        default=0.0,
        help="the longest lifetime a TokenRequest gets (Go duration; 0: no cap)",
    )
    p.add_argument(
        "--disable-admission-plugins",
        default="",
        help="comma-separated admission plugins to turn off (e.g. ServiceAccount)",
    )
    p.add_argument("--tls-cert-file", help="serve HTTPS with this certificate (PEM)")
    p.add_argument("--tls-private-key-file", help="the key of --tls-cert-file (PEM)")
    p.add_argument(
        "--cert-dir",
        help="serve HTTPS with a CA and certificate generated (once) "
        "in this directory when no --tls-cert-file is given (the CA's key apart, in "
        "<dir>/ca/)",
    )
    add_tls_flags(p)
    p.add_argument("--service-cluster-ip-range", type=parse_cidr, default=DEFAULT_SERVICE_CIDR)
    p.add_argument("--service-node-port-range", type=parse_port_range, default=(30000, 32767))
    p.add_argument("--default-not-ready-toleration-seconds", type=int, default=300)
    p.add_argument("--default-unreachable-toleration-seconds", type=int, default=300)
    p.add_argument("--bookmark-interval-seconds", type=float, default=15.0)
    p.add_argument(
        "--max-requests-inflight",
        type=int,
        default=400,
        help="read-only requests served at once (long-running ones not counted); "
        "more get 429 (0: no limit)",
    )
    p.add_argument(
        "--max-mutating-requests-inflight",
        type=int,
        default=200,
        help="mutating requests served at once; more get 429 (0: no limit)",
    )
    p.add_argument(
        "--etcd-compaction-interval",
        type=duration,
        default=300.0,
        help="how often etcd's history is compacted (Go duration; 0 disables)",
    )
    p.add_argument(
        "--event-ttl",
        type=duration,
        default=3600.0,
        help="how long an Event is kept after its last write (Go duration; 0: forever)",
    )
    p.add_argument(
        "--admission-control-config-file",
        help="an AdmissionConfiguration (apiserver.config.k8s.io/v1) with the PodSecurity "
        "plugin's PodSecurityConfiguration (defaults and exemptions)",
    )
    p.add_argument(
        "--encryption-provider-config",
        help="an EncryptionConfiguration (apiserver.config.k8s.io/v1): which resources are "
        "encrypted in etcd, with which providers (aescbc, aesgcm, secretbox, identity) and keys",
    )
    p.add_argument(
        "--kubelet-client-certificate",
        help="the apiserver's client certificate toward kubelets (PEM)",
    )
    p.add_argument("--kubelet-client-key", help="the key of --kubelet-client-certificate")
    p.add_argument(
        "--kubelet-certificate-authority",
        help="verify kubelets' serving certificates with this CA (default: not verified, "
        "as Kubernetes)",
    )
    p.add_argument(
        "--kubelet-allow-local-addresses",
        type=parse_bool,
        nargs="?",
        const=True,
        default=False,
        help="dial kubelets at loopback and link-local Node addresses (minik's flag; "
        "off: a Node claiming such an address is refused as a proxy target). "
        "`minik up` sets it: its kubelets run on this machine",
    )
    p.add_argument(
        "--component-status-scheduler-url",
        default=Config.component_status_scheduler_url,
        type=_http_url,
        help="the scheduler's /healthz that `kubectl get componentstatuses` probes "
        "(minik's flag; kube-apiserver probes this default)",
    )
    p.add_argument(
        "--component-status-controller-manager-url",
        default=Config.component_status_controller_manager_url,
        type=_http_url,
        help="the controller manager's /healthz, likewise (minik's flag)",
    )
    add_verbosity_flag(p)
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="serving processes sharing the port (each with its own watch cache)",
    )
    a = p.parse_args(argv)
    if bool(a.etcd_certfile) != bool(a.etcd_keyfile):
        p.error("--etcd-certfile and --etcd-keyfile go together")
    if bool(a.kubelet_client_certificate) != bool(a.kubelet_client_key):
        p.error("--kubelet-client-certificate and --kubelet-client-key go together")
    policy = tls_policy(p, a)
    return Config(
        etcd_servers=[s.strip() for s in a.etcd_servers.split(",") if s.strip()],
        etcd_cafile=a.etcd_cafile,
        etcd_certfile=a.etcd_certfile,
        etcd_keyfile=a.etcd_keyfile,
        bind_address=a.bind_address,
        advertise_address=a.advertise_address,
        port=a.port,
        token_auth_file=a.token_auth_file,
        client_ca_file=a.client_ca_file,
        anonymous_auth=a.anonymous_auth,
        enable_bootstrap_token_auth=a.enable_bootstrap_token_auth,
        authorization_mode=a.authorization_mode,
        requestheader_secret_file=a.requestheader_secret_file,
        service_account_key_files=a.service_account_key_file,
        service_account_signing_key_file=a.service_account_signing_key_file,
        service_account_issuers=a.service_account_issuer
        or ["https://kubernetes.default.svc.cluster.local"],
        api_audiences=[x.strip() for x in a.api_audiences.split(",") if x.strip()],
        service_account_max_token_expiration=a.service_account_max_token_expiration,
        admission_disabled=[x.strip() for x in a.disable_admission_plugins.split(",") if x.strip()],
        tls_cert_file=a.tls_cert_file,
        tls_private_key_file=a.tls_private_key_file,
        cert_dir=a.cert_dir,
        tls_policy=policy,
        service_cluster_ip_range=a.service_cluster_ip_range,
        service_node_port_range=a.service_node_port_range,
        default_not_ready_toleration_seconds=a.default_not_ready_toleration_seconds,
        default_unreachable_toleration_seconds=a.default_unreachable_toleration_seconds,
        bookmark_interval_seconds=a.bookmark_interval_seconds,
        max_requests_inflight=max(0, a.max_requests_inflight),
        max_mutating_requests_inflight=max(0, a.max_mutating_requests_inflight),
        etcd_compaction_interval=a.etcd_compaction_interval,
        event_ttl=a.event_ttl,
        verbosity=a.verbosity,
        workers=max(1, a.workers),
        admission_control_config_file=a.admission_control_config_file,
        encryption_provider_config=a.encryption_provider_config,
        kubelet_client_certificate=a.kubelet_client_certificate,
        kubelet_client_key=a.kubelet_client_key,
        kubelet_certificate_authority=a.kubelet_certificate_authority,
        kubelet_allow_local_addresses=a.kubelet_allow_local_addresses,
        component_status_scheduler_url=a.component_status_scheduler_url,
        component_status_controller_manager_url=a.component_status_controller_manager_url,
    )
