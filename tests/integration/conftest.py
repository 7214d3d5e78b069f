"""Integration fixtures on top of the session's real etcd and apiserver
(tests/conftest.py): an authenticated HTTP client, and the real controller manager
with all its controllers, one per module."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from deploy.controlplane import ApiServer
from tests.support.controllermanager import ManagerProcess


@pytest.fixture
def http(apiserver: ApiServer) -> Iterator[httpx.Client]:
    with apiserver.http() as client:
        yield client


@pytest.fixture(scope="module")
def manager(
    apiserver: ApiServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ManagerProcess]:
    proc = ManagerProcess(apiserver, tmp_path_factory.mktemp("cm")).start()
    yield proc
    proc.stop()
