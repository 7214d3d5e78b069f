"""Ingresses through the real kubectl and the real apiserver and etcd, and the real
ingress controller process (`python -m ingress`) routing to a backend of this module
on loopback (a Service with hand-made Endpoints and an EndpointSlice: no Docker).

- the default IngressClass `minik` exists; `kubectl create ingress` gets it by the
  DefaultIngressClass admission plugin; a named class is kept;
- get columns and describe as kubectl prints them (rules, backends, endpoints, TLS);
- bad Ingresses are refused with the field named and nothing stored;
- the controller routes by host and path, answers 404, and publishes its address."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deploy import processes
from deploy.controlplane import ApiServer
from tests.support.components import spawn_ingress
from tests.support.kubectl import ALL_MINORS, Kubectl, installed_kubectl
from tests.support.scrape import scrape
from tests.support.wait import eventually


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = f"backend saw {self.path} for {self.headers.get('Host')}\n".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def backend() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def test_default_class_and_kubectl_create_get_describe(
    kubectl: Kubectl, http: httpx.Client, namespace: str
) -> None:
    ns = ("-n", namespace)
    classes = kubectl.run("get", "ingressclass", "minik").stdout.split()
    assert classes[:7] == [
        "NAME",
        "CONTROLLER",
        "PARAMETERS",
        "AGE",
        "minik",
        "minik.io/ingress",
        "<none>",
    ]
    out = kubectl.run(*ns, "create", "ingress", "x", "--rule=foo.com/bar=svc:80")
    assert out.stdout == "ingress.networking.k8s.io/x created\n"
    kubectl.run(
        *ns, "create", "ingress", "y", "--class=other", "--rule=foo.com/*=svc:http,tls=y-tls"
    )
    x = http.get(f"/apis/networking.k8s.io/v1/namespaces/{namespace}/ingresses/x").json()
    assert x["spec"]["ingressClassName"] == "minik"  # DefaultIngressClass
    assert x["spec"]["rules"][0]["http"]["paths"][0] == {
        "path": "/bar",
        "pathType": "Exact",
        "backend": {"service": {"name": "svc", "port": {"number": 80}}},
    }
    assert x["status"] == {"loadBalancer": {}}
    rows = [line.split() for line in kubectl.run(*ns, "get", "ingress").stdout.splitlines()]
    assert rows[0] == ["NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"]
    assert rows[1][:4] == ["x", "minik", "foo.com", "80"]
    assert rows[2][:5] == ["y", "other", "foo.com", "80,", "443"]
    described = kubectl.run(*ns, "describe", "ingress", "y").stdout
    assert "Ingress Class:    other" in described
    assert "y-tls terminates foo.com" in described
    assert 'svc:http (<error: services "svc" not found>)' in described
    explained = kubectl.run("explain", "ingress.spec.rules.http.paths").stdout
    assert "pathType" in explained and "networking.k8s.io" in explained


def test_bad_ingresses_are_refused_naming_the_field(kubectl: Kubectl, namespace: str) -> None:
    manifest = """
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: bad}
spec:
  rules:
  - host: "*.foo.*"
    http:
      paths:
      - {path: api, pathType: Prefix, backend: {service: {name: svc}}}
      - {path: /x, backend: {service: {name: svc, port: {number: 80}}}}
"""
    err = kubectl.fails("-n", namespace, "apply", "-f", "-", input=manifest).stderr
    assert 'The Ingress "bad" is invalid' in err
    assert 'spec.rules[0].host: Invalid value: "*.foo.*": a wildcard DNS-1123 subdomain' in err
    assert 'spec.rules[0].http.paths[0].path: Invalid value: "api": must be an absolute path' in err
    assert "spec.rules[0].http.paths[0].backend: Required value: port name or number" in err
    assert "spec.rules[0].http.paths[1].pathType: Required value: pathType must be specified" in err
    assert kubectl.fails("-n", namespace, "get", "ingress", "bad").returncode == 1


@pytest.fixture
def controller(
    apiserver: ApiServer, tmp_path: Path
) -> Iterator[tuple[int, int, processes.Process]]:
    """(http port, metrics port, process)."""
    port, metrics_port = processes.free_port(), processes.free_port()
    log = tmp_path / "ingress.log"
    proc = spawn_ingress(
        apiserver,
        log,
        port,
        processes.free_port(),
        "--node-name",
        "no-such-node",
        "--metrics-bind-address",
        f"127.0.0.1:{metrics_port}",
    )
    yield port, metrics_port, proc
    if proc.alive():
        proc.stop()


def test_the_controller_routes_and_publishes_its_address(
    kubectl: Kubectl,
    http: httpx.Client,
    namespace: str,
    backend: int,
    controller: tuple[int, int, processes.Process],
) -> None:
    port, metrics_port, proc = controller
    manifest = f"""
apiVersion: v1
kind: Service
metadata: {{name: app}}
spec: {{ports: [{{name: http, port: 80, targetPort: {backend}}}]}}
---
apiVersion: v1
kind: Endpoints
metadata: {{name: app}}
subsets: [{{addresses: [{{ip: 127.0.0.1}}], ports: [{{name: http, port: {backend}}}]}}]
---
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata: {{name: app-1, labels: {{kubernetes.io/service-name: app}}}}
addressType: IPv4
endpoints: [{{addresses: [127.0.0.1], conditions: {{ready: true}}}}]
ports: [{{name: http, port: {backend}, protocol: TCP}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {{name: demo}}
spec:
  rules:
  - host: demo-{namespace}.local
    http:
      paths:
      - {{path: /api, pathType: Prefix, backend: {{service: {{name: app, port: {{name: http}}}}}}}}
"""
    kubectl.run("-n", namespace, "apply", "-f", "-", input=manifest)
    url = f"http://127.0.0.1:{port}"
    host = {"Host": f"demo-{namespace}.local"}

    def routed() -> str:
        assert proc.alive(), proc.log_tail()
        r = httpx.get(f"{url}/api/v1?q=1", headers=host, timeout=2)
        assert r.status_code == 200, r.text
        return r.text

    text = eventually(
        routed,
        timeout=20,
        message="routed through the ingress",
        retry_on=(OSError, httpx.HTTPError),
    )
    assert text == f"backend saw /api/v1?q=1 for demo-{namespace}.local\n"
    assert httpx.get(f"{url}/apiv1", headers=host, timeout=2).status_code == 404
    assert httpx.get(f"{url}/api", headers={"Host": "other.local"}, timeout=2).status_code == 404

    # ingress-nginx's request counter, by backend Service and status (the unmatched
    # requests have no Service); the fast and the streams path both count
    # (a POST with Expect goes the streams path; the backend has no POST: 501)
    r = httpx.post(f"{url}/api/x", headers={**host, "Expect": "100-continue"}, content=b"hi")
    assert r.status_code == 501, r.text
    counted = scrape(f"http://127.0.0.1:{metrics_port}/metrics")
    requests = "nginx_ingress_controller_requests_total"
    served = {"namespace": namespace, "service": "app", "status": "200"}
    assert counted.value(requests, method="GET", **served) >= 1
    assert counted.value(requests, method="POST", **{**served, "status": "501"}) == 1
    assert counted.value(requests, namespace="", service="", status="404") == 2
    assert counted.has("process_resident_memory_bytes")

    def published() -> list[str]:
        rows = kubectl.run("-n", namespace, "get", "ingress", "demo").stdout.splitlines()
        cells = rows[1].split()
        assert cells[3] == "127.0.0.1", rows
        return cells

    eventually(published, timeout=20, message="status.loadBalancer published")
    described = kubectl.run("-n", namespace, "describe", "ingress", "demo").stdout
    assert f"/api   app:http (127.0.0.1:{backend})" in described
    assert "Address:          127.0.0.1" in described

    proc.stop()  # SIGTERM: a graceful stop takes the address back

    def withdrawn() -> bool:
        ing = http.get(f"/apis/networking.k8s.io/v1/namespaces/{namespace}/ingresses/demo").json()
        assert ing["status"]["loadBalancer"] == {}, ing["status"]
        return True

    eventually(withdrawn, timeout=10, message="the address withdrawn on stop")


def test_the_example_applies(kubectl: Kubectl, namespace: str) -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "ingress.yaml"
    out = kubectl.run("-n", namespace, "apply", "-f", str(example)).stdout
    assert "ingress.networking.k8s.io/demo created" in out
    rows = kubectl.run("-n", namespace, "get", "ingress", "demo").stdout.splitlines()
    assert rows[1].split()[:3] == ["demo", "minik", "demo.local"]


def test_the_official_client_networking_v1_api(apiserver: ApiServer, namespace: str) -> None:
    from kubernetes import client, config

    configuration = client.Configuration()
    config.load_kube_config(str(apiserver.kubeconfig), client_configuration=configuration)
    with client.ApiClient(configuration) as api_client:
        net = client.NetworkingV1Api(api_client)
        classes = {c.metadata.name: c for c in net.list_ingress_class().items}
        assert classes["minik"].spec.controller == "minik.io/ingress"
        backend = client.V1IngressBackend(
            service=client.V1IngressServiceBackend(
                name="app", port=client.V1ServiceBackendPort(number=80)
            )
        )
        body = client.V1Ingress(
            metadata=client.V1ObjectMeta(name="py"),
            spec=client.V1IngressSpec(
                rules=[
                    client.V1IngressRule(
                        host="py.local",
                        http=client.V1HTTPIngressRuleValue(
                            paths=[
                                client.V1HTTPIngressPath(
                                    path="/", path_type="Prefix", backend=backend
                                )
                            ]
                        ),
                    )
                ]
            ),
        )
        created = net.create_namespaced_ingress(namespace, body)
        assert created.spec.ingress_class_name == "minik"
        status = {"status": {"loadBalancer": {"ingress": [{"ip": "10.0.0.7"}]}}}
        patched = net.patch_namespaced_ingress_status("py", namespace, status)
        assert patched.status.load_balancer.ingress[0].ip == "10.0.0.7"
        listed = net.list_namespaced_ingress(namespace).items
        assert [i.metadata.name for i in listed] == ["py"]


@pytest.mark.parametrize("minor", [m for m in ALL_MINORS if m], ids=lambda m: m)
def test_create_and_get_ingress_across_kubectl_minors(
    apiserver: ApiServer, namespace: str, tmp_path: Path, minor: str
) -> None:
    """The machine's kubectl (1.32) does the same in the tests above."""
    kubectl = installed_kubectl(minor, apiserver.kubeconfig, tmp_path / "cache")
    ns = ("-n", namespace)
    out = kubectl.run(*ns, "create", "ingress", "m", "--rule=m.local/=svc:80,tls=m-tls").stdout
    assert out == "ingress.networking.k8s.io/m created\n"
    rows = [line.split() for line in kubectl.run(*ns, "get", "ing").stdout.splitlines()]
    assert rows[1][:5] == ["m", "minik", "m.local", "80,", "443"]
    assert "m-tls terminates m.local" in kubectl.run(*ns, "describe", "ing", "m").stdout
