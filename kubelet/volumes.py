"""Pod volumes on the node: where they live and how containers mount them.

An `emptyDir` is a directory under `<root-dir>/pods/<uid>/volumes/emptydir/<name>`,
shared by every container of the pod that mounts it and removed with the pod. A
`hostPath` is the host's own path (created for the `…OrCreate` types). What must not
reach a disk (`emptyDir` with `medium: Memory`, `configMap`, `secret` and `projected`
volumes) lives in the pod's private memory directory: one per pod, made by the kubelet
on the host's /dev/shm (tmpfs) under a random name, root's and 0700, found again
through the link `<root-dir>/pods/<uid>/tmpfs` in the kubelet's own root-owned tree
(nothing a local user can pre-create or predict; without /dev/shm, the pod directory
itself). A `configMap` or `secret` volume is a directory `volumes/<kind>/<name>` there,
written as Kubernetes' AtomicWriter does (files in a hidden timestamped directory,
`..data` pointing at it, each top-level name a symlink into `..data`), so a rewrite
after the object changes is seen by the containers at once and whole; these are
always mounted read-only. A `persistentVolumeClaim` is the host directory of the
claim's bound volume, resolved through the API by kubelet/claims.py (read-only when
the pod's volume says so). Mounts are Docker binds; `readOnly` and `subPath` are
honoured. A subPath is resolved as Kubernetes' safe subPath does: symlinks inside the
volume are followed, the result must stay inside the volume, and missing directories
are made one component at a time relative to an open parent that is never a symlink
(O_NOFOLLOW), so nothing a container planted leads the kubelet out of the volume. The
pod's `fsGroup` owns its emptyDir, configMap and secret volumes (setgid directories,
group-readable files), as Kubernetes' volume ownership does. Other volume kinds are
refused, so a pod that needs one waits with a FailedMount event rather than running
without it.
"""

from __future__ import annotations

import logging
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
from kubelet.securitycontext import fs_group

log = logging.getLogger(__name__)

SHM = Path("/dev/shm")
PRIVATE_LINK = "tmpfs"  # <pod dir>/tmpfs -> the pod's private memory directory
PRIVATE_PREFIX = "minik-pod-"
EMPTYDIR_MODE = 0o777  # any container user may write, as Kubernetes' emptyDir
CONFIG_DIR_MODE = 0o755  # as Kubernetes' AtomicWriter: readable by any container user


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


def ensure_pods_dir(root: Path) -> Path:
    """`<root>/pods`, a real directory of the kubelet's only (0750): what lies below
    it is out of any other local user's reach."""
    pods = root / "pods"
    pods.mkdir(parents=True, exist_ok=True, mode=0o750)
    st = os.lstat(pods)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
        raise VolumeError(f"{pods} is not a directory of the kubelet's")
    if stat.S_IMODE(st.st_mode) & 0o027:
        os.chmod(pods, 0o750)
    return pods


def _trusted_private(target: str) -> bool:
    """Whether the link's target is a private directory this kubelet made: directly on
    /dev/shm, not a symlink, ours, 0700 (a reboot empties /dev/shm; a local user
    could then re-create the name the link holds)."""
    path = Path(target)
    if path.parent != SHM or not path.name.startswith(PRIVATE_PREFIX):
        return False
    try:
        st = os.lstat(path)
    except OSError:
        return False
    return (
        stat.S_ISDIR(st.st_mode)
        and st.st_uid == os.geteuid()
        and stat.S_IMODE(st.st_mode) & 0o077 == 0
    )


def private_dir(root: Path, uid: str, *, create: bool = False) -> Path:
    """The pod's private memory directory (see the module's docstring). Without
    `create`, a missing or untrusted one is the pod directory (where nothing of these
    volumes is): the caller finds no volume there rather than following the link."""
    link = pod_dir(root, uid) / PRIVATE_LINK
    try:
        target = os.readlink(link)
    except OSError:
        target = ""
    if target and _trusted_private(target):
        return Path(target)
    if not create or not SHM.is_dir():
        return pod_dir(root, uid)
    ensure_pods_dir(root)
    pod_dir(root, uid).mkdir(exist_ok=True, mode=0o750)
    fresh = tempfile.mkdtemp(prefix=PRIVATE_PREFIX, dir=SHM)  # O_EXCL, 0700, random name
    staged = pod_dir(root, uid) / f".{PRIVATE_LINK}.new"
    staged.unlink(missing_ok=True)
    os.symlink(fresh, staged)
    os.replace(staged, link)
    return Path(fresh)


def _volume_dir(base: Path, kind: str, name: str) -> Path:
    return base / "volumes" / kind / name


def emptydir_path(root: Path, uid: str, volume: dict[str, Any], private: Path) -> Path:
    medium = (volume.get("emptyDir") or {}).get("medium") or ""
    base = private if medium == "Memory" else pod_dir(root, uid)
    return _volume_dir(base, "emptydir", volume["name"])


def termination_log_path(root: Path, uid: str, container: str, restart_count: int) -> Path:
    return pod_dir(root, uid) / "containers" / container / f"termination-log-{restart_count}"


def volume_sources(
    pod: dict[str, Any], root: Path, node: str, claims: Mapping[str, ClaimSource] | None = None
) -> dict[str, Path]:
    """Host path of every volume of the pod (reads only the pod's private-directory
    link); VolumeError for unsupported ones.
    persistentVolumeClaim volumes come from `claims` (resolved already); without it
    they are left out."""
    uid = (pod.get("metadata") or {}).get("uid", "")
    return _sources(pod, root, claims, private_dir(root, uid))


def _sources(
    pod: dict[str, Any],
    root: Path,
    claims: Mapping[str, ClaimSource] | None,
    private: Path,
) -> dict[str, Path]:
    uid = (pod.get("metadata") or {}).get("uid", "")
    paths: dict[str, Path] = {}
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        name = volume.get("name", "")
        if "emptyDir" in volume:
            paths[name] = emptydir_path(root, uid, volume, private)
        elif volume.get("hostPath"):
            paths[name] = Path(volume["hostPath"].get("path") or "/")
        elif volume_ref(volume) is not None:
            kind = "configmap" if "configMap" in volume else "secret"
            paths[name] = _volume_dir(private, kind, name)
        elif isinstance(volume.get("projected"), dict):
            paths[name] = _volume_dir(private, "projected", name)
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
    uid = (pod.get("metadata") or {}).get("uid", "")
    ensure_pods_dir(root)
    private = private_dir(root, uid, create=_needs_private(pod))
    paths = _sources(pod, root, claims, private)
    group = fs_group(pod)
    for volume in (pod.get("spec") or {}).get("volumes") or []:
        path = paths[volume.get("name", "")]
        if "persistentVolumeClaim" in volume:
            source = claims[volume.get("name", "")]
            _check_host_path(volume.get("name", ""), path, source.host_path_type)
            if source.host_path_type == "DirectoryOrCreate":
                path.chmod(0o777)  # as local-path-provisioner: any container user writes
        elif "emptyDir" in volume:
            _make_private_dirs(path.parent)
            path.mkdir(exist_ok=True)
            _own(path, EMPTYDIR_MODE, group)
        elif volume_ref(volume) is not None or isinstance(volume.get("projected"), dict):
            _make_private_dirs(path.parent)
            write_config_volume(pod, volume, path, config_data or {})
        else:
            _check_host_path(volume["name"], path, (volume["hostPath"].get("type") or ""))
    return paths


def _needs_private(pod: dict[str, Any]) -> bool:
    return any(
        volume_ref(v) is not None
        or isinstance(v.get("projected"), dict)
        or ((v.get("emptyDir") or {}).get("medium") == "Memory")
        for v in (pod.get("spec") or {}).get("volumes") or []
        if isinstance(v, dict)
    )


def _make_private_dirs(path: Path) -> None:
    """The directories above a volume: the kubelet's only (0700)."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)


def _own(path: Path, mode: int, group: int | None) -> None:
    """A volume directory's mode; with an fsGroup, that group owns it and new files
    inherit it (setgid), as Kubernetes' SetVolumeOwnership for writable volumes."""
    if group is not None:
        os.chown(path, -1, group, follow_symlinks=False)
        mode |= stat.S_ISGID | 0o070
    os.chmod(path, mode)


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
    return write_atomic(path, files, fs_group(pod))


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


def write_atomic(
    target: Path, files: dict[str, tuple[bytes, int]], group: int | None = None
) -> bool:
    """Kubernetes' AtomicWriter, in short: nothing changes unless the payload does;
    then a new `..<random>` directory, `..data` swapped to it by one rename, top-level
    symlinks into `..data` added or removed, the old directory removed. With a
    `group` (the pod's fsGroup) it owns everything, files readable by it (mode |
    0440) and directories setgid, as Kubernetes' ownership of read-only volumes."""
    if group is not None:
        files = {rel: (content, (mode & 0o777) | 0o440) for rel, (content, mode) in files.items()}
    target.mkdir(exist_ok=True)
    _own_read_only(target, CONFIG_DIR_MODE, group)
    if _current_files(target) == {rel: (c, m & 0o777) for rel, (c, m) in files.items()}:
        return False
    old = (target / "..data").resolve() if (target / "..data").is_symlink() else None
    fresh = Path(tempfile.mkdtemp(prefix="..", dir=target))
    _own_read_only(fresh, CONFIG_DIR_MODE, group)
    for rel, (content, mode) in files.items():
        file = fresh.joinpath(*PurePosixPath(rel).parts)
        for parent in reversed(file.relative_to(fresh).parents[:-1]):
            if not (fresh / parent).is_dir():
                (fresh / parent).mkdir()
                _own_read_only(fresh / parent, CONFIG_DIR_MODE, group)
        file.write_bytes(content)
        _own_read_only(file, mode & 0o777, group)
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


def _own_read_only(path: Path, mode: int, group: int | None) -> None:
    if group is not None:
        os.chown(path, -1, group, follow_symlinks=False)
        if path.is_dir():
            mode |= stat.S_ISGID | 0o050
    os.chmod(path, mode)


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


class SubPathError(VolumeError):
    """A subPath that leaves its volume (or cannot be made safely): the container
    waits with CreateContainerConfigError; the detail goes to the kubelet's log only,
    as Kubernetes keeps the host's layout from the pod's author."""


_NOFOLLOW = os.O_PATH | os.O_NOFOLLOW | os.O_CLOEXEC


def _within(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


def safe_sub_path(base: Path, sub: str, *, create: bool = True) -> Path:
    """The host path of `sub` inside the volume at `base`, as Kubernetes' SafeMakeDir
    and safe subPath: symlinks are followed only while they stay inside the volume;
    then the resolved path is walked from the volume's root one component at a time
    with O_NOFOLLOW (a symlink swapped in meanwhile is refused), missing directories
    made there with mkdirat (the volume root's mode). SubPathError otherwise."""
    rel = PurePosixPath(sub)
    if rel.is_absolute() or ".." in rel.parts:
        raise SubPathError(f"subPath {sub!r} must be a relative path without '..'")
    root = os.path.realpath(base)
    resolved = os.path.realpath(os.path.join(root, *rel.parts))
    if not _within(resolved, root):
        raise SubPathError(f"subPath {sub!r} resolves to {resolved}, outside volume {root}")
    try:
        mode = stat.S_IMODE(os.stat(root).st_mode) & 0o777
        fd = os.open(root, _NOFOLLOW | os.O_DIRECTORY)
    except OSError as err:
        raise SubPathError(f"volume {root}: {err}") from None
    try:
        parts = PurePosixPath(resolved).relative_to(root).parts
        for i, part in enumerate(parts):
            try:
                child = os.open(part, _NOFOLLOW, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    raise SubPathError(f"subPath {sub!r}: {part} does not exist") from None
                os.mkdir(part, mode, dir_fd=fd)
                made = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
                try:
                    os.fchmod(made, mode)
                finally:
                    os.close(made)
                child = os.open(part, _NOFOLLOW, dir_fd=fd)
            os.close(fd)
            fd = child
            kind = stat.S_IFMT(os.fstat(fd).st_mode)
            if kind == stat.S_IFLNK or (i < len(parts) - 1 and kind != stat.S_IFDIR):
                raise SubPathError(f"subPath {sub!r}: {part} changed under the kubelet")
    except OSError as err:
        raise SubPathError(f"subPath {sub!r}: {err}") from None
    finally:
        os.close(fd)
    return Path(resolved)


def container_binds(
    container: dict[str, Any],
    volumes: dict[str, Path],
    *,
    create_sub_paths: bool = True,
    read_only: frozenset[str] | set[str] = frozenset(),
) -> list[str]:
    """Docker binds (`host:container:rw|ro`) for a container's volumeMounts; volumes
    named in `read_only` (configMap, secret) are always mounted read-only. A subPath
    that cannot be resolved safely is a VolumeError with Kubernetes' words."""
    binds: list[str] = []
    for mount in container.get("volumeMounts") or []:
        name = mount.get("name", "")
        if name not in volumes:
            raise VolumeError(f'volumeMount "{name}": no volume of that name in the pod')
        source = volumes[name]
        if mount.get("subPath"):
            source = _mount_sub_path(container, mount, source, create_sub_paths)
        mode = "ro" if mount.get("readOnly") or name in read_only else "rw"
        binds.append(f"{source}:{mount.get('mountPath', '')}:{mode}")
    return binds


def _mount_sub_path(
    container: dict[str, Any], mount: dict[str, Any], base: Path, create: bool
) -> Path:
    sub = mount["subPath"]
    rel = PurePosixPath(sub)
    if rel.is_absolute() or ".." in rel.parts:
        raise VolumeError(f"subPath {sub!r} must be a relative path without '..'")
    if not create:
        return base.joinpath(*rel.parts)
    try:
        return safe_sub_path(base, sub)
    except SubPathError as err:
        log.warning("refused subPath of container %s: %s", container.get("name", ""), err)
        raise SubPathError(
            f'failed to create subPath directory for volumeMount "{mount.get("name", "")}" '
            f'of container "{container.get("name", "")}"'
        ) from None


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
    """Everything the pod had on the host (not hostPath contents: they are not ours):
    its private memory directory (only when it is one this kubelet made), then its
    directory. `node` is unused (memory volumes are per pod now)."""
    private = private_dir(root, uid)
    if private != pod_dir(root, uid):
        shutil.rmtree(private, ignore_errors=True)
    shutil.rmtree(pod_dir(root, uid), ignore_errors=True)


def pod_uids_on_disk(root: Path) -> list[str]:
    try:
        return [p.name for p in (root / "pods").iterdir() if p.is_dir()]
    except OSError:
        return []
