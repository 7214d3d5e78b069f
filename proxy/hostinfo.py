"""Facts about this host the proxy's defaults come from: its primary address, the
system resolver, and a lock so that only one proxy runs per host (its listeners
use SO_REUSEPORT, so a second one would silently share their ports)."""

from __future__ import annotations

import fcntl
import os
import resource
import subprocess
import time
from pathlib import Path
from typing import IO


def primary_ipv4() -> str | None:
    """The address of the interface the default route leaves by (nothing is sent)."""
    try:
        route = subprocess.run(
            ["ip", "-o", "-4", "route", "show", "default"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.split()
        device = route[route.index("dev") + 1]
        addrs = subprocess.run(
            ["ip", "-o", "-4", "addr", "show", "dev", device, "scope", "global"],
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.split()
        return addrs[addrs.index("inet") + 1].split("/")[0]
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def system_nameserver(
    resolv_conf: str = "/etc/resolv.conf", skip: tuple[str, ...] = ()
) -> str | None:
    """The first `nameserver` of resolv.conf that is not one of `skip`."""
    try:
        lines = Path(resolv_conf).read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        words = line.split()
        if len(words) >= 2 and words[0] == "nameserver" and words[1] not in skip:
            return words[1]
    return None


def raise_open_files_limit() -> int:
    """As many file descriptors as the hard limit allows: two per proxied connection."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        target = hard if hard != resource.RLIM_INFINITY else 1 << 20
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            return target
        except (ValueError, OSError):
            pass
    return soft


class AlreadyRunning(Exception):
    pass


def host_lock(path: str, wait_seconds: float = 10.0) -> IO[str]:
    """Hold an exclusive lock for the life of the process; a restarted proxy waits a
    little for its predecessor to exit, a standby (wait_seconds < 0) waits forever."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")  # noqa: SIM115 - held until exit
    if wait_seconds < 0:  # a standby: block until the serving proxy exits, then take over
        fcntl.flock(handle, fcntl.LOCK_EX)
    deadline = time.monotonic() + wait_seconds
    while wait_seconds >= 0:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            if time.monotonic() >= deadline:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                handle.close()
                raise AlreadyRunning(f"another proxy holds {path} (pid {holder})") from None
            time.sleep(0.1)
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle
