"""The ClusterIPs the proxy holds as /32 addresses on `lo`.

The kernel here has no `dummy` module, and `lo` does the job: an address on the
host's `lo` is local, so the host reaches it directly and a container reaches it
through its default route (the bridge gateway is this host). Every address minik
adds carries the label `lo:minik`, so a restarted proxy can tell its own
addresses (kept, or stale ones to remove) from anybody else's. Changes go through
iproute2 (`ip -batch`), one process per batch, never blocking the event loop.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

log = logging.getLogger(__name__)

DEVICE = "lo"
LABEL = "lo:minik"


class AddressError(Exception):
    pass


async def _ip(*args: str, batch: str | None = None) -> str:
    proc = await asyncio.create_subprocess_exec(
        "ip",
        *args,
        stdin=asyncio.subprocess.PIPE if batch is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate(batch.encode() if batch is not None else None)
    if proc.returncode != 0:
        raise AddressError(f"ip {' '.join(args)}: {err.decode(errors='replace').strip()}")
    return out.decode()


def parse_addresses(output: str) -> dict[str, str]:
    """`ip -o -4 addr show dev lo` output → {address: label} for the /32 addresses."""
    found = {}
    for line in output.splitlines():
        # "1: lo    inet 10.96.0.10/32 scope global lo:minik\       valid_lft forever ..."
        words = line.split("\\", 1)[0].split()
        if "inet" not in words or words.index("inet") + 1 >= len(words):
            continue
        address, _, prefix = words[words.index("inet") + 1].partition("/")
        if prefix == "32":
            found[address] = words[-1]
    return found


class LoAddresses:
    """Adds and removes minik's /32 addresses on `lo`; `held` mirrors the kernel."""

    def __init__(self) -> None:
        self.held: set[str] = set()  # ours (labelled), to remove when unwanted
        self.present: set[str] = set()  # every /32 on lo, ours or not

    async def refresh(self) -> set[str]:
        """Read which of our addresses the kernel has (e.g. left by an earlier run)."""
        found = parse_addresses(await _ip("-o", "-4", "addr", "show", "dev", DEVICE))
        self.present = set(found)
        self.held = {ip for ip, label in found.items() if label == LABEL}
        return set(self.held)

    async def add(self, ips: Iterable[str]) -> None:
        wanted = sorted(set(ips) - self.present)
        if wanted:
            await self._batch("add", wanted)
            log.info("added %s to %s", ", ".join(wanted), DEVICE)

    async def remove(self, ips: Iterable[str]) -> None:
        gone = sorted(set(ips) & self.held)
        if gone:
            await self._batch("del", gone)
            log.info("removed %s from %s", ", ".join(gone), DEVICE)

    async def sync(self, wanted: Iterable[str]) -> None:
        """Make our addresses exactly `wanted`."""
        wanted = set(wanted)
        await self.add(wanted)
        await self.remove(self.held - wanted)

    async def _batch(self, verb: str, ips: list[str]) -> None:
        label = f" label {LABEL}" if verb == "add" else ""
        lines = "".join(f"addr {verb} {ip}/32 dev {DEVICE}{label}\n" for ip in ips)
        try:
            # -force: keep going past "File exists" / "Cannot assign", then re-read.
            await _ip("-force", "-batch", "-", batch=lines)
        except AddressError as err:
            log.debug("ip batch %s: %s", verb, err)
        await self.refresh()
        missing = set(ips) - self.present if verb == "add" else set(ips) & self.held
        if missing:
            raise AddressError(f"could not {verb} {', '.join(sorted(missing))} on {DEVICE}")
