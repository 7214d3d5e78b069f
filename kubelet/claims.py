"""persistentVolumeClaim volumes on the node: from a pod's claim to the host
directory of its bound PersistentVolume (hostPath or local), and the clean-up of the
local-path provisioner's directories whose volumes are gone.

A claim that is missing, unbound or being deleted stops the pod's containers from
starting (the pod stays ContainerCreating with a FailedMount event, and is retried),
as the kubelet's volume manager does."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from api.errors import ApiError, NotFound
from api.resources import PERSISTENTVOLUMECLAIMS, PERSISTENTVOLUMES
from client.rest import AsyncClient
from kubelet.volumes import ClaimSource, VolumeError

log = logging.getLogger(__name__)

LOCAL_PATH_DIR = "local-path"


def local_path_dir(root: Path) -> Path:
    """The directory the local-path provisioner's volumes of this node live under."""
    return root / LOCAL_PATH_DIR


def claim_volumes(pod: dict[str, Any]) -> list[dict[str, Any]]:
    return [v for v in (pod.get("spec") or {}).get("volumes") or [] if "persistentVolumeClaim" in v]


def _source(volume: dict[str, Any]) -> ClaimSource:
    spec = volume.get("spec") or {}
    if spec.get("hostPath"):
        host_path = spec["hostPath"]
        return ClaimSource(Path(host_path.get("path") or "/"), host_path.get("type") or "")
    if spec.get("local"):
        return ClaimSource(Path(spec["local"].get("path") or "/"), "Directory")
    name = (volume.get("metadata") or {}).get("name", "")
    raise VolumeError(f'PersistentVolume "{name}": only hostPath and local volumes are supported')


def _unmounted(volume: str, namespace: str, claim: str, why: str) -> VolumeError:
    return VolumeError(
        f"unmounted volumes=[{volume}]: error processing PVC {namespace}/{claim}: {why}"
    )


async def resolve_claims(api: AsyncClient, pod: dict[str, Any]) -> dict[str, ClaimSource]:
    """Host source of every persistentVolumeClaim volume of the pod, by volume name;
    VolumeError when a claim cannot be used yet."""
    namespace = (pod.get("metadata") or {}).get("namespace") or ""
    sources: dict[str, ClaimSource] = {}
    for volume in claim_volumes(pod):
        name = volume.get("name", "")
        claim_name = (volume["persistentVolumeClaim"] or {}).get("claimName") or ""
        try:
            claim = await api.get(PERSISTENTVOLUMECLAIMS, claim_name, namespace)
        except NotFound:
            raise _unmounted(
                name, namespace, claim_name, f'persistentvolumeclaim "{claim_name}" not found'
            ) from None
        if (claim.get("metadata") or {}).get("deletionTimestamp"):
            why = f"can't start pod because PVC {namespace}/{claim_name} is being deleted"
            raise _unmounted(name, namespace, claim_name, why)
        volume_name = (claim.get("spec") or {}).get("volumeName")
        if not volume_name or (claim.get("status") or {}).get("phase") != "Bound":
            raise _unmounted(name, namespace, claim_name, "PVC is not bound")
        try:
            pv = await api.get(PERSISTENTVOLUMES, volume_name)
        except NotFound:
            why = f'persistentvolume "{volume_name}" not found'
            raise _unmounted(name, namespace, claim_name, why) from None
        sources[name] = _source(pv)
    return sources


def read_only_claims(pod: dict[str, Any]) -> set[str]:
    return {
        v.get("name", "")
        for v in claim_volumes(pod)
        if (v["persistentVolumeClaim"] or {}).get("readOnly")
    }


def _pvc_dirs(base: Path) -> list[Path]:
    try:
        return [
            e
            for e in base.iterdir()
            if e.name.startswith("pvc-") and e.is_dir() and not e.is_symlink()
        ]
    except OSError:
        return []


async def remove_stale_volume_dirs(api: AsyncClient, root: Path) -> list[Path]:
    """Remove the directories of deleted local-path volumes: each directory's volume
    is asked for by name (all the Node authorizer lets a kubelet read: the volumes
    pinned to its node, and those it saw deleted); only a 404 removes a directory,
    any other answer keeps it."""
    removed = []
    for directory in _pvc_dirs(local_path_dir(root)):
        try:
            await api.get(PERSISTENTVOLUMES, directory.name)
        except NotFound:
            removed.append(directory)
        except ApiError as err:
            log.debug("keeping %s: %s", directory, err)
    for directory in removed:
        log.info("removing the directory of deleted volume %s", directory.name)
        shutil.rmtree(directory, ignore_errors=True)
    return removed
