"""`minik up --control-planes N`'s table (deploy/controlplanes.py): what runs, in which
order, with which flags, and the ports a data dir keeps."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy import controlplanes
from deploy.cluster import ClusterError, LocalCluster, UpOptions


def _flag(argv: list[str], name: str) -> str:
    assert argv.count(name) == 1, argv
    return argv[argv.index(name) + 1]


def _table(data_dir: Path, n: int = 3) -> list:
    data_dir.mkdir(parents=True, exist_ok=True)
    options = UpOptions(node_prefix="t-", control_planes=n)
    return LocalCluster(data_dir).components(None, 16443, 1, options)


def test_three_control_planes_behind_the_balancer_on_the_api_port(tmp_path: Path) -> None:
    table = _table(tmp_path)
    names = [c.name for c in table]
    assert names[:7] == [f"etcd-{i}" for i in (1, 2, 3)] + [f"apiserver-{i}" for i in (1, 2, 3)] + [
        "apilb"
    ]
    assert names[7:13] == [f"scheduler-{i}" for i in (1, 2, 3)] + [
        f"controller-{i}" for i in (1, 2, 3)
    ]
    by_name = {c.name: c for c in table}
    # the members know each other; only the last gates the start order (a lone member
    # is never healthy: it waits for a quorum)
    clusters = {_flag(by_name[f"etcd-{i}"].argv, "--initial-cluster") for i in (1, 2, 3)}
    assert len(clusters) == 1 and clusters.pop().count("=https://127.0.0.1:") == 3
    assert [by_name[f"etcd-{i}"].ready_url is not None for i in (1, 2, 3)] == [False, False, True]
    # every apiserver lists every member, each on its own port
    urls = ",".join(by_name[f"etcd-{i}"].extra["url"] for i in (1, 2, 3))
    ports = {_flag(by_name[f"apiserver-{i}"].argv, "--secure-port") for i in (1, 2, 3)}
    assert len(ports) == 3 and "16443" not in ports
    for i in (1, 2, 3):
        assert _flag(by_name[f"apiserver-{i}"].argv, "--etcd-servers") == urls
        assert "--etcd-certfile" in by_name[f"apiserver-{i}"].argv
    # the balancer listens where one apiserver would, and gates what follows
    lb = by_name["apilb"]
    assert lb.argv[1:3] == ["-m", "apilb"]
    assert _flag(lb.argv, "--listen") == "127.0.0.1:16443"
    servers = [lb.argv[i + 1] for i, a in enumerate(lb.argv) if a == "--server"]
    assert servers == [by_name[f"apiserver-{i}"].extra["url"] for i in (1, 2, 3)]
    assert lb.ready_url == "https://127.0.0.1:16443/readyz"
    # leader election on, a metrics port each
    for part in ("scheduler", "controller"):
        replicas = [by_name[f"{part}-{i}"] for i in (1, 2, 3)]
        assert all("--leader-elect" in c.argv for c in replicas)
        assert len({_flag(c.argv, "--secure-port") for c in replicas}) == 3


def test_the_kubeconfigs_name_the_balancer(tmp_path: Path) -> None:
    _table(tmp_path)
    for path in [tmp_path / "kubeconfig", *(tmp_path / "kubeconfigs").iterdir()]:
        assert "server: https://127.0.0.1:16443" in path.read_text(), path


def test_one_control_plane_is_the_table_of_before(tmp_path: Path) -> None:
    names = [c.name for c in _table(tmp_path, 1)]
    assert names[:4] == ["etcd", "apiserver", "scheduler", "controller"]
    assert not (tmp_path / controlplanes.LAYOUT_FILE).exists()


def test_a_data_dir_keeps_its_members_ports(tmp_path: Path) -> None:
    """etcd members find each other by their peer URLs, kept in their data: a second
    `up` on the data dir must give them the same ports."""
    first = {c.name: _without_component_status(c.argv) for c in _table(tmp_path)}
    second = {c.name: _without_component_status(c.argv) for c in _table(tmp_path)}
    for name in ("etcd-1", "etcd-2", "etcd-3", "apiserver-1", "apilb"):
        assert first[name] == second[name]


def _without_component_status(argv: list[str]) -> list[str]:
    """An apiserver's --component-status-*-url name its scheduler's and controller
    manager's ports, which a fresh `up` picks anew (a repair reuses the whole table)."""
    out: list[str] = []
    skip = False
    for word in argv:
        if skip:
            skip = False
        elif word.startswith("--component-status-"):
            skip = True
        else:
            out.append(word)
    return out


@pytest.mark.parametrize("n", [0, 2, 4])
def test_the_count_must_be_odd(tmp_path: Path, n: int) -> None:
    with pytest.raises(ClusterError, match="odd"):
        _table(tmp_path, n)


def test_the_member_count_of_a_data_dir_cannot_change(tmp_path: Path) -> None:
    _table(tmp_path, 3)
    with pytest.raises(ClusterError, match="3 member"):
        _table(tmp_path, 5)


def test_an_external_etcd_is_refused(tmp_path: Path) -> None:
    options = UpOptions(node_prefix="t-", control_planes=3)
    with pytest.raises(ClusterError, match="--etcd-servers"):
        LocalCluster(tmp_path).components("http://127.0.0.1:2379", 16443, 1, options)
