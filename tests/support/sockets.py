"""What a process is connected to, from `ss` (iproute2): which etcd member an
apiserver's gRPC channel uses, which apiserver a connection went to."""

from __future__ import annotations

import re
import subprocess

_PID = re.compile(r"pid=(\d+),")


def peer_ports(pid: int) -> set[int]:
    """The remote ports of `pid`'s established TCP connections."""
    return set(_peer_ports(pid))


def connections_to(pid: int, port: int) -> int:
    """How many TCP connections `pid` holds to remote `port`, in any state but closed
    (one half-closed by us, FIN-WAIT, still counts: its socket is still open)."""
    return _peer_ports(pid, "connected").count(port)


def _peer_ports(pid: int, state: str = "established") -> list[int]:
    out = subprocess.run(
        ["ss", "-Htnp", "state", state], capture_output=True, text=True, timeout=10
    ).stdout
    ports: list[int] = []
    for line in out.splitlines():
        if pid not in {int(p) for p in _PID.findall(line)}:
            continue
        # Recv-Q Send-Q Local Peer Process, after a State column for a set of states
        fields = line.split()
        peer = fields[3] if fields[0].isdigit() else fields[4]
        ports.append(int(peer.rsplit(":", 1)[1]))
    return ports
