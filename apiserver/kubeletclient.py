"""How the apiserver reaches a kubelet (`pods/log`, `exec`, `attach`, `portforward`),
as kube-apiserver's KubeletClientConfig: HTTPS, with the apiserver's **own** client
certificate (`--kubelet-client-certificate`, `--kubelet-client-key`; the kubelet sees
the user `kube-apiserver-kubelet-client` in `system:masters`), the kubelet's serving
certificate verified with `--kubelet-certificate-authority` (without it, not verified,
as Kubernetes). The caller's credentials never travel to a kubelet: a Node's address
is written by its kubelet, so it is not trusted with an admin's token.

For the same reason a Node's address is checked before it is dialled: an IP, or a
DNS name that resolves (the connection then goes to the resolved IP, the certificate
checked against the name), and never a loopback, link-local or unspecified address
unless the apiserver was started with `--kubelet-allow-local-addresses` (minik's own
flag: `minik up` and the tests run every kubelet on this machine). So a forged Node
address cannot make the apiserver fetch a local service or a metadata endpoint.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
import ssl
from dataclasses import dataclass
from typing import Any

from api import errors

DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LOCAL_FLAG = "--kubelet-allow-local-addresses"
_ZERO_NETWORK = ipaddress.ip_network("0.0.0.0/8")


@dataclass(frozen=True)
class KubeletClientConfig:
    client_certificate: str | None = None
    client_key: str | None = None
    certificate_authority: str | None = None
    allow_local_addresses: bool = False


@dataclass(frozen=True)
class Target:
    """Where to dial a kubelet: an IP and port, and the name its certificate is
    checked against (the Node's address as written: an IP, or a DNS name)."""

    ip: str
    port: int
    server_name: str

    @property
    def netloc(self) -> str:
        host = f"[{self.ip}]" if ":" in self.ip else self.ip
        return f"{host}:{self.port}"

    def url(self, scheme: str, path: str) -> str:
        return f"{scheme}://{self.netloc}{path}"


def local_address(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """Loopback, link-local or unspecified: this machine, or its link's metadata."""
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if isinstance(ip, ipaddress.IPv4Address) and ip in _ZERO_NETWORK:
        return True
    return ip.is_loopback or ip.is_link_local or ip.is_unspecified


class KubeletClient:
    """The apiserver's TLS settings toward kubelets, and the address checks."""

    def __init__(self, config: KubeletClientConfig | None = None) -> None:
        self.config = config or KubeletClientConfig()
        self.ssl = self._context()

    def _context(self) -> ssl.SSLContext:
        c = self.config
        if c.certificate_authority:
            context = ssl.create_default_context(cafile=c.certificate_authority)
        else:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        if c.client_certificate and c.client_key:
            context.load_cert_chain(c.client_certificate, c.client_key)
        return context

    @property
    def verifies(self) -> bool:
        return bool(self.config.certificate_authority)

    def check_ip(self, node: str, ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> None:
        if ip.is_multicast or (isinstance(ip, ipaddress.IPv4Address) and ip.is_reserved):
            raise _refused(node, f"{ip} is not a unicast address")
        if local_address(ip) and not self.config.allow_local_addresses:
            raise _refused(
                node,
                f"{ip} is a loopback, link-local or unspecified address, and this "
                f"apiserver expects no local kubelets (start it with {LOCAL_FLAG}=true "
                "when they are)",
            )

    async def target(self, node: str, address: str, port: int) -> Target:
        """The checked dial target for a Node's address and kubelet port."""
        if not 0 < port < 65536:
            raise _refused(node, f"port {port} is not a valid port")
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            ip = None
        if ip is not None:
            self.check_ip(node, ip)
            return Target(str(ip), port, str(ip))
        name = address.lower().rstrip(".")
        if len(name) > 253 or not DNS_SUBDOMAIN.match(name):
            raise _refused(node, f"{address!r} is neither an IP address nor a DNS name")
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(
                name, port, type=socket.SOCK_STREAM
            )
        except OSError as err:
            raise _refused(node, f"{name} does not resolve: {err}") from err
        resolved = [ipaddress.ip_address(info[4][0]) for info in infos]
        if not resolved:
            raise _refused(node, f"{name} does not resolve")
        for candidate in resolved:
            self.check_ip(node, candidate)
        return Target(str(resolved[0]), port, name)

    def httpx_extensions(self, target: Target) -> dict[str, Any]:
        """httpx's request extensions: the name TLS checks when dialling an IP."""
        return {"sni_hostname": target.server_name} if target.server_name != target.ip else {}


def _refused(node: str, why: str) -> errors.ApiError:
    return errors.ApiError(
        500, f'cannot reach the kubelet of node "{node}": {why}', "InternalError"
    )
