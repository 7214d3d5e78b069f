"""Which clients the cluster DNS answers (issue 11: it answered anyone who could reach
it, and an open resolver is an amplifier for spoofed queries).

As CoreDNS' `acl` plugin in front of a cluster's DNS, only the cluster's own clients
are answered:

- loopback and this host's own addresses (a host process asking the cluster DNS on
  `lo` arrives from the ClusterIP itself);
- the networks this host is directly connected to: the Docker bridge networks the
  kubelets' pods live on and the node network (in the compose lab, a node
  container's lab and pod networks);
- the pod CIDRs given with `--cluster-cidr` (kube-proxy's flag): routed pod networks
  of other hosts.

Everyone else is refused (REFUSED, as the acl plugin's `block`). A pod network the
kubelet creates after the proxy started is learnt on the first query from it: the
host's tables are read again at most every `REFRESH_SECONDS`, so a flood of refused
queries costs one read of two small /proc files per interval. IPv4 only, as the
cluster DNS address is.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import struct
import time
from collections.abc import Callable, Iterable
from pathlib import Path

log = logging.getLogger(__name__)

CACHE_SIZE = 4096  # allowed client addresses remembered (spoofed ones are never kept)
REFRESH_SECONDS = 1.0  # a new pod network is answered within a second of its first query
LOOPBACK = "127.0.0.0/8"
ROUTE_FILE = "/proc/net/route"
FIB_TRIE_FILE = "/proc/net/fib_trie"

Network = ipaddress.IPv4Network
HostReader = Callable[[], list[Network]]


def connected_networks(route_table: str) -> list[Network]:
    """The directly connected networks of /proc/net/route's text: routes with no
    gateway, except a default route (which would connect everyone)."""
    found = []
    for line in route_table.splitlines()[1:]:
        words = line.split()
        if len(words) < 8:
            continue
        try:
            dest, gateway, mask = (int(w, 16) for w in (words[1], words[2], words[7]))
        except ValueError:
            continue
        if gateway or not mask:
            continue
        address, netmask = (socket.inet_ntoa(struct.pack("<I", v)) for v in (dest, mask))
        try:
            found.append(ipaddress.IPv4Network(f"{address}/{netmask}", strict=False))
        except ValueError:
            continue
    return found


def local_addresses(fib_trie: str) -> list[Network]:
    """This host's own addresses (ClusterIPs held on `lo` too), from
    /proc/net/fib_trie's text: a `|-- ADDRESS` leaf followed by `/32 host LOCAL`."""
    found: dict[str, None] = {}
    leaf = None
    for line in fib_trie.splitlines():
        text = line.strip()
        if text.startswith("|-- "):
            leaf = text[4:]
        elif leaf is not None and text.startswith("/32 host LOCAL"):
            found[leaf] = None
    return [ipaddress.IPv4Network(a) for a in found]


def read_host_networks() -> list[Network]:
    """The connected networks and own addresses of this host's network namespace."""
    networks: list[Network] = []
    for path, parse in ((ROUTE_FILE, connected_networks), (FIB_TRIE_FILE, local_addresses)):
        try:
            networks += parse(Path(path).read_text())
        except (OSError, ValueError) as err:
            log.warning("cluster DNS ACL: cannot read %s: %s", path, err)
    return networks


class ClientAcl:
    """`allows(ip)`: whether a query from `ip` is answered. `networks` are always
    allowed; `read_host` (None: no host networks) adds the host's, refreshed when a
    client is not yet allowed and the last read is `refresh_seconds` old."""

    def __init__(
        self,
        networks: Iterable[str],
        read_host: HostReader | None = read_host_networks,
        refresh_seconds: float = REFRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.fixed = [ipaddress.IPv4Network(n, strict=False) for n in networks]
        self.read_host = read_host
        self.refresh_seconds = refresh_seconds
        self.clock = clock
        self.host: list[Network] = []
        self._read_at: float | None = None
        self._allowed: set[str] = set()
        if read_host is not None:
            self.refresh()

    def refresh(self) -> None:
        if self.read_host is not None:
            self.host = self.read_host()
            self._read_at = self.clock()
            self._allowed.clear()

    def _listed(self, address: ipaddress.IPv4Address) -> bool:
        return any(address in n for n in self.fixed) or any(address in n for n in self.host)

    def allows(self, ip: str) -> bool:
        if ip in self._allowed:
            return True
        if self._decide(ip):
            if len(self._allowed) >= CACHE_SIZE:
                self._allowed.clear()
            self._allowed.add(ip)
            return True
        return False

    def _decide(self, ip: str) -> bool:
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return False
        if isinstance(address, ipaddress.IPv6Address):
            if address.ipv4_mapped is None:
                return address.is_loopback
            address = address.ipv4_mapped
        if self._listed(address):
            return True
        stale = self._read_at is None or self.clock() - self._read_at >= self.refresh_seconds
        if self.read_host is None or not stale:
            return False
        self.refresh()
        return self._listed(address)


def cluster_acl(cluster_cidrs: Iterable[str] = (), node_ips: Iterable[str] = ()) -> ClientAcl:
    """The proxy's ACL: loopback, the host's own and connected networks, the
    `--cluster-cidr` pod networks and the `--node-ip` addresses."""
    return ClientAcl([LOOPBACK, *cluster_cidrs, *node_ips])
