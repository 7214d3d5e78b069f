"""Where this machine's static busybox is: minik builds its images from it (the
kubelet's sandbox image, deploy's `minik/busybox` base) instead of pulling them, so
no registry is needed. One copy, for the kubelet and deploy alike."""

from __future__ import annotations

import shutil
from pathlib import Path

CANDIDATES = ("/bin/busybox", "/usr/bin/busybox")


class BusyboxNotFound(RuntimeError):
    """No busybox binary on this machine."""


def busybox_binary() -> Path:
    """The busybox binary: the usual places first, then $PATH."""
    for candidate in CANDIDATES:
        if Path(candidate).exists():
            return Path(candidate)
    found = shutil.which("busybox")
    if not found:
        raise BusyboxNotFound("busybox not found: install Debian's busybox-static")
    return Path(found)
