#!/usr/bin/env bash
# Builds everything the lab needs, offline except for Debian's and PyPI's package
# mirrors: the base image (build-base.sh), minik's wheels, the minik/node image, and
# the lab's credentials (generated/ and ./kubeconfig). Safe to run again.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
BASE_IMAGE="${BASE_IMAGE:-minik/debian:bookworm}"
[ "$BASE_IMAGE" = "minik/debian:bookworm" ] && bash "$HERE/build-base.sh" "$BASE_IMAGE"
CONTEXT="$(mktemp -d /tmp/minik-lab-context.XXXXXX)"
trap 'rm -rf "$CONTEXT"' EXIT
echo "[lab] building minik's wheels"
"$PY" -m pip wheel -q --disable-pip-version-check -w "$CONTEXT/wheels" "$ROOT" 2>&1 \
    | grep -v -E "^WARNING: Location .* is ignored" || true
ls "$CONTEXT"/wheels/minik-*.whl >/dev/null || { echo "[lab] FAILED: wheel build" >&2; exit 1; }
cp "$HERE/Dockerfile" "$CONTEXT/"
echo "[lab] building minik/node:latest"
docker build -q --build-arg BASE_IMAGE="$BASE_IMAGE" -t minik/node:latest "$CONTEXT" >/dev/null
# The previous minik/node lost its tag to this build: remove it (and only ours).
docker image prune -f --filter "label=io.minik.image=node" >/dev/null
"$PY" -m deploy.lab
