"""Issue #11, "The kubelet and the apiserver's path to it": the kubelet's API against
a real kubelet (real Docker) and an apiserver running Node,RBAC.

Findings, each a test: the kubelet served plain HTTP and answered anyone for
/healthz; any token the apiserver accepted could read logs and run commands (no
authorization); `GET /exec/...` ran a command. Now: HTTPS with a certificate from the
cluster CA; anonymous callers 401; tokens and client certificates authorized with
SubjectAccessReview on nodes/proxy, nodes/log, nodes/stats, nodes/metrics (403
otherwise); exec only on POST or an upgrade. The apiserver still reaches the kubelet
(its own client certificate, system:masters), so `kubectl logs` and `kubectl exec`
keep working.

Run under `flock /tmp/minik-e2e.lock` (Docker)."""

from __future__ import annotations

import secrets
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from componentbase.pki import issue_client_cert
from deploy.controlplane import ApiServer, Etcd, make_workdir, remove_workdir, start_apiserver
from tests.e2e.conftest import (
    KubeletProcess,
    create_pod,
    is_ready,
    pod_manifest,
    remove_network,
    remove_node_containers,
    wait_pod,
)
from tests.support.images import ensure_busybox_image
from tests.support.kubectl import Kubectl

NODE_PREFIX = "sec-kubeletapi"
NAMESPACE = "kubelet-api"
RBAC = "rbac.authorization.k8s.io/v1"


@dataclass
class Rig:
    apiserver: ApiServer
    kubelet: KubeletProcess
    viewer_token: str
    workdir: Path

    def client_cert(self, user: str, *groups: str) -> tuple[str, str]:
        cert, key = issue_client_cert(
            self.apiserver.workdir / "pki", self.workdir / "certs", user, groups
        )
        return str(cert), str(key)


@pytest.fixture(scope="module")
def rig(etcd: Etcd) -> Iterator[Rig]:
    """An RBAC apiserver that verifies its kubelets' certificates, one kubelet with a
    running pod `app` (container `c`) in NAMESPACE."""
    busybox = ensure_busybox_image()
    workdir = make_workdir("minik-sec-kubeletapi-")
    network = f"minik-sec-{secrets.token_hex(3)}"
    api = start_apiserver(etcd, workdir / "apiserver", verify_kubelets=True)
    viewer = next(
        line.split(",")[0]
        for line in api.token_file.read_text().splitlines()
        if line.split(",")[1] == "viewer"
    )
    node = f"{NODE_PREFIX}-{secrets.token_hex(3)}"
    kubelet = KubeletProcess(
        api, node, workdir / node, _free_port(), network, workdir, ["--cpu", "1"]
    )
    try:
        kubelet.start()
        with api.http() as http:
            http.delete(f"/api/v1/namespaces/{NAMESPACE}")
            r = http.post("/api/v1/namespaces", json={"metadata": {"name": NAMESPACE}})
            assert r.status_code in (201, 409), r.text
            container = {
                "name": "c",
                "image": busybox,
                "command": ["sh", "-c", "echo hello; sleep 3600"],
            }
            create_pod(http, NAMESPACE, pod_manifest("app", node, [container]))
            wait_pod(http, NAMESPACE, "app", is_ready, 60, "Ready")
        yield Rig(api, kubelet, viewer, workdir)
    finally:
        kubelet.stop()
        remove_node_containers(node)
        remove_network(network)
        api.stop()
        remove_workdir(workdir)


def _free_port() -> int:
    from deploy.processes import free_port

    return free_port()


LOGS = f"/containerLogs/{NAMESPACE}/app/c"
EXEC = f"/exec/{NAMESPACE}/app/c"


def test_kubelet_serves_https_with_a_certificate_from_the_cluster_ca(rig: Rig) -> None:
    context = ssl.create_default_context(cafile=str(rig.apiserver.ca_file))
    with httpx.Client(verify=context) as client:
        r = client.get(f"{rig.kubelet.url}/healthz", timeout=10)
    assert r.status_code == 401  # TLS verified against the CA; then no credentials
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{rig.kubelet.port}/healthz", timeout=5)


def test_kubelet_refuses_anonymous_callers(rig: Rig) -> None:
    """Finding: /healthz answered anyone and the API spoke plain HTTP."""
    with rig.kubelet.http() as anonymous:
        for path in ("/healthz", "/pods", LOGS, "/metrics", "/metrics/resource", "/stats/summary"):
            r = anonymous.get(path)
            assert r.status_code == 401, (path, r.text)
            assert r.text == "Unauthorized"
        assert anonymous.post(EXEC, params={"command": "true"}).status_code == 401


def test_kubelet_refuses_a_token_it_cannot_review(rig: Rig) -> None:
    with rig.kubelet.http("not-a-token") as bad:
        assert bad.get(LOGS).status_code == 401


def test_token_without_nodes_proxy_is_refused_logs_and_exec(rig: Rig) -> None:
    """Finding: any token the apiserver accepted could read logs and run commands. The
    viewer (system:authenticated only) has no nodes/* rights under RBAC."""
    node = rig.kubelet.node
    with rig.kubelet.http(rig.viewer_token) as viewer:
        logs = viewer.get(LOGS)
        assert logs.status_code == 403, logs.text
        assert logs.text == (
            "Forbidden (user=viewer, verb=get, resource=nodes, subresource=proxy)"
        ), node
        ran = viewer.post(EXEC, params={"command": ["sh", "-c", "echo ran"]})
        assert ran.status_code == 403
        assert "verb=create, resource=nodes, subresource=proxy" in ran.text
        assert viewer.get("/metrics").status_code == 403
        assert "subresource=stats" in viewer.get("/stats/summary").text
    with rig.kubelet.http(rig.apiserver.token) as admin:  # system:masters
        assert admin.get(LOGS).text == "hello\n"
        assert admin.post(EXEC, params={"command": ["sh", "-c", "echo ran"]}).text == "ran\n"


def test_stream_upgrades_are_checked_before_anything_runs(rig: Rig) -> None:
    """A WebSocket exec handshake (a GET) without credentials is 401; with a token
    allowed only nodes/proxy `get` it would still need `create`: the viewer gets 403."""
    url = rig.kubelet.url.replace("https://", "wss://") + EXEC + "?command=true&stdout=true"
    context = ssl.create_default_context(cafile=str(rig.apiserver.ca_file))
    for headers, code in (({}, 401), ({"Authorization": f"Bearer {rig.viewer_token}"}, 403)):
        with pytest.raises(InvalidStatus) as refused:
            connect(
                url,
                ssl=context,
                additional_headers=headers,
                subprotocols=["v4.channel.k8s.io"],  # type: ignore[list-item]
                open_timeout=20,
            )
        assert refused.value.response.status_code == code
    body = bytes(refused.value.response.body or b"").decode()
    assert body == "Forbidden (user=viewer, verb=create, resource=nodes, subresource=proxy)"


def test_client_certificates_are_authenticated_and_authorized_by_subresource(rig: Rig) -> None:
    """CN the user, O the groups; each path asks for its own nodes/<subresource>."""
    nobody = rig.client_cert("cert-nobody")
    with rig.kubelet.http(cert=nobody) as client:
        r = client.get(LOGS)
        assert r.status_code == 403
        assert r.text.startswith("Forbidden (user=cert-nobody, verb=get")
    masters = rig.client_cert("cert-admin", "system:masters")
    with rig.kubelet.http(cert=masters) as client:
        assert client.get(LOGS).text == "hello\n"
    # A role with nodes/stats and nodes/metrics only, as metrics-server's.
    reader = rig.client_cert("cert-stats")
    group = "rbac.authorization.k8s.io"
    stats = [{"apiGroups": [""], "resources": ["nodes/stats", "nodes/metrics"], "verbs": ["get"]}]
    role = {
        "apiVersion": RBAC,
        "kind": "ClusterRole",
        "metadata": {"name": "sec-kubelet-stats"},
        "rules": stats,
    }
    binding = {
        "apiVersion": RBAC,
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "sec-kubelet-stats"},
        "roleRef": {"apiGroup": group, "kind": "ClusterRole", "name": "sec-kubelet-stats"},
        "subjects": [{"apiGroup": group, "kind": "User", "name": "cert-stats"}],
    }
    with rig.apiserver.http() as api:
        for plural, obj in (("clusterroles", role), ("clusterrolebindings", binding)):
            r = api.post(f"/apis/rbac.authorization.k8s.io/v1/{plural}", json=obj)
            assert r.status_code == 201, r.text
    with rig.kubelet.http(cert=reader) as client:
        assert client.get("/stats/summary").status_code == 200
        assert client.get("/metrics/resource").status_code == 200
        assert client.get("/metrics").status_code == 200
        assert client.get(LOGS).status_code == 403
        assert client.get("/pods").status_code == 403
        assert "subresource=proxy" in client.post(EXEC, params={"command": "true"}).text


def test_the_metrics_servers_identity_reads_metrics_and_stats_only(rig: Rig) -> None:
    """The bootstrap ClusterRole system:metrics-server (bound to the group of that
    name, the metrics server's in `minik up`) covers nodes/metrics and nodes/stats."""
    metrics_server = rig.client_cert("metrics-server", "system:metrics-server")
    with rig.kubelet.http(cert=metrics_server) as client:
        assert client.get("/metrics/resource").status_code == 200
        assert client.get("/stats/summary").status_code == 200
        assert client.get(LOGS).status_code == 403
        assert client.post(EXEC, params={"command": "true"}).status_code == 403


def test_get_exec_runs_nothing(rig: Rig) -> None:
    """Finding: `GET /exec/...?command=` ran the command. Commands run only on POST or
    an upgrade (kubectl's exec is a POST SPDY upgrade or a WebSocket)."""
    marker = f"/tmp/ran-{secrets.token_hex(3)}"
    with rig.kubelet.http(rig.apiserver.token) as admin:
        r = admin.get(EXEC, params={"command": ["touch", marker]})
        assert r.status_code == 405
        check = admin.post(EXEC, params={"command": ["sh", "-c", f"test -e {marker}; echo $?"]})
        assert check.text == "1\n"  # not created
    with rig.apiserver.http() as api:
        r = api.get(f"/api/v1/namespaces/{NAMESPACE}/pods/app/exec", params={"command": "true"})
        assert r.status_code == 400
        assert "Upgrade request required" in r.text


def test_kubectl_logs_and_exec_work_through_the_apiserver(rig: Rig, tmp_path: Path) -> None:
    """The apiserver reaches the kubelet with its own client certificate, verifying
    the kubelet's serving certificate with the CA."""
    kubectl = Kubectl(rig.apiserver.kubeconfig, tmp_path / "cache")
    assert kubectl.run("-n", NAMESPACE, "logs", "app").stdout == "hello\n"
    out = kubectl.run("-n", NAMESPACE, "exec", "app", "--", "sh", "-c", "echo $((6*7))")
    assert out.stdout == "42\n"
    # the viewer may not exec (pods/exec under RBAC), whatever the kubelet would say
    with rig.apiserver.http(rig.viewer_token) as viewer:
        r = viewer.post(f"/api/v1/namespaces/{NAMESPACE}/pods/app/exec", params={"command": "true"})
        assert r.status_code == 403
