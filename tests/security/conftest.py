"""Fixtures shared by the security tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from deploy.controlplane import Etcd, start_etcd


@pytest.fixture(scope="module")
def own_etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Etcd]:
    """An etcd of the module's own: for tests that leave state no other module's
    apiserver may meet (values encrypted under a test key, a deleted `kubernetes`
    Service, an address allocation left behind)."""
    etcd = start_etcd(tmp_path_factory.mktemp("own-etcd"))
    yield etcd
    etcd.stop()
