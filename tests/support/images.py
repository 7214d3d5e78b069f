"""Images for tests, built locally (no registry is reachable): a scratch image with
Debian's static busybox, so `httpd`, `nc`, `wget`, `sh` and `sleep` are all there."""

from __future__ import annotations

import io
import shutil
import tarfile
from pathlib import Path

import docker
import docker.errors

BUSYBOX_IMAGE = "minik-test/busybox:1"
DOCKERFILE = b"""FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN ["/bin/busybox", "mkdir", "-p", "/tmp", "/var/www", "/etc"]
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
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    return buf


def ensure_busybox_image(tag: str = BUSYBOX_IMAGE) -> str:
    """Build the image once per Docker daemon; later calls find it and return."""
    client = docker.from_env()
    try:
        client.images.get(tag)
        return tag
    except docker.errors.ImageNotFound:
        pass
    context = build_context({"Dockerfile": DOCKERFILE, "busybox": busybox_binary().read_bytes()})
    client.images.build(fileobj=context, custom_context=True, tag=tag, rm=True)
    return tag


def build_image(tag: str, extra_dockerfile: str = "", files: dict[str, bytes] | None = None) -> str:
    """An image FROM the busybox test image plus some lines and files (always rebuilt)."""
    ensure_busybox_image()
    dockerfile = f"FROM {BUSYBOX_IMAGE}\n{extra_dockerfile}\n".encode()
    context = build_context({"Dockerfile": dockerfile, **(files or {})})
    docker.from_env().images.build(fileobj=context, custom_context=True, tag=tag, rm=True)
    return tag
