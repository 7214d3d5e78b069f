"""etcd's command line: the raft snapshot interval that bounds etcd's memory (issue #17's
soak), the same in `minik up`, the tests' control planes and the compose lab."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from deploy import lab, processes


def _flag(argv: list[str], name: str) -> str:
    assert argv.count(name) == 1, argv
    return argv[argv.index(name) + 1]


@pytest.mark.parametrize("with_tls", [False, True])
def test_etcd_snapshots_every_10000_entries(tmp_path: Path, with_tls: bool) -> None:
    tls = processes.etcd_pki(tmp_path / "pki") if with_tls else None
    argv = processes.etcd_argv(tmp_path / "etcd", 12379, 12380, tls=tls)
    assert _flag(argv, "--snapshot-count") == "10000"
    assert _flag(argv, "--data-dir") == str(tmp_path / "etcd")


def test_the_compose_labs_etcd_snapshots_as_often() -> None:
    compose = yaml.safe_load((lab.COMPOSE_DIR / "docker-compose.yml").read_text())
    argv = compose["services"]["etcd"]["command"].split()
    assert argv[0] == "etcd"
    assert _flag(argv, "--snapshot-count") == str(processes.ETCD_SNAPSHOT_COUNT)
