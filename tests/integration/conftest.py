"""Integration fixtures on top of the session's real etcd and apiserver
(tests/conftest.py): an authenticated HTTP client, the machine's kubectl with a cache
of the test's own, and the real controller manager with all its controllers, one per
module; and an etcd and apiserver of a module's own, for tests that disturb them
(restart, compact). A module that needs another kubectl or manager defines its own
fixture."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from deploy.controlplane import (
    ApiServer,
    make_workdir,
    remove_workdir,
    start_apiserver,
    start_etcd,
)
from tests.support.controllermanager import ManagerProcess
from tests.support.kubectl import Kubectl


@pytest.fixture
def http(apiserver: ApiServer) -> Iterator[httpx.Client]:
    with apiserver.http() as client:
        yield client


@pytest.fixture
def kubectl(apiserver: ApiServer, tmp_path: Path) -> Kubectl:
    return Kubectl(apiserver.kubeconfig, tmp_path / "kubectl-cache")


@pytest.fixture(scope="module")
def manager(
    apiserver: ApiServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ManagerProcess]:
    proc = ManagerProcess(apiserver, tmp_path_factory.mktemp("cm")).start()
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def own_cluster() -> Iterator[Any]:
    """(etcd, apiserver) of this module's own: its tests restart or compact them."""
    workdir = make_workdir("minik-own-cluster-")
    etcd = start_etcd(workdir)
    try:
        server = start_apiserver(etcd, workdir / "apiserver")
        try:
            yield etcd, server
        finally:
            server.stop()
    finally:
        etcd.stop()
        remove_workdir(workdir)
