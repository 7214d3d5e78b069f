"""Reading container and node usage from cgroup v1 and v2 trees (made on disk)."""

from __future__ import annotations

from pathlib import Path

from kubelet.cgroupstats import CgroupStats

CID = "ab" * 32


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_v1_cgroupfs_container_and_root(tmp_path: Path) -> None:
    cpu, mem = tmp_path / "cpuacct" / "docker" / CID, tmp_path / "memory" / "docker" / CID
    _write(cpu / "cpuacct.usage", "2500000000\n")
    _write(mem / "memory.usage_in_bytes", "10485760\n")
    _write(mem / "memory.stat", "cache 0\nrss 4096\ninactive_file 1048576\n")
    _write(tmp_path / "cpuacct" / "cpuacct.usage", "9000000000\n")
    _write(tmp_path / "memory" / "memory.usage_in_bytes", "4194304\n")
    _write(tmp_path / "memory" / "memory.stat", "total_rss 1\ntotal_inactive_file 2097152\n")
    stats = CgroupStats(tmp_path, clock=lambda: 100.0)
    assert not stats.v2 and stats.available()
    usage = stats.container(CID)
    assert usage is not None
    assert (usage.cpu_seconds, usage.working_set_bytes, usage.timestamp) == (2.5, 9437184, 100.0)
    assert usage.rss_bytes == 4096
    node = stats.node()
    assert node is not None and (node.cpu_seconds, node.working_set_bytes) == (9.0, 2097152)


def test_v2_systemd_container(tmp_path: Path) -> None:
    _write(tmp_path / "cgroup.controllers", "cpu memory\n")
    scope = tmp_path / "system.slice" / f"docker-{CID}.scope"
    _write(scope / "cpu.stat", "usage_usec 1500000\nuser_usec 1000000\n")
    _write(scope / "memory.current", "5000\n")
    _write(scope / "memory.stat", "anon 3000\ninactive_file 6000\n")
    usage = CgroupStats(tmp_path, clock=lambda: 1.0).container(CID)
    assert usage is not None
    # never below zero: more inactive file cache than usage
    assert (usage.cpu_seconds, usage.working_set_bytes, usage.rss_bytes) == (1.5, 0, 3000)


def test_a_container_without_a_cgroup_has_no_usage_and_is_forgotten(tmp_path: Path) -> None:
    cpu = tmp_path / "cpuacct" / "docker" / CID
    _write(cpu / "cpuacct.usage", "1\n")
    _write(tmp_path / "memory" / "docker" / CID / "memory.usage_in_bytes", "1\n")
    stats = CgroupStats(tmp_path)
    assert stats.container("cd" * 32) is None
    assert stats.container(CID) is not None
    (cpu / "cpuacct.usage").unlink()
    assert stats.container(CID) is None
