"""Pod volumes on the node: where they live, how containers bind them, and the atomic
writer of configMap/secret volumes."""

from __future__ import annotations

import os
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
    try:
        with pytest.raises(volumes.MountError) as exc:
            volumes.prepare_volumes(pod, tmp_path, "n", {("ConfigMap", "gone"): None})
    finally:
        volumes.remove_pod_dirs(tmp_path, "n", "u1")  # its private directory on /dev/shm
    assert str(exc.value) == 'MountVolume.SetUp failed for volume "v" : configmap "gone" not found'
    binds = volumes.container_binds(
        {"volumeMounts": [{"name": "v", "mountPath": "/etc/cfg"}]},
        {"v": target},
        read_only={"v"},
    )
    assert binds == [f"{target}:/etc/cfg:ro"]


def test_safe_sub_path_stays_inside_the_volume(tmp_path: Path) -> None:
    vol = tmp_path / "vol"
    vol.mkdir(mode=0o750)
    outside = tmp_path / "outside"
    outside.mkdir()
    (vol / "real").mkdir()
    (vol / "inside").symlink_to("real")  # a symlink that stays inside is fine
    (vol / "escape").symlink_to("/")
    (vol / "up").symlink_to(outside)
    (vol / "dangling").symlink_to(outside / "new")
    assert volumes.safe_sub_path(vol, "inside") == vol / "real"
    made = volumes.safe_sub_path(vol, "inside/a/b")
    assert made == vol / "real" / "a" / "b" and made.is_dir()
    assert stat.S_IMODE(made.stat().st_mode) == 0o750  # the volume root's mode
    for sub in ("escape", "escape/etc", "up/x/y", "dangling", "../vol", "/etc"):
        with pytest.raises(volumes.SubPathError):
            volumes.safe_sub_path(vol, sub)
    assert list(outside.iterdir()) == []  # nothing made through a symlink


def test_sub_path_refused_in_kubernetes_words(tmp_path: Path) -> None:
    (tmp_path / "escape").symlink_to("/")
    container = {
        "name": "c",
        "volumeMounts": [{"name": "d", "mountPath": "/x", "subPath": "escape"}],
    }
    with pytest.raises(VolumeError) as err:
        container_binds(container, {"d": tmp_path})
    assert (
        str(err.value) == 'failed to create subPath directory for volumeMount "d" of container "c"'
    )


def test_memory_volumes_live_in_a_private_directory(tmp_path: Path) -> None:
    pod = {
        "metadata": {"name": "p", "namespace": "ns", "uid": "u-private"},
        "spec": {
            "securityContext": {"fsGroup": 2000},
            "volumes": [
                {"name": "mem", "emptyDir": {"medium": "Memory"}},
                {"name": "disk", "emptyDir": {}},
                {"name": "cfg", "configMap": {"name": "c", "defaultMode": 0o400}},
            ],
        },
    }
    data = {("ConfigMap", "c"): {"data": {"k": "v"}}}
    paths = volumes.prepare_volumes(pod, tmp_path, "n", data)
    try:
        private = volumes.private_dir(tmp_path, "u-private")
        assert private.parent == volumes.SHM and private.name.startswith("minik-pod-")
        assert stat.S_IMODE(private.stat().st_mode) == 0o700
        assert paths["mem"].is_relative_to(private) and paths["cfg"].is_relative_to(private)
        assert paths["disk"] == tmp_path / "pods" / "u-private" / "volumes" / "emptydir" / "disk"
        assert stat.S_IMODE((tmp_path / "pods").stat().st_mode) == 0o750
        mem = paths["mem"].stat()
        assert mem.st_gid == 2000 and stat.S_IMODE(mem.st_mode) == 0o2777
        key = (paths["cfg"] / "k").stat()
        assert key.st_gid == 2000 and stat.S_IMODE(key.st_mode) == 0o440  # 0400 | 0440
        assert not volumes.write_config_volume(pod, pod["spec"]["volumes"][2], paths["cfg"], data)
        assert volumes.volume_sources(pod, tmp_path, "n") == paths
    finally:
        volumes.remove_pod_dirs(tmp_path, "n", "u-private")
    assert not private.exists() and not (tmp_path / "pods" / "u-private").exists()


def test_an_untrusted_private_directory_is_never_used(tmp_path: Path) -> None:
    """A reboot empties /dev/shm: a local user re-creating the name the link holds (as a
    symlink or a directory of theirs) does not redirect the kubelet."""
    pod_dir = tmp_path / "pods" / "u2"
    pod_dir.mkdir(parents=True)
    planted = volumes.SHM / f"minik-pod-planted-{os.getpid()}"
    planted.symlink_to(tmp_path)
    try:
        (pod_dir / "tmpfs").symlink_to(planted)
        assert volumes.private_dir(tmp_path, "u2") == pod_dir
        fresh = volumes.private_dir(tmp_path, "u2", create=True)
        assert fresh != planted and os.readlink(pod_dir / "tmpfs") == str(fresh)
        volumes.remove_pod_dirs(tmp_path, "n", "u2")
        assert planted.is_symlink() and not fresh.exists()
    finally:
        planted.unlink()
