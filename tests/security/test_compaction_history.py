"""Issue 11, "deleted Secrets stay readable in etcd's history": the apiserver compacts
etcd's history every --etcd-compaction-interval (Kubernetes' 5 minutes by default; 1 s
here), so a Secret's value at a revision before its deletion cannot be read back from
etcd once the compaction has passed it, as a backup or a reader of etcd's port could
otherwise do. On its own etcd: it compacts."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deploy.controlplane import ApiServer, Etcd, start_apiserver
from tests.support.wait import eventually

SECRETS = "/api/v1/namespaces/default/secrets"
KEY = "/registry/secrets/default/gone"


@pytest.fixture(scope="module")
def compacting(own_etcd: Etcd, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiServer]:
    server = start_apiserver(
        own_etcd, Path(tmp_path_factory.mktemp("compacting")), ["--etcd-compaction-interval=1s"]
    )
    yield server
    server.stop()


def read_at(etcd: Etcd, key: str, revision: int) -> httpx.Response:
    """etcd's range read of `key` as of `revision` (its JSON gateway)."""
    body = {"key": base64.b64encode(key.encode()).decode(), "revision": revision}
    return httpx.post(f"{etcd.url}/v3/kv/range", json=body, timeout=5)


def test_a_deleted_secrets_old_value_is_compacted_away(
    compacting: ApiServer, own_etcd: Etcd
) -> None:
    with compacting.http() as http:
        secret = {"metadata": {"name": "gone"}, "stringData": {"password": "hunter2"}}
        r = http.post(SECRETS, json=secret)
        assert r.status_code == 201, r.text
        revision = int(r.json()["metadata"]["resourceVersion"])
        assert http.delete(f"{SECRETS}/gone").status_code == 200
        http.post("/api/v1/namespaces/default/configmaps", json={"metadata": {"name": "tick"}})

    def compacted() -> bool:
        r = read_at(own_etcd, KEY, revision)
        return r.status_code == 400 and "compacted" in r.text

    # one interval to record the revision, the next to compact to it (Kubernetes' way)
    eventually(compacted, timeout=20, interval=0.5, message="the Secret's revision compacted")
