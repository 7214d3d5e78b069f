"""The kubelet's request attributes (kubelet/auth.py), as Kubernetes' kubelet maps its
paths and methods to nodes/<subresource> and verbs, and its authentication order."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from componentbase.delegatedauth import ANONYMOUS_CALLER, Caller, Verdict
from kubelet.auth import KubeletAuth, request_attributes


def attrs(method: str, path: str, upgrade: bool = False) -> tuple[str, str]:
    a = request_attributes(method, path, "n1", upgrade)["resourceAttributes"]
    assert (a["resource"], a["name"], a["version"]) == ("nodes", "n1", "v1")
    return a["verb"], a["subresource"]


def test_paths_map_to_subresources_as_kubernetes() -> None:
    assert attrs("GET", "/stats/summary") == ("get", "stats")
    assert attrs("GET", "/stats") == ("get", "stats")
    assert attrs("GET", "/metrics") == ("get", "metrics")
    assert attrs("GET", "/metrics/resource") == ("get", "metrics")
    assert attrs("GET", "/logs/") == ("get", "log")
    assert attrs("GET", "/spec/") == ("get", "spec")
    assert attrs("GET", "/containerLogs/ns/p/c") == ("get", "proxy")
    assert attrs("GET", "/pods") == ("get", "proxy")
    assert attrs("GET", "/healthz") == ("get", "proxy")
    assert attrs("GET", "/statsx") == ("get", "proxy")  # a prefix, not a subpath
    assert attrs("GET", "/metricsfoo") == ("get", "proxy")


def test_methods_map_to_verbs() -> None:
    assert attrs("HEAD", "/pods") == ("get", "proxy")
    assert attrs("POST", "/exec/ns/p/c") == ("create", "proxy")
    assert attrs("PUT", "/x") == ("update", "proxy")
    assert attrs("PATCH", "/x") == ("patch", "proxy")
    assert attrs("DELETE", "/x") == ("delete", "proxy")
    assert attrs("OPTIONS", "/x") == ("", "proxy")


def test_stream_upgrades_are_create() -> None:
    """A WebSocket handshake is a GET; running a command is asked as create."""
    assert attrs("GET", "/exec/ns/p/c", upgrade=True) == ("create", "proxy")
    assert attrs("GET", "/attach/ns/p/c", upgrade=True) == ("create", "proxy")
    assert attrs("GET", "/portForward/ns/p", upgrade=True) == ("create", "proxy")
    assert attrs("GET", "/metrics", upgrade=True) == ("get", "metrics")


class FakeDelegated:
    def __init__(self, tokens: dict[str, Caller], allowed: set[str]) -> None:
        self.tokens = tokens
        self.allowed = allowed
        self.asked: list[tuple[str, dict[str, Any]]] = []

    async def authenticate(self, authorization: str | None) -> Caller | None:
        return self.tokens.get((authorization or "").removeprefix("Bearer "))

    async def authorize(self, caller: Caller, attributes: dict[str, Any]) -> Verdict:
        self.asked.append((caller.name, attributes))
        return Verdict(200) if caller.name in self.allowed else Verdict(403, "no")


def scope(path: str, headers: dict[str, str] | None = None, cert: Any = None) -> dict[str, Any]:
    return {
        "type": "http",
        "method": "GET",
        "path": path,
        "headers": [(k.encode(), v.encode()) for k, v in (headers or {}).items()],
        "minik.peercert": cert,
    }


CERT = {"subject": ((("organizationName", "ops"),), (("commonName", "alice"),))}


def check(auth: KubeletAuth, s: dict[str, Any]) -> Any:
    return asyncio.run(auth.check(s))


def test_authentication_order_and_refusals() -> None:
    delegated = FakeDelegated({"good": Caller("bob")}, {"bob", "alice"})
    auth = KubeletAuth(delegated, "n1", client_ca=True)  # type: ignore[arg-type]
    assert check(auth, scope("/pods")).code == 401  # anonymous off
    assert check(auth, scope("/pods", {"authorization": "Bearer bad"})).code == 401
    assert check(auth, scope("/pods", {"authorization": "Bearer good"})) is None
    assert check(auth, scope("/pods", cert=CERT)) is None
    assert delegated.asked[-1][0] == "alice"
    refused = check(auth, scope("/stats/summary", cert={"subject": ((("commonName", "eve"),),)}))
    assert refused.code == 403
    assert refused.message == "Forbidden (user=eve, verb=get, resource=nodes, subresource=stats)"
    assert check(auth, scope("/exec/../pods")).code == 400


def test_certificates_count_only_with_a_client_ca() -> None:
    delegated = FakeDelegated({}, {"alice"})
    auth = KubeletAuth(delegated, "n1")  # type: ignore[arg-type]
    assert check(auth, scope("/pods", cert=CERT)).code == 401


def test_anonymous_when_enabled_is_still_authorized() -> None:
    delegated = FakeDelegated({}, set())
    auth = KubeletAuth(delegated, "n1", anonymous=True)  # type: ignore[arg-type]
    assert check(auth, scope("/pods")).code == 403
    assert delegated.asked[-1][0] == ANONYMOUS_CALLER.name
    always = KubeletAuth(delegated, "n1", anonymous=True, mode="AlwaysAllow")  # type: ignore[arg-type]
    assert check(always, scope("/pods")) is None
    with pytest.raises(ValueError):
        KubeletAuth(delegated, "n1", mode="RBAC")  # type: ignore[arg-type]
