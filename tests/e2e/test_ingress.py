"""Ingress on real Docker: two busybox httpd Deployments behind two Services, one
Ingress routing host `demo.local` `/api` and `/web` to them and a TLS host whose
certificate comes from a Secret; the real controller manager (deployments, endpoints),
a real kubelet and the real ingress controller process on loopback ports.

- requests to 127.0.0.1:<http port> with `Host: demo.local` reach the right pods;
  other paths and hosts get 404;
- HTTPS with SNI `secure.demo.local` is answered with the Secret's certificate;
- the Ingress shows the controller's address in `kubectl get ingress`."""

from __future__ import annotations

import base64
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from componentbase.pki import self_signed_pem
from deploy import processes
from deploy.controlplane import ApiServer
from tests.e2e.conftest import KubeletProcess
from tests.support.components import spawn_ingress
from tests.support.controllermanager import ManagerProcess
from tests.support.images import BUSYBOX_IMAGE
from tests.support.kubectl import Kubectl
from tests.support.wait import eventually

pytestmark = pytest.mark.slow

TLS_HOST = "secure.demo.local"


@pytest.fixture(scope="module")
def controllers(apiserver: ApiServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    workdir = tmp_path_factory.mktemp("cm")
    names = "deployment,replicaset,endpoints,endpointslice,garbagecollector"
    proc = ManagerProcess(apiserver, workdir, "--controllers", names).start()
    yield
    proc.stop()


@pytest.fixture(scope="module")
def ingress(
    apiserver: ApiServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[int, int, processes.Process]]:
    http_port, https_port = processes.free_port(), processes.free_port()
    log = tmp_path_factory.mktemp("ingress") / "ingress.log"
    proc = spawn_ingress(apiserver, log, http_port, https_port)
    yield http_port, https_port, proc
    proc.stop()


def deployment(name: str, node: str) -> str:
    script = (
        f"mkdir -p /www/{name} && echo {name} > /www/{name}/hello.txt "
        "&& exec httpd -f -p 8080 -h /www"
    )
    return f"""
apiVersion: apps/v1
kind: Deployment
metadata: {{name: {name}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      nodeName: {node}
      terminationGracePeriodSeconds: 1
      containers:
      - name: httpd
        image: {BUSYBOX_IMAGE}
        imagePullPolicy: IfNotPresent
        command: [sh, -c, "{script}"]
        ports: [{{name: http, containerPort: 8080}}]
---
apiVersion: v1
kind: Service
metadata: {{name: {name}}}
spec:
  selector: {{app: {name}}}
  ports: [{{name: http, port: 80, targetPort: http}}]
"""


def ingress_manifest(cert: bytes, key: bytes) -> str:
    return f"""
apiVersion: v1
kind: Secret
metadata: {{name: demo-tls}}
type: kubernetes.io/tls
data:
  tls.crt: {base64.b64encode(cert).decode()}
  tls.key: {base64.b64encode(key).decode()}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: demo}}
spec:
  tls:
  - {{hosts: [{TLS_HOST}], secretName: demo-tls}}
  rules:
  - host: demo.local
    http:
      paths:
      - {{path: /api, pathType: Prefix, backend: {{service: {{name: api, port: {{number: 80}}}}}}}}
      - {{path: /web, pathType: Prefix, backend: {{service: {{name: web, port: {{name: http}}}}}}}}
  - host: {TLS_HOST}
    http:
      paths:
      - {{path: /, pathType: Prefix, backend: {{service: {{name: web, port: {{number: 80}}}}}}}}
"""


def https_get(port: int, cert: bytes, path: str) -> bytes:
    """One GET with SNI TLS_HOST, verified against the Secret's certificate."""
    context = ssl.create_default_context(cadata=cert.decode())
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        context.wrap_socket(raw, server_hostname=TLS_HOST) as tls,
    ):
        tls.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {TLS_HOST}\r\nConnection: close\r\n\r\n".encode()
        )
        data = b""
        while chunk := tls.recv(4096):
            data += chunk
    return data


def test_ingress_routes_hosts_and_paths_to_pods_and_terminates_tls(
    kubectl: Kubectl,
    namespace: str,
    kubelet: KubeletProcess,
    controllers: None,
    ingress: tuple[int, int, processes.Process],
    tmp_path: Path,
) -> None:
    http_port, https_port, proc = ingress
    cert, key = self_signed_pem(TLS_HOST, (TLS_HOST,))
    manifest = deployment("api", kubelet.node) + "---" + deployment("web", kubelet.node)
    manifest += "---" + ingress_manifest(cert, key)
    kubectl.run("-n", namespace, "apply", "-f", "-", input=manifest)
    url = f"http://127.0.0.1:{http_port}"
    demo = {"Host": "demo.local"}

    def served(path: str, expected: str) -> bool:
        assert proc.alive(), proc.log_tail()
        r = httpx.get(f"{url}{path}", headers=demo, timeout=3)
        assert r.status_code == 200, (r.status_code, r.text)
        assert r.text == f"{expected}\n"
        return True

    retry = (OSError, httpx.HTTPError)
    eventually(lambda: served("/api/hello.txt", "api"), timeout=60, message="/api", retry_on=retry)
    eventually(lambda: served("/web/hello.txt", "web"), timeout=30, message="/web", retry_on=retry)
    with httpx.Client(base_url=url, headers=demo, timeout=3) as client:  # one keep-alive client
        for _ in range(5):
            assert client.get("/api/hello.txt").text == "api\n"
            assert client.get("/web/hello.txt").text == "web\n"
        assert client.get("/other").status_code == 404
        assert client.get("/api/hello.txt", headers={"Host": "nope.local"}).status_code == 404

    answer = https_get(https_port, cert, "/web/hello.txt")
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    assert answer.endswith(b"\r\n\r\nweb\n")

    def addressed() -> bool:
        rows = kubectl.run("-n", namespace, "get", "ingress", "demo").stdout.splitlines()
        assert rows[1].split()[1:5] == ["minik", f"demo.local,{TLS_HOST}", "127.0.0.1", "80,"]
        return True

    eventually(addressed, timeout=20, message="the ingress's address published")
