#!/bin/sh
# Answer every request with this container's hostname (the pod name) and version.
mkdir -p /www
echo "hello from $(hostname) (${VERSION:-v1})" > /www/index.html
echo "ok" > /www/healthz
# As PID 1, httpd would ignore SIGTERM; stop promptly when the kubelet asks.
trap 'kill "$pid"; exit 0' TERM INT
httpd -f -v -p 80 -h /www &
pid=$!
wait "$pid"
