"""Images minik needs, built offline from Debian's static busybox (no registry is
needed): `minik/busybox` is the base of the examples and of test images.

Run as `python -m deploy.images` (deploy/setup.sh does)."""

from __future__ import annotations

import io
import shutil
import sys
import tarfile
from pathlib import Path

import docker
import docker.errors

BUSYBOX_IMAGE = "minik/busybox:latest"
BUSYBOX_DOCKERFILE = b"""FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN ["/bin/busybox", "mkdir", "-p", "/tmp", "/var/www", "/etc", "/root"]
ENV PATH=/bin
"""


def busybox_binary() -> Path:
    for candidate in ("/bin/busybox", "/usr/bin/busybox"):
        if Path(candidate).exists():
            return Path(candidate)
    found = shutil.which("busybox")
    if not found:
        raise RuntimeError("busybox not found: install Debian's busybox-static")
    return Path(found)


def build_context(files: dict[str, bytes]) -> io.BytesIO:
    """An in-memory tar build context."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    return buf


def build(tag: str, files: dict[str, bytes]) -> str:
    context = build_context(files)
    docker.from_env().images.build(fileobj=context, custom_context=True, tag=tag, rm=True)
    return tag


def ensure_busybox_image(tag: str = BUSYBOX_IMAGE) -> str:
    """Build the busybox base once per Docker daemon; later calls find it."""
    try:
        docker.from_env().images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    return build(tag, {"Dockerfile": BUSYBOX_DOCKERFILE, "busybox": busybox_binary().read_bytes()})


def main() -> int:
    try:
        print(f"image ready: {ensure_busybox_image()}")
    except (docker.errors.DockerException, RuntimeError) as err:
        print(f"cannot build {BUSYBOX_IMAGE}: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
