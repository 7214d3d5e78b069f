"""Issue #11, "The kubelet and the apiserver's path to it": what the apiserver sends
to a kubelet, and where it agrees to send it.

Findings: a kubelet token rewrote its Node's address, and an admin's `kubectl logs`
delivered the admin's bearer token to the listener there; the address was also used
to fetch an arbitrary URL. Now the apiserver dials kubelets over TLS with its own
client certificate (CN kube-apiserver-kubelet-client, O system:masters) and never the
caller's token — on logs, WebSocket exec and SPDY exec alike — and refuses loopback,
link-local and malformed Node addresses unless it was started with
`--kubelet-allow-local-addresses` (the test control plane is: its kubelets run here).

The stand-in kubelet (tests/support/fakekubelet.py) is a TLS listener that asks for a
client certificate from the cluster CA and records every request's headers and
certificate subject. No Docker: real etcd and apiserver processes."""

from __future__ import annotations

import contextlib
import secrets
import socket
from collections.abc import Iterator

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from deploy.controlplane import ApiServer, Etcd, make_workdir, remove_workdir, start_apiserver
from tests.support.fakekubelet import FakeKubelet, node_manifest

CONTAINER = "c"


@pytest.fixture(scope="module")
def fake(apiserver: ApiServer) -> Iterator[FakeKubelet]:
    kubelet = FakeKubelet(client_ca=str(apiserver.ca_file))
    yield kubelet
    kubelet.shutdown()


@contextlib.contextmanager
def node_and_pod(api: httpx.Client, namespace: str, address: str, port: int) -> Iterator[str]:
    """A Node at `address`:`port` and a pod `p` running on it (the node's name);
    both deleted after."""
    node = _node_and_pod(api, namespace, address, port)
    try:
        yield node
    finally:
        api.delete(f"/api/v1/namespaces/{namespace}/pods/p", params={"gracePeriodSeconds": "0"})
        api.delete(f"/api/v1/nodes/{node}")


def _node_and_pod(api: httpx.Client, namespace: str, address: str, port: int) -> str:
    node = f"sec-path-{secrets.token_hex(3)}"
    manifest = node_manifest(node, port)
    manifest["status"]["addresses"] = [{"type": "InternalIP", "address": address}]
    r = api.post("/api/v1/nodes", json=manifest)
    assert r.status_code == 201, r.text
    pod = {
        "metadata": {"name": "p"},
        "spec": {"nodeName": node, "containers": [{"name": CONTAINER, "image": "x"}]},
    }
    r = api.post(f"/api/v1/namespaces/{namespace}/pods", json=pod)
    assert r.status_code == 201, r.text
    live = r.json()
    live["status"] = {
        "phase": "Running",
        "containerStatuses": [
            {
                "name": CONTAINER,
                "ready": True,
                "restartCount": 0,
                "image": "x",
                "imageID": "",
                "containerID": "docker://0123456789ab",
                "state": {"running": {"startedAt": "2026-01-01T00:00:00Z"}},
            }
        ],
    }
    r = api.put(f"/api/v1/namespaces/{namespace}/pods/p/status", json=live)
    assert r.status_code == 200, r.text
    return node


def _assert_apiserver_credentials(fake: FakeKubelet, path_prefix: str, token: str) -> None:
    seen = [r for r in fake.requests if r.path.startswith(path_prefix)]
    assert seen, [r.path for r in fake.requests]
    for request in seen:
        assert "authorization" not in request.headers, request.headers
        assert token not in repr(request.headers)
        assert request.client_subject == {
            "organizationName": "system:masters",
            "commonName": "kube-apiserver-kubelet-client",
        }, request.client_subject


def test_apiserver_never_forwards_the_callers_token_to_a_kubelet(
    apiserver: ApiServer, namespace: str, fake: FakeKubelet
) -> None:
    """pods/log: the fake kubelet answers; what reached it carries the apiserver's
    client certificate and no Authorization header."""
    fake.requests.clear()
    with apiserver.http() as api, node_and_pod(api, namespace, "127.0.0.1", fake.port):
        fake.add_log_line(namespace, "p", CONTAINER, "from the kubelet")
        r = api.get(f"/api/v1/namespaces/{namespace}/pods/p/log")
    assert r.status_code == 200, r.text
    assert r.text == "from the kubelet\n"
    logs = f"/containerLogs/{namespace}/p/{CONTAINER}"
    _assert_apiserver_credentials(fake, logs, apiserver.token)


def test_apiserver_never_forwards_the_callers_token_on_exec_upgrades(
    apiserver: ApiServer, namespace: str, fake: FakeKubelet
) -> None:
    """WebSocket and SPDY exec: the fake refuses the upgrade (404), after recording it."""
    fake.requests.clear()
    with apiserver.http() as api, node_and_pod(api, namespace, "127.0.0.1", fake.port):
        _exec_upgrades(apiserver, namespace, fake)


def _exec_upgrades(apiserver: ApiServer, namespace: str, fake: FakeKubelet) -> None:
    host = apiserver.url.removeprefix("https://")
    path = f"/api/v1/namespaces/{namespace}/pods/p/exec?command=true&stdout=true"
    context = apiserver.ssl_context()
    with pytest.raises(InvalidStatus) as refused:
        connect(
            f"wss://{host}{path}",
            ssl=context,
            additional_headers={"Authorization": f"Bearer {apiserver.token}"},
            subprotocols=["v4.channel.k8s.io"],  # type: ignore[list-item]
            open_timeout=20,
        )
    assert refused.value.response.status_code == 404
    _assert_apiserver_credentials(fake, f"/exec/{namespace}/p/{CONTAINER}", apiserver.token)

    fake.requests.clear()
    hostname, port = host.rsplit(":", 1)
    with (
        socket.create_connection((hostname, int(port)), timeout=20) as raw,
        context.wrap_socket(raw, server_hostname=hostname) as tls,
    ):
        request = (
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nConnection: Upgrade\r\n"
            "Upgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n"
            f"Authorization: Bearer {apiserver.token}\r\nContent-Length: 0\r\n\r\n"
        )
        tls.sendall(request.encode())
        status_line = tls.recv(4096).split(b"\r\n", 1)[0]
    assert status_line.split()[1] == b"404", status_line
    _assert_apiserver_credentials(fake, f"/exec/{namespace}/p/{CONTAINER}", apiserver.token)


@pytest.fixture(scope="module")
def remote_only(etcd: Etcd) -> Iterator[ApiServer]:
    """An apiserver that expects no kubelets on its own machine (the flag off)."""
    workdir = make_workdir("minik-sec-remote-")
    server = start_apiserver(etcd, workdir, local_kubelets=False)
    yield server
    server.stop()
    remove_workdir(workdir)


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback, link-local or unspecified"),
        ("::1", "loopback, link-local or unspecified"),
        ("169.254.169.254", "loopback, link-local or unspecified"),
        ("::ffff:127.0.0.1", "loopback, link-local or unspecified"),
        ("0.0.0.0", "loopback, link-local or unspecified"),
        ("localhost", "loopback, link-local or unspecified"),
        ("evil.example/x?y=", "neither an IP address nor a DNS name"),
    ],
)
def test_node_with_a_local_address_is_refused_as_a_proxy_target(
    remote_only: ApiServer, namespace: str, fake: FakeKubelet, address: str, why: str
) -> None:
    """A Node claiming a loopback or link-local address (or not an address at all) is
    not dialled: the request fails before any connection, saying why."""
    fake.requests.clear()
    with remote_only.http() as api:
        r = api.post("/api/v1/namespaces", json={"metadata": {"name": f"{namespace}-r"}})
        assert r.status_code == 201, r.text
        node = ""
        try:
            node = _node_and_pod(api, f"{namespace}-r", address, fake.port)
            r = api.get(f"/api/v1/namespaces/{namespace}-r/pods/p/log")
            assert r.status_code == 500, r.text
            message = r.json()["message"]
            assert f'cannot reach the kubelet of node "{node}"' in message
            assert why in message
            if why.startswith("loopback"):
                assert "--kubelet-allow-local-addresses" in message
            assert fake.requests == []
        finally:
            api.delete(f"/api/v1/nodes/{node}")
            api.delete(f"/api/v1/namespaces/{namespace}-r")


def test_a_verified_kubelet_certificate_is_required_when_a_ca_is_given(
    etcd: Etcd, namespace: str, fake: FakeKubelet
) -> None:
    """With --kubelet-certificate-authority the self-signed stand-in is refused at the
    TLS handshake: a forged address cannot even lead to a listener without the CA's
    certificate."""
    workdir = make_workdir("minik-sec-verify-")
    server = start_apiserver(etcd, workdir, verify_kubelets=True)
    try:
        fake.requests.clear()
        with server.http() as api:
            r = api.post("/api/v1/namespaces", json={"metadata": {"name": f"{namespace}-v"}})
            assert r.status_code == 201, r.text
            with node_and_pod(api, f"{namespace}-v", "127.0.0.1", fake.port):
                r = api.get(f"/api/v1/namespaces/{namespace}-v/pods/p/log")
            assert r.status_code == 500
            assert "CERTIFICATE_VERIFY_FAILED" in r.text, r.text
            assert fake.requests == []
            api.delete(f"/api/v1/namespaces/{namespace}-v")
    finally:
        server.stop()
        remove_workdir(workdir)
