"""`--metrics-bind-address IP:PORT`, the flag of a component's plain-HTTP /metrics
listener (componentbase/metrics.py serves it). Apart from that module, which imports
prometheus_client and the client, so that parsing the flags imports nothing heavy: a
standby proxy parses them and then waits, perhaps for days, for its lock."""

from __future__ import annotations

import argparse
from dataclasses import dataclass


@dataclass(frozen=True)
class HostPort:
    host: str
    port: int

    @property
    def enabled(self) -> bool:
        return self.port != 0

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_host_port(text: str) -> HostPort:
    """`127.0.0.1:10249`, `[::1]:10249`, `:10249` (all addresses) or "" (off), as
    kube-proxy's --metrics-bind-address; ValueError otherwise."""
    text = text.strip()
    if not text:
        return HostPort("127.0.0.1", 0)
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise ValueError(f"want IP:PORT, got {text!r}")
    host = host.strip("[]") or "0.0.0.0"
    return HostPort(host, int(port))


def add_metrics_bind_address_flag(
    parser: argparse.ArgumentParser, component: str, port: int
) -> None:
    """`--metrics-bind-address IP:PORT` (kube-proxy's flag) of a component's
    plain-HTTP /metrics and /healthz listener; `args.metrics_bind_address` is a
    HostPort."""

    def host_port(text: str) -> HostPort:
        try:
            return parse_host_port(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None

    parser.add_argument(
        "--metrics-bind-address",
        type=host_port,
        default=HostPort("127.0.0.1", port),
        help=f"IP:PORT of {component}'s /metrics and /healthz listener (plain HTTP, no "
        "authentication: keep it on loopback); port 0 or empty: none",
    )
