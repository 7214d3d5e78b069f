"""`minik up`'s options that are checked before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.cluster import ClusterError, UpOptions, check_node_prefix, main


def test_node_names_follow_the_prefix() -> None:
    options = UpOptions(node_prefix="lab-b-")
    assert [options.node_name(i) for i in (1, 2)] == ["lab-b-1", "lab-b-2"]
    assert UpOptions().node_name(1) == "minik-node-1"


@pytest.mark.parametrize("prefix", ["minik-node-", "bench-3f2a1c-", "n", "rack.a."])
def test_valid_prefixes(prefix: str) -> None:
    check_node_prefix(prefix)


@pytest.mark.parametrize("prefix", ["Node-", "node_", "-node", "a..b-", "x" * 300])
def test_invalid_prefixes_are_refused(prefix: str) -> None:
    with pytest.raises(ClusterError, match="--node-prefix"):
        check_node_prefix(prefix)


def test_up_refuses_a_bad_prefix_before_starting_anything(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "cluster"
    assert main(["up", "--node-prefix", "Bad_", "--data-dir", str(data_dir)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("minik: --node-prefix 'Bad_'") and err.count("\n") == 1
    assert not data_dir.exists()


def test_the_metrics_server_and_the_apiserver_share_one_secret(tmp_path: Path) -> None:
    from deploy.cluster import LocalCluster

    cluster = LocalCluster(tmp_path)
    tmp_path.mkdir(exist_ok=True)
    flags = cluster._metrics_flags({"metrics-server": tmp_path / "m.kubeconfig"})
    secret = Path(flags[flags.index("--requestheader-secret-file") + 1])
    assert cluster._requestheader_flags() == ["--requestheader-secret-file", str(secret)]
    assert secret.stat().st_mode & 0o777 == 0o600
    first = secret.read_text()
    assert len(first.strip()) == 64
    cluster._requestheader_flags()
    assert secret.read_text() == first  # made once
    assert flags[flags.index("--kubeconfig") + 1] == str(tmp_path / "m.kubeconfig")
