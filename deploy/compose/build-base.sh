#!/usr/bin/env bash
# Builds minik/debian:bookworm, the base of the lab's images, without any container
# registry: Debian's debootstrap makes a root filesystem from a Debian package mirror
# and `docker import` turns it into an image. The mirror is $DEBIAN_MIRROR, else the
# one this machine's apt already uses for bookworm main (deploy/aptsources.py).
# Users with a registry can skip this and build with
# --build-arg BASE_IMAGE=debian:bookworm-slim instead.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
IMAGE="${1:-minik/debian:bookworm}"
SUITE=bookworm
PACKAGES=python3,python3-venv,iproute2,busybox-static,etcd-server,ca-certificates,procps

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
    echo "[lab] base image $IMAGE exists"
    exit 0
fi
MIRROR="${DEBIAN_MIRROR:-}"
if [ -z "$MIRROR" ]; then
    MIRROR="$(python3 "$HERE/../aptsources.py" "$SUITE")" || {
        echo "[lab] FAILED: no Debian mirror for $SUITE: configure one in apt's sources" \
            "or set DEBIAN_MIRROR=URL" >&2
        exit 1
    }
fi
echo "[lab] Debian mirror: $MIRROR"
command -v debootstrap >/dev/null || { echo "[lab] installing debootstrap"; apt-get install -y -qq debootstrap >/dev/null; }
ROOTFS="$(mktemp -d /tmp/minik-rootfs.XXXXXX)"
trap 'rm -rf "$ROOTFS"' EXIT
echo "[lab] debootstrap $SUITE into $ROOTFS (about a minute or two)"
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$ROOTFS" "$MIRROR" >"$ROOTFS.log" 2>&1 \
    || { tail -20 "$ROOTFS.log"; echo "[lab] FAILED: debootstrap" >&2; exit 1; }
rm -f "$ROOTFS.log"
tar -C "$ROOTFS" -c . | docker import \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$IMAGE" >/dev/null
echo "[lab] built $IMAGE"
