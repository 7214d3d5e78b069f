"""Shared fixtures: a real etcd and the real apiserver as separate processes."""

from __future__ import annotations

import itertools
from collections.abc import Iterator

import pytest

from deploy.controlplane import (
    ApiServer,
    Etcd,
    make_workdir,
    remove_workdir,
    start_apiserver,
    start_etcd,
)

_names = itertools.count()


@pytest.fixture(scope="session")
def etcd() -> Iterator[Etcd]:
    workdir = make_workdir("minik-etcd-")
    server = start_etcd(workdir)
    yield server
    server.stop()
    remove_workdir(workdir)


@pytest.fixture(scope="session")
def apiserver(etcd: Etcd) -> Iterator[ApiServer]:
    workdir = make_workdir("minik-apiserver-")
    server = start_apiserver(etcd, workdir)
    yield server
    server.stop()
    remove_workdir(workdir)


@pytest.fixture
def namespace(apiserver: ApiServer) -> Iterator[str]:
    """A fresh namespace per test, deleted afterwards."""
    name = f"t{next(_names)}-{__import__('secrets').token_hex(3)}"
    with apiserver.http() as http:
        r = http.post("/api/v1/namespaces", json={"metadata": {"name": name}})
        assert r.status_code == 201, r.text
        yield name
        http.delete(f"/api/v1/namespaces/{name}")
