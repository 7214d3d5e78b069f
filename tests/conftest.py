"""Shared fixtures: a real etcd and the real apiserver as separate processes."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

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

# Modules that use the host itself: Docker, kubelets, the host proxy and its addresses,
# `minik up`, the compose lab. Under pytest-xdist (`-n 2`, pyproject's addopts) they are
# one unit of work, so they run one after another on one worker (one host proxy, one
# Docker engine), while every other module, a unit of its own so its module fixtures
# start once, goes to whichever worker is free: most tests wait on processes, so two
# workers take about two thirds of one's time.
HOST_DIRS = ("tests/e2e/",)
HOST_MODULES = {
    "tests/integration/test_minikctl_workloads.py",
    "tests/integration/test_proxy.py",
    "tests/integration/test_supervisor.py",
    "tests/security/test_certificates.py",
    "tests/security/test_etcd_tls.py",
    "tests/security/test_kubelet_api.py",
    "tests/security/test_kubelet_security_context.py",
    "tests/security/test_kubelet_volumes.py",
    "tests/security/test_tls_policy.py",
}
HOST_UNIT = "host"


def work_unit(nodeid: str) -> str:
    """The unit of work a test belongs to: HOST_UNIT, or its module's path. (The
    namespace lab's modules once ran as a unit of their own beside the host's: CPU
    contention beside kubectl then lost its exec output to client-go's WebSocket race
    in three CI runs of four.)"""
    path = nodeid.split("::", 1)[0]
    if path.startswith(HOST_DIRS) or path in HOST_MODULES:
        return HOST_UNIT
    return path


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """pytest-xdist's module-at-a-time scheduling with the host's tests as one unit.
    (Its `xdist_group` marks do not reach the scheduler under pytest 9.)"""
    from xdist.scheduler import LoadScopeScheduling

    class HostUnitScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    return HostUnitScheduling(config, log)


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
