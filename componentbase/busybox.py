"""Offline images: minik builds its images from this machine's static busybox (the
kubelet's sandbox image, deploy's `minik/busybox` base) instead of pulling them, so
no registry is needed. One copy of "find busybox" and "make a build context", for the
kubelet and deploy alike."""

from __future__ import annotations

import io
import shutil
import tarfile
from collections.abc import Mapping
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


def build_context(files: Mapping[str, bytes]) -> io.BytesIO:
    """An in-memory tar build context for Docker; every file executable, as busybox
    must be (the mode of a Dockerfile does not matter)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    return buf
