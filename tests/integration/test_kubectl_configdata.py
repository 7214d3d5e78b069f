"""ConfigMaps and Secrets through the real kubectl 1.32 (whose `create` sends protobuf)
against the real apiserver and etcd: create, get, describe, apply with stringData,
immutability and typed-secret checks with Kubernetes' messages."""

from __future__ import annotations

import base64
import json
import textwrap
from pathlib import Path

import httpx

from componentbase.pki import ensure_ca
from tests.support.kubectl import Kubectl


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_create_get_describe_configmap_and_secrets(
    kubectl: Kubectl, http: httpx.Client, namespace: str, tmp_path: Path
) -> None:
    ns = ("-n", namespace)
    conf = tmp_path / "app.conf"
    conf.write_text("port=8080\n")
    out = kubectl.run(
        *ns, "create", "configmap", "app", "--from-literal=mode=prod", f"--from-file={conf}"
    )
    assert out.stdout == "configmap/app created\n"
    out = kubectl.run(*ns, "create", "secret", "generic", "creds", "--from-literal=password=s3cr=t")
    assert out.stdout == "secret/creds created\n"
    cert, key = ensure_ca(tmp_path / "pki")
    out = kubectl.run(*ns, "create", "secret", "tls", "web-tls", f"--cert={cert}", f"--key={key}")
    assert out.stdout == "secret/web-tls created\n"

    cm = http.get(f"/api/v1/namespaces/{namespace}/configmaps/app").json()
    assert cm["data"] == {"mode": "prod", "app.conf": "port=8080\n"}
    creds = http.get(f"/api/v1/namespaces/{namespace}/secrets/creds").json()
    assert creds["type"] == "Opaque" and creds["data"] == {"password": b64("s3cr=t")}
    tls = http.get(f"/api/v1/namespaces/{namespace}/secrets/web-tls").json()
    assert tls["type"] == "kubernetes.io/tls"
    assert base64.b64decode(tls["data"]["tls.crt"]) == cert.read_bytes()

    lines = kubectl.run(*ns, "get", "cm,secrets").stdout.splitlines()
    rows = [line.split() for line in lines]
    assert rows[0] == ["NAME", "DATA", "AGE"]
    assert rows[1][:2] == ["configmap/app", "2"]
    assert rows[3] == ["NAME", "TYPE", "DATA", "AGE"]
    secret_rows = {r[0]: r[1:3] for r in rows[4:] if r}
    assert secret_rows == {
        "secret/creds": ["Opaque", "1"],
        "secret/web-tls": ["kubernetes.io/tls", "2"],
    }
    described = kubectl.run(*ns, "describe", "cm", "app").stdout
    assert "mode:" in described and "prod" in described and "port=8080" in described
    described = kubectl.run(*ns, "describe", "secret", "creds").stdout
    assert "Type:  Opaque" in described and "password:  6 bytes" in described
    assert "s3cr=t" not in described


def test_apply_with_string_data_never_returns_it(
    kubectl: Kubectl, http: httpx.Client, namespace: str, tmp_path: Path
) -> None:
    manifest = tmp_path / "secret.yaml"
    manifest.write_text(
        textwrap.dedent(
            """
            apiVersion: v1
            kind: Secret
            metadata:
              name: db
            data:
              user: YWRtaW4=
            stringData:
              password: first
            """
        )
    )
    ns = ("-n", namespace)
    assert kubectl.run(*ns, "apply", "-f", str(manifest)).stdout == "secret/db created\n"
    stored = http.get(f"/api/v1/namespaces/{namespace}/secrets/db").json()
    assert "stringData" not in stored
    assert stored["data"] == {"user": b64("admin"), "password": b64("first")}
    manifest.write_text(manifest.read_text().replace("first", "second"))
    assert kubectl.run(*ns, "apply", "-f", str(manifest)).stdout == "secret/db configured\n"
    shown = json.loads(kubectl.run(*ns, "get", "secret", "db", "-o", "json").stdout)
    assert "stringData" not in shown
    assert shown["data"]["password"] == b64("second")
    listed = http.get(f"/api/v1/namespaces/{namespace}/secrets").json()
    assert all("stringData" not in item for item in listed["items"])


def test_immutable_and_typed_secrets_are_refused(
    kubectl: Kubectl, http: httpx.Client, namespace: str, tmp_path: Path
) -> None:
    base = f"/api/v1/namespaces/{namespace}"
    body = {"metadata": {"name": "frozen"}, "data": {"a": "1"}, "immutable": True}
    assert http.post(f"{base}/configmaps", json=body).status_code == 201
    ns = ("-n", namespace)
    failed = kubectl.fails(*ns, "patch", "cm", "frozen", "--type=merge", "-p", '{"data":{"a":"2"}}')
    assert (
        'The ConfigMap "frozen" is invalid: data: Forbidden: field is immutable when '
        "`immutable` is set" in failed.stderr
    )
    failed = kubectl.fails(*ns, "patch", "cm", "frozen", "--type=merge", "-p", '{"immutable":null}')
    assert "immutable: Forbidden: field is immutable when `immutable` is set" in failed.stderr

    r = http.post(
        f"{base}/secrets",
        json={"metadata": {"name": "t"}, "type": "kubernetes.io/tls", "data": {"tls.crt": ""}},
    )
    assert r.status_code == 422
    assert r.json()["message"] == 'Secret "t" is invalid: data[tls.key]: Required value'
    r = http.post(
        f"{base}/secrets",
        json={"metadata": {"name": "d"}, "type": "kubernetes.io/dockerconfigjson"},
    )
    assert r.json()["message"] == 'Secret "d" is invalid: data[.dockerconfigjson]: Required value'
    r = http.post(f"{base}/secrets", json={"metadata": {"name": "b"}, "data": {"k": "no!"}})
    assert r.status_code == 400
    assert r.json()["message"] == (
        'Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte 2'
    )
    assert http.post(f"{base}/secrets", json={"metadata": {"name": "o"}}).status_code == 201
    r = http.patch(
        f"{base}/secrets/o",
        content=json.dumps({"type": "kubernetes.io/tls"}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert r.status_code == 422
    assert 'type: Invalid value: "kubernetes.io/tls": field is immutable' in r.json()["message"]
    bad_key = kubectl.fails(*ns, "create", "configmap", "k", "--from-literal=a b=1")
    assert "a valid config key must consist of alphanumeric characters" in bad_key.stderr
