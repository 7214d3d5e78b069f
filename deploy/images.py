"""Images minik needs, built offline from Debian's static busybox (no registry is
needed): `minik/busybox` is the base of the examples and of test images.

Run as `python -m deploy.images` (deploy/setup.sh does)."""

from __future__ import annotations

import sys

import docker
import docker.errors

from componentbase.busybox import build_context, busybox_binary

BUSYBOX_IMAGE = "minik/busybox:latest"
BUSYBOX_DOCKERFILE = b"""FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN ["/bin/busybox", "mkdir", "-p", "/tmp", "/var/www", "/etc", "/root"]
ENV PATH=/bin
"""


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
