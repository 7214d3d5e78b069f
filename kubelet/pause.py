"""The sandbox ("pause") image: the container that holds a pod's network namespace.

No registry is needed: `minik/pause:1` is built locally, FROM scratch, with Debian's
static busybox running a shell that sleeps until SIGTERM (and reaps what it
starts). Users with a registry can pass `--sandbox-image registry.k8s.io/pause:3.9`
(or any image whose default command runs forever); it is pulled when missing.
"""

from __future__ import annotations

import io

from api.clusterdefaults import DEFAULT_SANDBOX_IMAGE
from componentbase.busybox import BusyboxNotFound, build_context, busybox_binary
from kubelet.runtime import DockerRuntime, RuntimeFailure

_LOOP = "trap 'exit 0' TERM INT; while :; do /busybox sleep 3600 & wait $!; done"
DOCKERFILE = f"""FROM scratch
COPY busybox /busybox
LABEL io.minik.pause="1"
STOPSIGNAL SIGTERM
ENTRYPOINT ["/busybox", "sh", "-c", "{_LOOP}"]
""".encode()


def sandbox_busybox() -> bytes:
    """The busybox the default sandbox image is built from."""
    try:
        return busybox_binary().read_bytes()
    except BusyboxNotFound as err:
        raise RuntimeFailure(
            f"cannot build the sandbox image: {err} — or pass --sandbox-image with an "
            "image you have"
        ) from err


def sandbox_context(busybox: bytes) -> io.BytesIO:
    """The default sandbox image's build context: its Dockerfile and busybox."""
    return build_context({"Dockerfile": DOCKERFILE, "busybox": busybox})


async def ensure_sandbox_image(runtime: DockerRuntime, image: str) -> None:
    """Present already, built (the default image), or pulled (any other)."""
    if await runtime.image(image) is not None:
        return
    if image == DEFAULT_SANDBOX_IMAGE:
        await runtime.build(
            image, build_context({"Dockerfile": DOCKERFILE, "busybox": sandbox_busybox()})
        )
        return
    await runtime.pull(image)
