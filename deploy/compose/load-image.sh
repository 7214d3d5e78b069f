#!/usr/bin/env bash
# Copies an image from the host's Docker into every lab node's own Docker engine
# (there is no registry): deploy/compose/load-image.sh my-image:v1
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
for image in "$@"; do
    for node in node1 node2 node3; do
        docker save "$image" | docker-compose -f "$HERE/docker-compose.yml" exec -T "$node" docker load -q
    done
done
