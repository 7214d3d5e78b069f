#!/bin/sh
# Answer every request with this container's hostname (the pod name) and version.
mkdir -p /www
echo "hello from $(hostname) (${VERSION:-v1})" > /www/index.html
echo "ok" > /www/healthz
# As PID 1, httpd would ignore SIGTERM, so this shell stops it, gracefully, as an app
# should for a zero-downtime rolling update in Kubernetes: the Service's endpoints drop a
# terminating pod at about the moment its SIGTERM arrives, not before, so keep serving
# for a moment, then close the listener, then let requests in flight finish (httpd
# serves each in a child that exiting here would kill).
trap 'sleep 1; kill "$pid"; sleep 0.5; exit 0' TERM INT
httpd -f -v -p 80 -h /www &
pid=$!
wait "$pid"
