"""A DNS server's address as the proxy's flags give it: `IP` or `IP:PORT`. Apart from
proxy/dns.py (which imports dnspython) so that parsing the flags imports nothing
heavy: a standby proxy parses them and then waits, perhaps for days, for the lock."""

from __future__ import annotations

Address = tuple[str, int]


def parse_address(text: str, default_port: int = 53) -> Address:
    """`IP` or `IP:PORT` → (ip, port)."""
    host, sep, port = text.rpartition(":")
    if sep and host and "." in host:
        return host, int(port)
    return text, default_port
