"""/livez, /readyz, /healthz answers as kube-apiserver prints them."""

from __future__ import annotations

import asyncio

from starlette.datastructures import QueryParams

from apiserver import health


async def _down() -> None:
    raise ConnectionError("etcd unreachable")


CHECKS = health.base_checks(_down, _down)
ENDPOINTS = health.endpoints()


def answer(endpoint: str, query: str = "", only: str | None = None) -> tuple[int, str]:
    r = asyncio.run(health.respond(ENDPOINTS[endpoint], CHECKS, QueryParams(query), only))
    return r.status_code, bytes(r.body).decode()


def test_livez_ignores_etcd_readyz_fails_on_it():
    assert answer("livez") == (200, "ok")
    assert answer("livez", "verbose") == (200, "[+]ping ok\n[+]log ok\nlivez check passed\n")
    code, body = answer("readyz")
    assert code == 500
    assert body.splitlines() == [
        "[+]ping ok",
        "[+]log ok",
        "[-]etcd failed: reason withheld",
        "[-]etcd-readiness failed: reason withheld",
        "readyz check failed",
    ]


def test_single_checks_and_exclusions():
    assert answer("readyz", only="ping") == (200, "ok")
    code, body = answer("readyz", only="etcd")
    assert code == 500 and "etcd unreachable" in body
    assert answer("livez", only="etcd")[0] == 404
    code, body = answer("readyz", "exclude=etcd&exclude=etcd-readiness&verbose")
    assert code == 200 and "[+]etcd excluded: ok" in body and body.endswith("readyz check passed\n")
