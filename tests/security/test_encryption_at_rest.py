"""Issue 11: "Secrets were stored in plaintext in etcd": anyone who could read etcd
(its data directory, a backup, a snapshot) read every Secret. With
`--encryption-provider-config`, as kube-apiserver, the values of the configured
resources are encrypted by the first provider on their way to etcd and read back by
whichever provider's prefix they carry (apiserver/encryption).

A real etcd of this module's own (rotation rewrites every Secret it holds) and one
real apiserver, restarted with another EncryptionConfiguration where a test needs it."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import aetcd
import httpx
import pytest

from deploy.controlplane import ApiServer, Etcd, start_apiserver
from tests.support.kubectl import Kubectl

PLAINTEXT = "hunter2-do-not-store-me-in-the-clear"
KEY1 = base64.b64encode(b"k" * 32).decode()
KEY2 = base64.b64encode(os.urandom(32)).decode()
KEY3 = base64.b64encode(os.urandom(32)).decode()


def encryption_config(*providers: dict) -> str:
    return json.dumps(
        {
            "apiVersion": "apiserver.config.k8s.io/v1",
            "kind": "EncryptionConfiguration",
            "resources": [{"resources": ["secrets"], "providers": list(providers)}],
        }
    )


def aescbc(*names_and_secrets: tuple[str, str]) -> dict:
    return {"aescbc": {"keys": [{"name": n, "secret": s} for n, s in names_and_secrets]}}


KEY1_ONLY = encryption_config(aescbc(("key1", KEY1)))


@pytest.fixture(scope="module")
def config_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = Path(tmp_path_factory.mktemp("enc-config")) / "encryption.yaml"
    path.write_text(KEY1_ONLY)
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def server(
    own_etcd: Etcd, config_file: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ApiServer]:
    server = start_apiserver(
        own_etcd,
        Path(tmp_path_factory.mktemp("enc-apiserver")),
        extra_args=["--encryption-provider-config", str(config_file)],
    )
    yield server
    server.stop()


@pytest.fixture
def key1_only(server: ApiServer, config_file: Path) -> Iterator[ApiServer]:
    """The server with the module's first configuration (key1), restored after."""
    reconfigure(server, config_file, KEY1_ONLY)
    yield server
    reconfigure(server, config_file, KEY1_ONLY)


def reconfigure(server: ApiServer, config_file: Path, text: str) -> None:
    if config_file.read_text() != text:
        config_file.write_text(text)
        server.restart()


def raw(etcd: Etcd, key: str) -> bytes | None:
    """The value etcd holds under `key`, as a backup of it would."""

    async def read() -> bytes | None:
        url = urlparse(etcd.url)
        client = aetcd.Client(host=url.hostname or "127.0.0.1", port=url.port or 2379)
        try:
            await client.connect()
            kv = await client.get(key.encode())
            return None if kv is None else kv.value
        finally:
            await client.close()

    return asyncio.run(read())


def raw_put(etcd: Etcd, key: str, value: bytes | None) -> None:
    """Writes (None: deletes) `key` behind the apiserver's back."""

    async def put() -> None:
        url = urlparse(etcd.url)
        client = aetcd.Client(host=url.hostname or "127.0.0.1", port=url.port or 2379)
        try:
            await client.connect()
            if value is None:
                await client.delete(key.encode())
            else:
                await client.put(key.encode(), value)
        finally:
            await client.close()

    asyncio.run(put())


def delete_secrets(http: httpx.Client, ns: str, *names: str) -> None:
    """Secrets a test wrote under a configuration it is about to leave (they would not
    read under the next one, and `kubectl get secrets -A` reads them all)."""
    for name in names:
        r = http.delete(f"/api/v1/namespaces/{ns}/secrets/{name}")
        assert r.status_code == 200, r.text


def make_namespace(http: httpx.Client, name: str) -> None:
    r = http.post("/api/v1/namespaces", json={"metadata": {"name": name}})
    assert r.status_code in (201, 409), r.text


def create_secret(http: httpx.Client, ns: str, name: str) -> dict:
    body = {"metadata": {"name": name}, "stringData": {"password": PLAINTEXT}}
    r = http.post(f"/api/v1/namespaces/{ns}/secrets", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def password(secret: dict) -> str:
    return base64.b64decode(secret["data"]["password"]).decode()


def assert_sealed(value: bytes | None, prefix: bytes) -> None:
    assert value is not None
    assert value.startswith(prefix), value[:40]
    assert PLAINTEXT.encode() not in value
    assert base64.b64encode(PLAINTEXT.encode()) not in value
    assert b'"kind"' not in value  # no JSON at all, not just the data


def test_secret_is_encrypted_in_etcd_and_read_back_in_the_clear(
    key1_only: ApiServer, own_etcd: Etcd
) -> None:
    with key1_only.http() as http:
        make_namespace(http, "enc-basic")
        created = create_secret(http, "enc-basic", "db")
        assert password(created) == PLAINTEXT
        assert_sealed(raw(own_etcd, "/registry/secrets/enc-basic/db"), b"k8s:enc:aescbc:v1:key1:")
        got = http.get("/api/v1/namespaces/enc-basic/secrets/db").json()
        assert password(got) == PLAINTEXT
        listed = http.get("/api/v1/namespaces/enc-basic/secrets").json()["items"]
        assert [password(s) for s in listed] == [PLAINTEXT]
        # watches (and the watch cache under them) see plaintext too
        r = http.get(
            "/api/v1/namespaces/enc-basic/secrets",
            params={"watch": "true", "resourceVersion": "0", "timeoutSeconds": "1"},
        )
        events = [json.loads(line) for line in r.text.splitlines() if line]
        assert [(e["type"], password(e["object"])) for e in events] == [("ADDED", PLAINTEXT)]
        # an update is encrypted too, and a live watch gets it decrypted
        got["stringData"] = {"password": PLAINTEXT + "-v2"}
        r = http.put("/api/v1/namespaces/enc-basic/secrets/db", json=got)
        assert r.status_code == 200, r.text
        value = raw(own_etcd, "/registry/secrets/enc-basic/db")
        assert value is not None and value.startswith(b"k8s:enc:aescbc:v1:key1:")
        assert b"-v2" not in value
        r = http.get(
            "/api/v1/namespaces/enc-basic/secrets",
            params={
                "watch": "true",
                "resourceVersion": created["metadata"]["resourceVersion"],
                "timeoutSeconds": "1",
            },
        )
        events = [json.loads(line) for line in r.text.splitlines() if line]
        assert [(e["type"], password(e["object"])) for e in events] == [
            ("MODIFIED", PLAINTEXT + "-v2")
        ]


def test_resources_not_configured_are_stored_as_json(key1_only: ApiServer, own_etcd: Etcd) -> None:
    with key1_only.http() as http:
        make_namespace(http, "enc-plain")
        r = http.post(
            "/api/v1/namespaces/enc-plain/configmaps",
            json={"metadata": {"name": "cm"}, "data": {"k": "visible"}},
        )
        assert r.status_code == 201, r.text
    value = raw(own_etcd, "/registry/configmaps/enc-plain/cm")
    assert value is not None and value.startswith(b"{") and b"visible" in value


def test_rotation_reorder_keys_and_rewrite(
    key1_only: ApiServer, own_etcd: Etcd, config_file: Path, tmp_path: Path
) -> None:
    """Kubernetes' rotation: add key2 first (key1 still listed), restart, rewrite every
    Secret with `kubectl get secrets -A -o json | kubectl replace -f -`."""
    with key1_only.http() as http:
        make_namespace(http, "enc-rotate")
        create_secret(http, "enc-rotate", "old")
    key = "/registry/secrets/enc-rotate/old"
    assert_sealed(raw(own_etcd, key), b"k8s:enc:aescbc:v1:key1:")

    reconfigure(key1_only, config_file, encryption_config(aescbc(("key2", KEY2), ("key1", KEY1))))
    with key1_only.http() as http:
        # before the rewrite: still under key1, still readable
        assert_sealed(raw(own_etcd, key), b"k8s:enc:aescbc:v1:key1:")
        assert password(http.get("/api/v1/namespaces/enc-rotate/secrets/old").json()) == PLAINTEXT
        create_secret(http, "enc-rotate", "new")
        assert_sealed(raw(own_etcd, "/registry/secrets/enc-rotate/new"), b"k8s:enc:aescbc:v1:key2:")

    kubectl = Kubectl(key1_only.kubeconfig, tmp_path / "kubectl-cache")
    listed = kubectl.run("get", "secrets", "-A", "-o", "json").stdout
    kubectl.run("replace", "-f", "-", input=listed)
    assert_sealed(raw(own_etcd, key), b"k8s:enc:aescbc:v1:key2:")

    # key1 can now go: everything reads with key2 alone
    reconfigure(key1_only, config_file, encryption_config(aescbc(("key2", KEY2))))
    with key1_only.http() as http:
        assert password(http.get("/api/v1/namespaces/enc-rotate/secrets/old").json()) == PLAINTEXT
        delete_secrets(http, "enc-rotate", "old", "new")


def test_identity_first_still_reads_encrypted_values(
    key1_only: ApiServer, own_etcd: Etcd, config_file: Path
) -> None:
    """The way off encryption: identity first writes plaintext, the providers after it
    still read what they encrypted."""
    with key1_only.http() as http:
        make_namespace(http, "enc-identity")
        create_secret(http, "enc-identity", "sealed")
    reconfigure(key1_only, config_file, encryption_config({"identity": {}}, aescbc(("key1", KEY1))))
    with key1_only.http() as http:
        got = http.get("/api/v1/namespaces/enc-identity/secrets/sealed").json()
        assert password(got) == PLAINTEXT
        create_secret(http, "enc-identity", "open")
        value = raw(own_etcd, "/registry/secrets/enc-identity/open")
        assert value is not None and value.startswith(b"{") and b"password" in value
        delete_secrets(http, "enc-identity", "open")


def test_value_no_provider_opens_is_a_500_naming_the_key(
    key1_only: ApiServer, own_etcd: Etcd
) -> None:
    """A key no longer listed (or an unknown prefix) is Kubernetes' internal error for
    that object: get, list and watch answer it; the apiserver goes on serving."""
    with key1_only.http() as http:
        make_namespace(http, "enc-lost")
        start = create_secret(http, "enc-lost", "fine")["metadata"]["resourceVersion"]
        with http.stream(
            "GET",
            "/api/v1/namespaces/enc-lost/secrets",
            params={"watch": "true", "resourceVersion": start, "timeoutSeconds": "10"},
        ) as watch:
            key = "/registry/secrets/enc-lost/lost"
            raw_put(own_etcd, key, b"k8s:enc:aescbc:v1:gone:" + os.urandom(48))
            lines = [json.loads(line) for line in watch.iter_lines() if line]
        assert [e["type"] for e in lines] == ["ERROR"]
        assert lines[0]["object"]["code"] == 500
        assert key in lines[0]["object"]["message"]

        r = http.get("/api/v1/namespaces/enc-lost/secrets/lost")
        assert r.status_code == 500
        assert r.json()["reason"] == "InternalError"
        assert r.json()["message"] == (
            f'Internal error occurred: unable to transform key "{key}": no matching prefix found'
        )
        r = http.get("/api/v1/namespaces/enc-lost/secrets")
        assert r.status_code == 500 and key in r.json()["message"]
        # the other objects and the server itself are fine
        assert http.get("/api/v1/namespaces/enc-lost/secrets/fine").status_code == 200
        assert http.get("/readyz").status_code == 200
        r = http.delete("/api/v1/namespaces/enc-lost/secrets/fine")
        assert r.status_code == 200
    raw_put(own_etcd, key, None)


def test_a_value_moved_to_another_key_does_not_open_with_aesgcm(
    key1_only: ApiServer, own_etcd: Etcd, config_file: Path
) -> None:
    """aesgcm authenticates the etcd key: a ciphertext copied under another name is
    refused, not served as that object."""
    gcm = encryption_config({"aesgcm": {"keys": [{"name": "key1", "secret": KEY3}]}})
    reconfigure(key1_only, config_file, gcm)
    with key1_only.http() as http:
        make_namespace(http, "enc-gcm")
        create_secret(http, "enc-gcm", "a")
        value = raw(own_etcd, "/registry/secrets/enc-gcm/a")
        assert_sealed(value, b"k8s:enc:aesgcm:v1:key1:")
        assert value is not None
        raw_put(own_etcd, "/registry/secrets/enc-gcm/b", value)
        r = http.get("/api/v1/namespaces/enc-gcm/secrets/b")
        assert r.status_code == 500
        assert "message authentication failed" in r.json()["message"]
        raw_put(own_etcd, "/registry/secrets/enc-gcm/b", None)
        delete_secrets(http, "enc-gcm", "a")


def test_transformations_are_counted(key1_only: ApiServer) -> None:
    with key1_only.http() as http:
        make_namespace(http, "enc-metrics")
        create_secret(http, "enc-metrics", "m")
        http.get("/api/v1/namespaces/enc-metrics/secrets/m")
        text = http.get("/metrics").text
    labels = 'transformer_prefix="k8s:enc:aescbc:v1:"'
    lines = [
        line
        for line in text.splitlines()
        if line.startswith("apiserver_storage_transformation_operations_total{") and labels in line
    ]
    kinds = {line.split('transformation_type="')[1].split('"')[0] for line in lines}
    assert kinds == {"to_storage", "from_storage"}, lines


def test_minik_ups_configuration_encrypts_secrets_and_reads_older_plaintext(
    key1_only: ApiServer, own_etcd: Etcd, config_file: Path, tmp_path: Path
) -> None:
    """The file `minik up` and the lab pass (deploy/encryption.py), on a real apiserver:
    a cluster made before encryption keeps reading its plaintext Secrets."""
    from deploy.encryption import ensure_encryption_config

    minik_up = ensure_encryption_config(tmp_path / "encryption-config.yaml").read_text()
    reconfigure(key1_only, config_file, encryption_config({"identity": {}}))
    with key1_only.http() as http:
        make_namespace(http, "enc-minik-up")
        create_secret(http, "enc-minik-up", "before")
    assert (raw(own_etcd, "/registry/secrets/enc-minik-up/before") or b"").startswith(b"{")
    reconfigure(key1_only, config_file, minik_up)
    with key1_only.http() as http:
        got = http.get("/api/v1/namespaces/enc-minik-up/secrets/before").json()
        assert password(got) == PLAINTEXT
        create_secret(http, "enc-minik-up", "after")
        value = raw(own_etcd, "/registry/secrets/enc-minik-up/after")
        assert_sealed(value, b"k8s:enc:aescbc:v1:key1:")
        delete_secrets(http, "enc-minik-up", "before", "after")
