"""Pod volumes on the node: where they live, how containers bind them, and the atomic
writer of configMap/secret volumes."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from kubelet import volumes
from kubelet.volumes import VolumeError, container_binds, volume_sources


def test_volumes() -> None:
    pod = {
        "metadata": {"uid": "u1"},
        "spec": {
            "volumes": [
                {"name": "cache", "emptyDir": {}},
                {"name": "host", "hostPath": {"path": "/var/log"}},
            ]
        },
    }
    sources = volume_sources(pod, Path("/root/k"), "n1")
    assert sources == {
        "cache": Path("/root/k/pods/u1/volumes/emptydir/cache"),
        "host": Path("/var/log"),
    }
    binds = container_binds(
        {
            "volumeMounts": [
                {"name": "cache", "mountPath": "/c"},
                {"name": "host", "mountPath": "/l", "readOnly": True, "subPath": "app"},
            ]
        },
        sources,
        create_sub_paths=False,
    )
    assert binds == ["/root/k/pods/u1/volumes/emptydir/cache:/c:rw", "/var/log/app:/l:ro"]
    with pytest.raises(VolumeError, match="not supported"):
        volume_sources(
            {"metadata": {}, "spec": {"volumes": [{"name": "s", "nfs": {"server": "x"}}]}},
            Path("/r"),
            "n",
        )
    with pytest.raises(VolumeError, match="subPath"):
        container_binds(
            {"volumeMounts": [{"name": "cache", "mountPath": "/c", "subPath": "../etc"}]}, sources
        )


def test_atomic_writer_and_mount_errors(tmp_path: Path):
    target = tmp_path / "vol"
    assert volumes.write_atomic(target, {"a": (b"1", 0o644), "d/b": (b"2", 0o600)})
    assert (target / "a").read_bytes() == b"1" and (target / "a").is_symlink()
    assert stat.S_IMODE((target / "d" / "b").stat().st_mode) == 0o600
    assert not volumes.write_atomic(target, {"a": (b"1", 0o644), "d/b": (b"2", 0o600)})
    first = (target / "..data").resolve()
    assert volumes.write_atomic(target, {"a": (b"changed", 0o644)})
    assert (target / "a").read_bytes() == b"changed"
    assert not (target / "d").exists() and not first.exists()
    pod = {
        "metadata": {"name": "p", "namespace": "ns", "uid": "u1"},
        "spec": {"volumes": [{"name": "v", "configMap": {"name": "gone"}}]},
    }
    with pytest.raises(volumes.MountError) as exc:
        volumes.prepare_volumes(pod, tmp_path, "n", {("ConfigMap", "gone"): None})
    assert str(exc.value) == 'MountVolume.SetUp failed for volume "v" : configmap "gone" not found'
    binds = volumes.container_binds(
        {"volumeMounts": [{"name": "v", "mountPath": "/etc/cfg"}]},
        {"v": target},
        read_only={"v"},
    )
    assert binds == [f"{target}:/etc/cfg:ro"]
