"""Pod volumes on the node: where they live and how containers mount them.

An `emptyDir` is a directory under `<root-dir>/pods/<uid>/volumes/emptydir/<name>`
(with `medium: Memory`, under the host's /dev/shm, which is tmpfs), shared by every
container of the pod that mounts it and removed with the pod. A `hostPath` is the
host's own path (created for the `…OrCreate` types). A `configMap` or `secret`
volume is a directory under `<root-dir>/pods/<uid>/volumes/{configmap,secret}/<name>`
written as Kubernetes' AtomicWriter does (files in a hidden timestamped directory,
`..data` pointing at it, each top-level name a symlink into `..data`), so a rewrite
after the object changes is seen by the containers at once and whole; these are
always mounted read-only. A `persistentVolumeClaim` is the host directory of the
claim's bound volume, resolved through the API by kubelet/claims.py (read-only when
the pod's volume says so). Mounts are Docker binds; `readOnly` and `subPath` are
honoured. Other volume kinds are refused, so a pod that needs one waits with a
FailedMount event rather than running without it.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from kubelet.configdata import (
    ConfigData,
    ConfigDataError,
    projected_payload,
    volume_payload,
    volume_ref,
)
from kubelet.envvars import EnvError, field_value

SHM = Path("/dev/shm")


class VolumeError(Exception):
    """A volume cannot be set up; the pod's containers cannot start."""


class MountError(VolumeError):
    """A volume's setup failed; the text is the whole FailedMount event message."""

    def __init__(self, volume: str, reason: str) -> None:
        super().__init__(f'MountVolume.SetUp failed for volume "{volume}" : {reason}')


@dataclass(frozen=True)
class ClaimSource:
    """Where a claim's data lives on this host, and how to check it there."""

    path: Path
    host_path_type: str  # "" (no check), "DirectoryOrCreate", "Directory"...


def pod_dir(root: Path, uid: str) -> Path:
    return root / "pods" / uid


def memory_dir(node: str, uid: str) -> Path:
    return SHM / f"minik-{node}" / uid


def emptydir_path(root: Path, node: str, uid: str, volume: dict[str, Any]) -> Path:
    medium = (volume.get("emptyDir") or {}).get("medium") or ""
    if medium == "Memory" and SHM.is_dir():
        return memory_dir(node, uid) / volume["name"]
    return pod_dir(root, uid) / "volumes" / "emptydir" / volume["name"]


def termination_log_path(root: Path, uid: str, container: str, restart_count: int) -> Path:
    return pod_dir(root, uid) / "containers" / container / f"termination-log-{restart_count}"


def volume_sources(
    pod: dict[str, Any], root: Path, node: str, claims: Mapping[str, ClaimSource] | None = None
) -> dict[str, Path]:
    """Host path of every volume of the pod (no I/O); VolumeError for unsupported ones.
    persistentVolumeClaim volumes come from `claims` (resolved already); without it
    they are left out."""
    uid = (pod.get("metadata") or {}).get("uid", "")
    paths: dict[str, Path] = {}
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        name = volume.get("name", "")
        if "emptyDir" in volume:
            paths[name] = emptydir_path(root, node, uid, volume)
        elif volume.get("hostPath"):
            paths[name] = Path(volume["hostPath"].get("path") or "/")
        elif volume_ref(volume) is not None:
            kind = "configmap" if "configMap" in volume else "secret"
            paths[name] = pod_dir(root, uid) / "volumes" / kind / name
        elif isinstance(volume.get("projected"), dict):
            paths[name] = pod_dir(root, uid) / "volumes" / "projected" / name
        elif "persistentVolumeClaim" in volume:
            if claims is not None:
                if name not in claims:
                    raise VolumeError(f'volume "{name}": its claim is not resolved')
                paths[name] = claims[name].path
        else:
            kinds = [k for k in volume if k != "name"]
            kind = kinds[0] if kinds else "unknown"
            raise VolumeError(f'volume "{name}": {kind} volumes are not supported by minik')
    return paths


def prepare_volumes(
    pod: dict[str, Any],
    root: Path,
    node: str,
    config_data: ConfigData | None = None,
    claims: Mapping[str, ClaimSource] | None = None,
) -> dict[str, Path]:
    """Create what the pod's volumes need on the host; returns their host paths.
    `config_data` holds the ConfigMaps and Secrets the pod refers to (None: missing),
    `claims` the sources of its persistentVolumeClaim volumes."""
    claims = claims or {}
    paths = volume_sources(pod, root, node, claims)
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        path = paths[volume.get("name", "")]
        if "persistentVolumeClaim" in volume:
            source = claims[volume.get("name", "")]
            _check_host_path(volume.get("name", ""), path, source.host_path_type)
            if source.host_path_type == "DirectoryOrCreate":
                path.chmod(0o777)  # as local-path-provisioner: any container user writes
        elif "emptyDir" in volume:
            path.mkdir(parents=True, exist_ok=True)
            path.chmod(0o777)  # any container user may write, as Kubernetes does
        elif volume_ref(volume) is not None or isinstance(volume.get("projected"), dict):
            write_config_volume(pod, volume, path, config_data or {})
        else:
            _check_host_path(volume["name"], path, (volume["hostPath"].get("type") or ""))
    return paths


def config_volumes(pod: dict[str, Any]) -> list[dict[str, Any]]:
    """The volumes the kubelet writes and keeps current: configMap, secret, projected
    (all mounted read-only)."""
    return [
        v
        for v in (pod.get("spec") or {}).get("volumes") or []
        if volume_ref(v) is not None or isinstance(v.get("projected"), dict)
    ]


def _downward(pod: dict[str, Any], path: str) -> str:
    try:
        return field_value(pod, path, "", "")
    except EnvError as err:
        raise ConfigDataError(str(err)) from None


def write_config_volume(
    pod: dict[str, Any], volume: dict[str, Any], path: Path, config_data: ConfigData
) -> bool:
    """(Re)write a configMap/secret/projected volume; MountError when its object or a
    key is missing (or, projected, its token cannot be had). Returns whether a file
    changed."""
    namespace = (pod.get("metadata") or {}).get("namespace") or ""
    try:
        if isinstance(volume.get("projected"), dict):
            files = projected_payload(pod, volume, config_data, _downward)
        else:
            files = volume_payload(namespace, volume, config_data)
    except ConfigDataError as err:
        raise MountError(volume.get("name", ""), str(err)) from None
    for rel in files:
        parts = PurePosixPath(rel).parts
        if not parts or PurePosixPath(rel).is_absolute() or ".." in parts or rel.startswith(".."):
            raise MountError(volume.get("name", ""), f"invalid path {rel!r}")
    return write_atomic(path, files)


def _current_files(target: Path) -> dict[str, tuple[bytes, int]] | None:
    data = target / "..data"
    if not data.is_dir():
        return None
    out = {}
    for file in data.resolve().rglob("*"):
        if file.is_file():
            rel = file.relative_to(data.resolve()).as_posix()
            out[rel] = (file.read_bytes(), stat.S_IMODE(file.stat().st_mode))
    return out


def write_atomic(target: Path, files: dict[str, tuple[bytes, int]]) -> bool:
    """Kubernetes' AtomicWriter, in short: nothing changes unless the payload does;
    then a new `..<random>` directory, `..data` swapped to it by one rename, top-level
    symlinks into `..data` added or removed, the old directory removed."""
    target.mkdir(parents=True, exist_ok=True)
    if _current_files(target) == files:
        return False
    old = (target / "..data").resolve() if (target / "..data").is_symlink() else None
    fresh = Path(tempfile.mkdtemp(prefix="..", dir=target))
    fresh.chmod(0o755)
    for rel, (content, mode) in files.items():
        file = fresh.joinpath(*PurePosixPath(rel).parts)
        file.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        file.write_bytes(content)
        file.chmod(mode & 0o777)
    link = target / "..data_tmp"
    link.unlink(missing_ok=True)
    os.symlink(fresh.name, link)
    os.replace(link, target / "..data")
    tops = {PurePosixPath(rel).parts[0] for rel in files}
    for entry in target.iterdir():
        if entry.is_symlink() and not entry.name.startswith("..") and entry.name not in tops:
            entry.unlink(missing_ok=True)
    for top in tops:
        if not (target / top).is_symlink():
            os.symlink(f"..data/{top}", target / top)
    if old is not None and old != fresh:
        shutil.rmtree(old, ignore_errors=True)
    return True


def _check_host_path(name: str, path: Path, kind: str) -> None:
    if kind == "DirectoryOrCreate":
        path.mkdir(parents=True, exist_ok=True)
    elif kind == "FileOrCreate":
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch(0o644)
    elif kind == "Directory" and not path.is_dir():
        raise VolumeError(f'hostPath volume "{name}": {path} is not a directory')
    elif kind == "File" and not path.is_file():
        raise VolumeError(f'hostPath volume "{name}": {path} is not a file')
    elif kind == "Socket" and not (path.exists() and stat.S_ISSOCK(path.stat().st_mode)):
        raise VolumeError(f'hostPath volume "{name}": {path} is not a socket')
    elif kind in ("CharDevice", "BlockDevice") and not path.exists():
        raise VolumeError(f'hostPath volume "{name}": {path} does not exist')


def _sub_path(base: Path, sub: str) -> Path:
    parts = PurePosixPath(sub).parts
    if PurePosixPath(sub).is_absolute() or ".." in parts:
        raise VolumeError(f"subPath {sub!r} must be a relative path without '..'")
    return base.joinpath(*parts)


def container_binds(
    container: dict[str, Any],
    volumes: dict[str, Path],
    *,
    create_sub_paths: bool = True,
    read_only: frozenset[str] | set[str] = frozenset(),
) -> list[str]:
    """Docker binds (`host:container:rw|ro`) for a container's volumeMounts; volumes
    named in `read_only` (configMap, secret) are always mounted read-only."""
    binds: list[str] = []
    for mount in container.get("volumeMounts") or []:
        name = mount.get("name", "")
        if name not in volumes:
            raise VolumeError(f'volumeMount "{name}": no volume of that name in the pod')
        source = volumes[name]
        if mount.get("subPath"):
            source = _sub_path(source, mount["subPath"])
            if create_sub_paths and not source.exists():
                source.mkdir(parents=True, exist_ok=True)
        mode = "ro" if mount.get("readOnly") or name in read_only else "rw"
        binds.append(f"{source}:{mount.get('mountPath', '')}:{mode}")
    return binds


def write_resolv_conf(root: Path, uid: str, content: str) -> Path:
    """The pod's resolv.conf (one per pod, shared by its containers)."""
    path = pod_dir(root, uid) / "resolv.conf"
    if not path.exists() or path.read_text() != content:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
        os.chmod(path, 0o644)
    return path


def prepare_termination_log(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    os.chmod(path, 0o666)


def read_termination_message(path: str, limit: int = 4096) -> str:
    if not path:
        return ""
    try:
        with open(path, "rb") as f:
            return f.read(limit).decode(errors="replace")
    except OSError:
        return ""


def remove_pod_dirs(root: Path, node: str, uid: str) -> None:
    """Everything the pod had on the host (not hostPath contents: they are not ours)."""
    for path in (pod_dir(root, uid), memory_dir(node, uid)):
        shutil.rmtree(path, ignore_errors=True)


def pod_uids_on_disk(root: Path) -> list[str]:
    try:
        return [p.name for p in (root / "pods").iterdir() if p.is_dir()]
    except OSError:
        return []
