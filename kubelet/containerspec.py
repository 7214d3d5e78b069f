"""Pod spec → `docker create` arguments, for the sandbox and each container (pure).

The sandbox owns the network (the pod network, or the host's for `hostNetwork`),
the hostname, DNS settings and published `hostPort`s; containers join its network
and IPC namespaces (and its PID namespace with `shareProcessNamespace`), or take the
host's with `hostIPC`/`hostPID`. Kubernetes' `command` is Docker's entrypoint and
`args` its cmd. Limits become Docker's `nano_cpus` and memory limit (swap off), CPU
requests become CPU shares. The securityContext's settings come from
kubelet/securitycontext.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from api.quantity import QuantityError, parse_quantity
from kubelet import dockerlabels, securitycontext
from kubelet.runtime import CreateSpec
from kubelet.securitycontext import SecurityOptions

LOG_CONFIG = {"type": "json-file", "config": {"max-size": "10m", "max-file": "3"}}
MIN_SHARES, MAX_SHARES = 2, 262144
DEFAULT_SECURITY = SecurityOptions()


@dataclass(frozen=True)
class DnsSettings:
    """Cluster DNS for ClusterFirst pods (`--cluster-dns`, `--cluster-domain`)."""

    servers: tuple[str, ...] = ()
    domain: str = "cluster.local"


def _quantity(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return parse_quantity(value)
    except QuantityError:
        return None


def resource_config(container: dict[str, Any]) -> dict[str, Any]:
    """Docker resource settings for a container's `resources`."""
    resources = container.get("resources") or {}
    limits, requests = resources.get("limits") or {}, resources.get("requests") or {}
    config: dict[str, Any] = {}
    cpu_limit = _quantity(limits.get("cpu"))
    if cpu_limit is not None and cpu_limit > 0:
        config["nano_cpus"] = int(cpu_limit * Decimal(1_000_000_000))
    memory = _quantity(limits.get("memory"))
    if memory is not None and memory > 0:
        config["mem_limit"] = int(memory)
        config["memswap_limit"] = int(memory)  # no swap beyond the limit
    cpu_request = _quantity(requests.get("cpu"))
    if cpu_request is None:
        cpu_request = cpu_limit
    if cpu_request is not None and cpu_request > 0:
        shares = int(cpu_request * 1024)
        config["cpu_shares"] = max(MIN_SHARES, min(MAX_SHARES, shares))
    return config


def _dns_config(pod: dict[str, Any], dns: DnsSettings) -> dict[str, Any]:
    spec = pod.get("spec") or {}
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    custom = spec.get("dnsConfig") or {}
    config: dict[str, Any] = {}
    if policy in ("ClusterFirst", "ClusterFirstWithHostNet") and dns.servers:
        if spec.get("hostNetwork") and policy == "ClusterFirst":
            return {}
        namespace = (pod.get("metadata") or {}).get("namespace") or "default"
        config = {
            "dns": list(dns.servers),
            "dns_search": [f"{namespace}.svc.{dns.domain}", f"svc.{dns.domain}", dns.domain],
            "dns_opt": ["ndots:5"],
        }
    if policy == "None" or custom:
        if custom.get("nameservers"):
            config["dns"] = (
                list(custom["nameservers"])
                if policy == "None"
                else [
                    *config.get("dns", []),
                    *custom["nameservers"],
                ]
            )
        if custom.get("searches"):
            config["dns_search"] = [*config.get("dns_search", []), *custom["searches"]]
        options = [
            f"{o['name']}:{o['value']}" if o.get("value") else o.get("name", "")
            for o in custom.get("options") or []
        ]
        if options:
            config["dns_opt"] = options
    return config


RESOLV_CONF = "/etc/resolv.conf"


def resolv_conf(pod: dict[str, Any], container: dict[str, Any], dns: DnsSettings) -> str | None:
    """The container's /etc/resolv.conf when the kubelet must write it: on a
    user-defined network Docker points every container at its embedded resolver
    (127.0.0.11), which would answer Docker's own container names, so a pod with
    nameservers of its own (cluster DNS, `dnsConfig`) gets a file of the kubelet,
    bind-mounted, as Kubernetes writes one per pod. None: leave it to Docker."""
    if (pod.get("spec") or {}).get("hostNetwork"):
        return None  # Docker's host mode writes the servers given to it as they are
    if any(m.get("mountPath") == RESOLV_CONF for m in container.get("volumeMounts") or []):
        return None
    config = _dns_config(pod, dns)
    if not config.get("dns"):
        return None
    lines = []
    if config.get("dns_search"):
        lines.append("search " + " ".join(config["dns_search"]))
    lines += [f"nameserver {server}" for server in config["dns"]]
    if config.get("dns_opt"):
        lines.append("options " + " ".join(config["dns_opt"]))
    return "\n".join(lines) + "\n"


def host_ports(pod: dict[str, Any], host_ip: str) -> tuple[list[tuple[int, str]], dict[str, Any]]:
    """Exposed ports and Docker port bindings for every `hostPort` of the pod."""
    exposed: list[tuple[int, str]] = []
    bindings: dict[str, list[tuple[str, int]]] = {}
    spec = pod.get("spec") or {}
    for container in [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]:
        for port in container.get("ports") or []:
            if not port.get("hostPort"):
                continue
            proto = (port.get("protocol") or "TCP").lower()
            key = f"{port['containerPort']}/{proto}"
            exposed.append((int(port["containerPort"]), proto))
            bindings.setdefault(key, []).append(
                (port.get("hostIP") or host_ip, int(port["hostPort"]))
            )
    return exposed, bindings


def pod_domain(pod: dict[str, Any], cluster_domain: str) -> str | None:
    """As the kubelet's GeneratePodHostNameAndDomain: a pod with a subdomain is
    `<hostname>.<subdomain>.<ns>.svc.<cluster domain>`, which /etc/hosts maps to its IP
    (Docker writes that line from hostname + domainname; app containers share it)."""
    subdomain = (pod.get("spec") or {}).get("subdomain")
    if not subdomain:
        return None
    namespace = (pod.get("metadata") or {}).get("namespace") or "default"
    return f"{subdomain}.{namespace}.svc.{cluster_domain}"


@dataclass(frozen=True)
class PodNetwork:
    """What the container holding a pod's network joins (a sandbox, or a pod's one
    container that is its own sandbox: kubelet/solo.py)."""

    network: str  # the pod network's id
    host_ip: str
    dns: DnsSettings
    ip: str | None = None  # the pod IP the kubelet allocated (kubelet/ipam.py), else Docker's


def _network_settings(
    pod: dict[str, Any], net: PodNetwork
) -> tuple[dict[str, Any], str | None, list[tuple[int, str]]]:
    """(host config, hostname, exposed ports) of the container that holds the pod's
    network: the pod network (or the host's), DNS, hostPorts, the pod's hostname."""
    spec = pod.get("spec") or {}
    md = pod.get("metadata") or {}
    host_network = bool(spec.get("hostNetwork"))
    host_config: dict[str, Any] = {
        "network_mode": "host" if host_network else net.network,
        **_dns_config(pod, net.dns),
    }
    exposed: list[tuple[int, str]] = []
    if not host_network:
        exposed, bindings = host_ports(pod, net.host_ip)
        if bindings:
            host_config["port_bindings"] = bindings
    hostname = None
    if not host_network:
        hostname = (spec.get("hostname") or md.get("name") or "pod")[:63].rstrip("-.")
    return host_config, hostname, exposed


def _owned_namespaces(pod: dict[str, Any]) -> dict[str, str]:
    """The IPC and PID namespaces of the container that holds the pod's (its sandbox,
    or a pod's one container that is its own): the host's for `hostIPC`/`hostPID`;
    else a private IPC namespace, shareable so that the pod's other containers (and an
    ephemeral one, `kubectl debug`) join it. A container joining a host-IPC sandbox
    takes the host's directly: Docker lets none join a namespace it does not own."""
    spec = pod.get("spec") or {}
    owned = {"ipc_mode": "host" if spec.get("hostIPC") else "shareable"}
    if spec.get("hostPID"):
        owned["pid_mode"] = "host"
    return owned


def sandbox_spec(
    pod: dict[str, Any],
    *,
    node: str,
    attempt: int,
    image: str,
    network: str,
    host_ip: str,
    dns: DnsSettings,
    ip: str | None = None,
) -> CreateSpec:
    settings, hostname, exposed = _network_settings(pod, PodNetwork(network, host_ip, dns))
    domainname = pod_domain(pod, dns.domain) if hostname else None
    host_config: dict[str, Any] = {"log_config": LOG_CONFIG, **_owned_namespaces(pod), **settings}
    return CreateSpec(
        name=dockerlabels.sandbox_name(pod, attempt),
        image=image,
        labels=dockerlabels.sandbox_labels(node, pod, attempt),
        hostname=hostname,
        domainname=domainname,
        ports=exposed,
        host_config=host_config,
        ip=ip if hostname else None,  # hostNetwork: the host's addresses
    )


def container_spec(
    pod: dict[str, Any],
    container: dict[str, Any],
    *,
    node: str,
    init: bool,
    restart_count: int,
    sandbox_id: str,
    env: list[tuple[str, str]],
    command: list[str] | None,
    args: list[str] | None,
    binds: list[str],
    termination_log: str | None,
    own_network: PodNetwork | None = None,
    image_user: str = "",
    security: SecurityOptions = DEFAULT_SECURITY,
) -> CreateSpec:
    """A container joining its pod's sandbox `sandbox_id`, or (`own_network`) one that
    is its own sandbox and holds the pod's network itself. `image_user` is the image's
    USER (for `runAsGroup` without `runAsUser`); SecurityContextError when its
    securityContext cannot be honoured."""
    spec = pod.get("spec") or {}
    hostname = domainname = None
    exposed: list[tuple[int, str]] = []
    if own_network is not None:
        settings, hostname, exposed = _network_settings(pod, own_network)
        domainname = pod_domain(pod, own_network.dns.domain) if hostname else None
        host_config: dict[str, Any] = {
            "log_config": LOG_CONFIG,
            **_owned_namespaces(pod),
            **settings,
        }
    else:
        joined = f"container:{sandbox_id}"
        host_config = {
            "network_mode": joined,
            "ipc_mode": "host" if spec.get("hostIPC") else joined,
            "log_config": LOG_CONFIG,
        }
        if spec.get("hostPID"):
            host_config["pid_mode"] = "host"
        elif spec.get("shareProcessNamespace"):
            host_config["pid_mode"] = joined
    host_config.update(resource_config(container))
    binds = list(binds)
    message_path = container.get("terminationMessagePath") or "/dev/termination-log"
    if termination_log:
        binds.append(f"{termination_log}:{message_path}:rw")
    if binds:
        host_config["binds"] = binds
    host_config.update(securitycontext.host_config(pod, container, security))
    user = securitycontext.user_arg(pod, container, image_user)
    return CreateSpec(
        name=dockerlabels.docker_name(pod, container.get("name", ""), restart_count),
        image=container.get("image", ""),
        labels=dockerlabels.container_labels(
            node,
            pod,
            container,
            init=init,
            restart_count=restart_count,
            sandbox_id=sandbox_id,
            termination_log=termination_log,
            solo=own_network is not None,
        ),
        hostname=hostname,
        domainname=domainname,
        ports=exposed,
        entrypoint=command,
        command=args if args is not None else ([] if command is not None else None),
        environment=[f"{k}={v}" for k, v in env],
        working_dir=container.get("workingDir") or None,
        user=user,
        tty=bool(container.get("tty")),
        stdin_open=bool(container.get("stdin")),
        stdin_once=bool(container.get("stdinOnce")),
        host_config=host_config,
        ip=own_network.ip if own_network is not None and hostname else None,
    )
