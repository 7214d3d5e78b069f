"""What a process is connected to, from `ss` (iproute2): which etcd member an
apiserver's gRPC channel uses, which apiserver a connection went to."""

from __future__ import annotations

import re
import subprocess

_PID = re.compile(r"pid=(\d+),")


def peer_ports(pid: int) -> set[int]:
    """The remote ports of `pid`'s established TCP connections."""
    out = subprocess.run(
        ["ss", "-Htnp", "state", "established"], capture_output=True, text=True, timeout=10
    ).stdout
    ports: set[int] = set()
    for line in out.splitlines():
        fields = line.split()
        if len(fields) < 5 or pid not in {int(p) for p in _PID.findall(line)}:
            continue
        ports.add(int(fields[3].rsplit(":", 1)[1]))
    return ports
