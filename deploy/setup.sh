#!/usr/bin/env bash
# Prepares a Debian/Ubuntu machine (as root) for minik: system packages, a running
# Docker engine, and the project's virtual environment in .venv. Idempotent: safe to
# run twice; each step says what it does and stops with a clear message if it fails.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${MINIK_VENV:-$ROOT/.venv}"
PYTHON="${PYTHON:-python3}"
APT_PACKAGES=(docker.io docker-compose debootstrap etcd-server etcd-client busybox-static iproute2)

say()  { printf '[setup] %s\n' "$*"; }
fail() { printf '[setup] FAILED: %s\n' "$*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || fail "run as root (it installs packages and starts dockerd)"
command -v apt-get >/dev/null || fail "apt-get not found: this script is for Debian/Ubuntu"

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    say "installing with apt: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq || fail "apt-get update"
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || fail "apt-get install ${missing[*]}"
else
    say "system packages present: ${APT_PACKAGES[*]}"
fi

# live-restore: containers keep running while dockerd restarts (an upgrade, a crash), so
# a dockerd restart does not take every pod down. A running dockerd reloads it on SIGHUP
# (a reload, not a restart: no container is touched).
DAEMON_JSON=/etc/docker/daemon.json
mkdir -p /etc/docker
if "$PYTHON" - "$DAEMON_JSON" <<'PY'
import json, sys
path = sys.argv[1]
try:
    config = json.load(open(path))
except FileNotFoundError:
    config = {}
except ValueError as err:
    sys.exit(f"{path} is not JSON ({err}); add \"live-restore\": true by hand")
if config.get("live-restore") is True:
    sys.exit(3)  # nothing to change
config["live-restore"] = True
with open(path, "w") as handle:
    json.dump(config, handle, indent=2)
PY
then
    say "enabled live-restore in $DAEMON_JSON"
    if pid="$(pidof dockerd)" && [ -n "$pid" ]; then
        kill -HUP $pid && say "dockerd reloaded its configuration (live-restore)"
    fi
else
    [ $? -eq 3 ] && say "live-restore already enabled in $DAEMON_JSON" || fail "editing $DAEMON_JSON"
fi

if docker info >/dev/null 2>&1; then
    say "Docker engine answers"
else
    say "starting dockerd (log: /var/log/minik-dockerd.log)"
    if command -v systemctl >/dev/null && [ -d /run/systemd/system ]; then
        systemctl start docker || true
    fi
    if ! docker info >/dev/null 2>&1; then
        # dockerd outlives this script: it must not inherit our caller's descriptors
        # (a `flock LOCK bash deploy/setup.sh` would otherwise leave LOCK held by
        # dockerd for as long as it runs)
        (
            for fd in /proc/$BASHPID/fd/*; do
                n=${fd##*/}
                [ "$n" -gt 2 ] && eval "exec $n>&-"
            done
            exec nohup dockerd >/var/log/minik-dockerd.log 2>&1
        ) &
    fi
    for _ in $(seq 1 60); do
        docker info >/dev/null 2>&1 && break
        sleep 0.5
    done
    docker info >/dev/null 2>&1 || fail "dockerd did not answer within 30s; see /var/log/minik-dockerd.log"
    say "Docker engine answers"
fi

if [ ! -x "$VENV/bin/python" ]; then
    say "creating virtual environment $VENV"
    "$PYTHON" -m venv "$VENV" || fail "python3 -m venv (install python3-venv?)"
fi
say "installing minik and its test tools into $VENV"
"$VENV/bin/pip" install -q --disable-pip-version-check -e "$ROOT[test]" 2>&1 \
    | grep -v -E "^WARNING: Location .* is ignored" || true
"$VENV/bin/python" -c "import fastapi, uvicorn, httpx, docker, aetcd, yaml" \
    || fail "the virtual environment is missing packages; see pip's output above"
say "building the offline base image minik/busybox (from busybox-static)"
"$VENV/bin/python" -m deploy.images || fail "building the offline base image minik/busybox"
say "ready: $VENV/bin/minik, $VENV/bin/minikctl"
