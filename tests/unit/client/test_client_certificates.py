"""A kubeconfig's client certificate from files or inline (`client-certificate-data`,
`client-key-data`, as kubeadm's kubeconfigs carry it): the client presents it in a real
TLS handshake with a server that requires one."""

from __future__ import annotations

import base64
import socket
import ssl
import threading
from pathlib import Path

import pytest

from client.kubeconfig import KubeconfigError, parse
from client.rest import _verify
from componentbase.pki import ensure_serving_cert, issue_client_cert


def kubeconfig(user: dict[str, str], ca: Path) -> dict:
    return {
        "current-context": "c",
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
        "clusters": [
            {
                "name": "k",
                "cluster": {
                    "server": "https://127.0.0.1:1",
                    "certificate-authority-data": base64.b64encode(ca.read_bytes()).decode(),
                },
            }
        ],
        "users": [{"name": "u", "user": user}],
    }


def presented_name(ctx: ssl.SSLContext, pki: Path) -> str:
    """The CN the client's certificate shows to a server that requires one."""
    served = ensure_serving_cert(pki)
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.load_cert_chain(served.cert, served.key)
    server_ctx.load_verify_locations(served.ca_cert)
    server_ctx.verify_mode = ssl.CERT_REQUIRED
    seen: list[str] = []
    with socket.create_server(("127.0.0.1", 0)) as listener:

        def serve() -> None:
            conn, _ = listener.accept()
            with server_ctx.wrap_socket(conn, server_side=True) as tls:
                subject = dict(x[0] for x in tls.getpeercert()["subject"])
                seen.append(subject["commonName"])

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        port = listener.getsockname()[1]
        raw = socket.create_connection(("127.0.0.1", port), timeout=5)
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1"):
            pass
        thread.join(5)
    return seen[0]


@pytest.mark.parametrize("inline", [(True, True), (True, False), (False, True), (False, False)])
def test_client_certificate_from_data_or_files(tmp_path: Path, inline: tuple[bool, bool]) -> None:
    pki = tmp_path / "pki"
    cert, key = issue_client_cert(pki, tmp_path / "user", "jane", ("team",))
    user = {}
    if inline[0]:
        user["client-certificate-data"] = base64.b64encode(cert.read_bytes()).decode()
    else:
        user["client-certificate"] = str(cert)
    if inline[1]:
        user["client-key-data"] = base64.b64encode(key.read_bytes()).decode()
    else:
        user["client-key"] = str(key)
    config = parse(kubeconfig(user, pki / "ca.crt"))
    ctx = _verify(config)
    assert isinstance(ctx, ssl.SSLContext)
    assert presented_name(ctx, pki) == "jane"


def test_a_certificate_without_a_key_is_a_clear_error(tmp_path: Path) -> None:
    pki = tmp_path / "pki"
    cert, _ = issue_client_cert(pki, tmp_path / "user", "jane")
    data = base64.b64encode(cert.read_bytes()).decode()
    config = parse(kubeconfig({"client-certificate-data": data}, pki / "ca.crt"))
    with pytest.raises(KubeconfigError, match="no key"):
        _verify(config)
    with pytest.raises(KubeconfigError, match="client-key-data is not valid base64"):
        parse(kubeconfig({"client-key-data": "@@@"}, pki / "ca.crt"))
