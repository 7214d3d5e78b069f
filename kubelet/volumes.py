"""Pod volumes on the node: where they live and how containers mount them.

An `emptyDir` is a directory under `<root-dir>/pods/<uid>/volumes/emptydir/<name>`
(with `medium: Memory`, under the host's /dev/shm, which is tmpfs), shared by every
container of the pod that mounts it and removed with the pod. A `hostPath` is the
host's own path (created for the `…OrCreate` types). Mounts are Docker binds;
`readOnly` and `subPath` are honoured. Other volume kinds are refused, so a pod
that needs one waits with a FailedMount event rather than running without it.
"""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path, PurePosixPath
from typing import Any

SHM = Path("/dev/shm")


class VolumeError(Exception):
    """A volume cannot be set up; the pod's containers cannot start."""


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


def volume_sources(pod: dict[str, Any], root: Path, node: str) -> dict[str, Path]:
    """Host path of every volume of the pod (no I/O); VolumeError for unsupported ones."""
    uid = (pod.get("metadata") or {}).get("uid", "")
    paths: dict[str, Path] = {}
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        name = volume.get("name", "")
        if "emptyDir" in volume:
            paths[name] = emptydir_path(root, node, uid, volume)
        elif volume.get("hostPath"):
            paths[name] = Path(volume["hostPath"].get("path") or "/")
        else:
            kinds = [k for k in volume if k != "name"]
            kind = kinds[0] if kinds else "unknown"
            raise VolumeError(f'volume "{name}": {kind} volumes are not supported by minik')
    return paths


def prepare_volumes(pod: dict[str, Any], root: Path, node: str) -> dict[str, Path]:
    """Create what the pod's volumes need on the host; returns their host paths."""
    paths = volume_sources(pod, root, node)
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        path = paths[volume.get("name", "")]
        if "emptyDir" in volume:
            path.mkdir(parents=True, exist_ok=True)
            path.chmod(0o777)  # any container user may write, as Kubernetes does
        else:
            _check_host_path(volume["name"], path, (volume["hostPath"].get("type") or ""))
    return paths


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
    container: dict[str, Any], volumes: dict[str, Path], *, create_sub_paths: bool = True
) -> list[str]:
    """Docker binds (`host:container:rw|ro`) for a container's volumeMounts."""
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
        mode = "ro" if mount.get("readOnly") else "rw"
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
