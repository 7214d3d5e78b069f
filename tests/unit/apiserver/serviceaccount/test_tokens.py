"""The TokenRequest issuer and the token authenticator over a fake store: defaults and
limits of a request, binding to a pod, and the refusals (audience, deleted account or
pod, another uid). Pure logic; the real thing runs in tests/integration."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from api import errors
from apiserver.serviceaccount import jwt
from apiserver.serviceaccount.tokens import ServiceAccountTokens, TokenSettings, review

ISSUER = jwt.DEFAULT_ISSUER
KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


class FakeStorage:
    """get/list by key; a watch that never says anything."""

    def __init__(self, objects: dict[str, dict[str, Any]]) -> None:
        self.objects = objects

    async def get(self, key: str) -> dict[str, Any] | None:
        return self.objects.get(key)

    async def list(self, prefix: str) -> tuple[list[dict[str, Any]], int]:
        return [o for k, o in self.objects.items() if k.startswith(prefix)], 1

    async def watch(self, prefix: str, revision: int):
        await asyncio.Event().wait()
        yield  # pragma: no cover


def _store() -> dict[str, dict[str, Any]]:
    return {
        "/registry/serviceaccounts/ns/robot": {"metadata": {"name": "robot", "uid": "sa1"}},
        "/registry/pods/ns/web": {
            "metadata": {"name": "web", "uid": "p1"},
            "spec": {"serviceAccountName": "robot", "nodeName": "n1"},
        },
        "/registry/nodes/n1": {"metadata": {"name": "n1", "uid": "nu"}},
    }


def _tokens(objects, now=1_700_000_000.0) -> ServiceAccountTokens:
    settings = TokenSettings(ISSUER, [ISSUER], [ISSUER], [KEY.public_key()], KEY)
    return ServiceAccountTokens(FakeStorage(objects), settings, clock=lambda: now)  # type: ignore[arg-type]


def test_request_defaults_limits_and_binding():
    async def run():
        objects = _store()
        tokens = _tokens(objects)
        plain = await tokens.request("ns", "robot", {"spec": {}})
        assert plain["spec"] == {"audiences": [ISSUER], "expirationSeconds": 3600}
        bound = await tokens.request(
            "ns", "robot", {"spec": {"boundObjectRef": {"kind": "Pod", "name": "web"}}}
        )
        assert bound["spec"]["boundObjectRef"] == {
            "kind": "Pod", "apiVersion": "v1", "name": "web", "uid": "p1",
        }  # fmt: skip
        user, audiences = await tokens.validate(bound["status"]["token"])
        assert user.name == "system:serviceaccount:ns:robot" and user.uid == "sa1"
        extra = dict(user.extra)
        assert extra["authentication.kubernetes.io/pod-name"] == ("web",)
        assert extra["authentication.kubernetes.io/node-name"] == ("n1",)
        assert audiences == [ISSUER]
        with pytest.raises(errors.ApiError) as short:
            await tokens.request("ns", "robot", {"spec": {"expirationSeconds": 599}})
        assert short.value.code == 422
        with pytest.raises(errors.ApiError) as kind:
            await tokens.request("ns", "robot", {"spec": {"boundObjectRef": {"kind": "Node"}}})
        assert kind.value.code == 400
        with pytest.raises(errors.ApiError) as missing:
            await tokens.request("ns", "ghost", {"spec": {}})
        assert missing.value.code == 404
        # the pod goes: its token with it; the account gets a new uid: every token
        del objects["/registry/pods/ns/web"]
        with pytest.raises(jwt.InvalidToken, match="pod ns/web has been deleted"):
            await tokens.validate(bound["status"]["token"])
        objects["/registry/serviceaccounts/ns/robot"]["metadata"]["uid"] = "sa2"
        with pytest.raises(jwt.InvalidToken, match="does not match"):
            await tokens.validate(plain["status"]["token"])
        await tokens.stop()

    asyncio.run(run())


def test_audiences_and_review():
    async def run():
        tokens = _tokens(_store())
        vault = (await tokens.request("ns", "robot", {"spec": {"audiences": ["vault"]}}))["status"][
            "token"
        ]
        with pytest.raises(jwt.InvalidToken, match="audiences"):
            await tokens.validate(vault)
        ok = await review(tokens, None, {"spec": {"token": vault, "audiences": ["vault"]}})
        assert ok["status"]["authenticated"] and ok["status"]["audiences"] == ["vault"]
        refused = await review(tokens, None, {"spec": {"token": vault}})
        assert not refused["status"]["authenticated"] and refused["status"]["error"]
        assert await tokens.authenticate("not-a-jwt") is None
        await tokens.stop()

    asyncio.run(run())
