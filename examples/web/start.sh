#!/bin/sh
# Answer every request with this container's hostname (the pod name) and version.
mkdir -p /www
echo "hello from $(hostname) (${VERSION:-v1})" > /www/index.html
echo "ok" > /www/healthz
exec httpd -f -v -p 80 -h /www
