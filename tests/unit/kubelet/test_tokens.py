"""The kubelet's token manager: what it asks TokenRequest for, its cache, and when a
token is refreshed (80% of its lifetime, or a day); the projected volume's files."""

from __future__ import annotations

import asyncio
from pathlib import Path

from api.timefmt import rfc3339
from kubelet import volumes
from kubelet.configdata import TOKEN, projected_payload, references
from kubelet.tokens import TokenManager, requires_refresh, token_key

POD = {
    "metadata": {"name": "web", "namespace": "ns", "uid": "pu"},
    "spec": {
        "serviceAccountName": "robot",
        "volumes": [
            {
                "name": "kube-api-access-abcde",
                "projected": {
                    "defaultMode": 0o644,
                    "sources": [
                        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                        {"configMap": {"name": "kube-root-ca.crt",
                                       "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {
                            "apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}},
                    ],
                },
            }
        ],
    },
}  # fmt: skip


class FakeApi:
    def __init__(self, clock):
        self.requests = []
        self.clock = clock

    async def create(self, res, body, namespace, *, name=None, subresource=None, params=None):
        self.requests.append((res.plural, namespace, name, subresource, body))
        seconds = body["spec"]["expirationSeconds"]
        return {
            "spec": {**body["spec"], "expirationSeconds": seconds},
            "status": {
                "token": f"tok-{len(self.requests)}",
                "expirationTimestamp": rfc3339(self.clock() + seconds),
            },
        }


def test_refresh_rule():
    assert not requires_refresh(0, 1000, 799)
    assert requires_refresh(0, 1000, 801)
    assert requires_refresh(0, 10 * 86400, 86401)  # a day old


def test_token_manager_requests_bound_tokens_and_refreshes():
    now = [1_000_000.0]
    api = FakeApi(lambda: now[0])
    manager = TokenManager(api, clock=lambda: now[0])  # type: ignore[arg-type]

    async def run():
        first = await manager.get(POD, "", 3607)
        again = await manager.get(POD, "", 3607)
        now[0] += 3607 * 0.85
        later = await manager.get(POD, "", 3607)
        return first, again, later

    first, again, later = asyncio.run(run())
    assert first == again == {"token": "tok-1"} and later == {"token": "tok-2"}
    plural, namespace, name, sub, body = api.requests[0]
    assert (plural, namespace, name, sub) == ("serviceaccounts", "ns", "robot", "token")
    assert body["spec"] == {
        "audiences": [],
        "expirationSeconds": 3607,
        "boundObjectRef": {"apiVersion": "v1", "kind": "Pod", "name": "web", "uid": "pu"},
    }


def test_projected_volume_files(tmp_path: Path):
    source = POD["spec"]["volumes"][0]
    assert (TOKEN, token_key({"expirationSeconds": 3607})) in references(POD)
    assert ("ConfigMap", "kube-root-ca.crt") in references(POD)
    data = {
        (TOKEN, "|3607"): {"token": "jwt"},
        ("ConfigMap", "kube-root-ca.crt"): {"data": {"ca.crt": "PEM"}},
    }
    files = projected_payload(POD, source, data, lambda pod, path: pod["metadata"]["namespace"])
    assert files == {
        "token": (b"jwt", 0o644),
        "ca.crt": (b"PEM", 0o644),
        "namespace": (b"ns", 0o644),
    }
    paths = volumes.volume_sources(POD, tmp_path, "n1")
    assert (
        paths["kube-api-access-abcde"]
        == tmp_path / "pods/pu/volumes/projected/kube-api-access-abcde"
    )
    paths["kube-api-access-abcde"].parent.mkdir(parents=True)  # prepare_volumes' part
    volumes.write_config_volume(POD, source, paths["kube-api-access-abcde"], data)
    assert (paths["kube-api-access-abcde"] / "token").read_text() == "jwt"
    assert (paths["kube-api-access-abcde"] / "namespace").read_text() == "ns"
    failed = {**data, (TOKEN, "|3607"): {"error": 'serviceaccounts "robot" not found'}}
    try:
        volumes.write_config_volume(POD, source, paths["kube-api-access-abcde"], failed)
    except volumes.MountError as err:
        assert "failed to fetch token" in str(err)
    else:
        raise AssertionError("a missing token must fail the mount")
    assert volumes.config_volumes(POD) == [source]
