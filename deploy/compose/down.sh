#!/usr/bin/env bash
# Stops the lab and removes everything it made: its containers and networks, and the
# pods' containers the lab's kubelets started in the host's Docker (by node label).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PROJECT="${COMPOSE_PROJECT_NAME:-minik-lab}"
docker-compose -p "$PROJECT" -f "$HERE/docker-compose.yml" stop node1 node2 node3 >/dev/null 2>&1 || true
for node in lab-node-1 lab-node-2 lab-node-3; do
    docker ps -aq --filter "label=io.minik.node=$node" | xargs -r docker rm -f >/dev/null
done
docker-compose -p "$PROJECT" -f "$HERE/docker-compose.yml" down -v --remove-orphans
docker network rm minik-lab-pods >/dev/null 2>&1 || true
rm -rf /var/lib/minik-lab
echo "[lab] down"
