"""Images for tests, built locally (no registry is reachable) on deploy/images.py's
busybox base: `httpd`, `nc`, `wget`, `sh`, `nslookup` and `sleep` are all there."""

from __future__ import annotations

from deploy import images

BUSYBOX_IMAGE = "minik-test/busybox:1"


def ensure_busybox_image(tag: str = BUSYBOX_IMAGE) -> str:
    """The busybox base under the tests' own tag (built once per Docker daemon)."""
    return images.ensure_busybox_image(tag)


def build_image(tag: str, extra_dockerfile: str = "", files: dict[str, bytes] | None = None) -> str:
    """An image FROM the busybox test image plus some lines and files (always rebuilt)."""
    ensure_busybox_image()
    dockerfile = f"FROM {BUSYBOX_IMAGE}\n{extra_dockerfile}\n".encode()
    return images.build(tag, {"Dockerfile": dockerfile, **(files or {})})
