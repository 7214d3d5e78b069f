"""kubelet.claims: from a pod's claims to host directories, and the clean-up of
deleted local-path volumes' directories."""

import asyncio
from pathlib import Path
from typing import Any

import pytest

from api.errors import ApiError, NotFound
from kubelet import volumes
from kubelet.claims import read_only_claims, remove_stale_volume_dirs, resolve_claims


class FakeApi:
    def __init__(self, claims=(), volumes_=()):
        self.objects = {("persistentvolumeclaims", c["metadata"]["name"]): c for c in claims}
        self.objects |= {("persistentvolumes", v["metadata"]["name"]): v for v in volumes_}
        self.lists = 0

    async def get(self, res, name, namespace=None):
        try:
            return self.objects[(res.plural, name)]
        except KeyError:
            raise NotFound(404, f"{name} not found") from None

    async def list(self, res):
        self.lists += 1
        return {"items": [o for (plural, _), o in self.objects.items() if plural == res.plural]}


def claim(phase="Bound", volume="pv1", **md: Any):
    return {
        "metadata": {"name": "data", "namespace": "ns", **md},
        "spec": {"volumeName": volume},
        "status": {"phase": phase},
    }


def host_path_pv(path: str, kind: str = "DirectoryOrCreate"):
    return {"metadata": {"name": "pv1"}, "spec": {"hostPath": {"path": path, "type": kind}}}


def pod(read_only: bool = False):
    source = {"claimName": "data", **({"readOnly": True} if read_only else {})}
    return {
        "metadata": {"name": "p", "namespace": "ns", "uid": "u1"},
        "spec": {"volumes": [{"name": "v", "persistentVolumeClaim": source}]},
    }


def resolve(api: FakeApi, p: dict) -> dict[str, volumes.ClaimSource]:
    return asyncio.run(resolve_claims(api, p))  # type: ignore[arg-type]


def test_a_bound_claim_resolves_to_its_volume_directory(tmp_path: Path):
    api = FakeApi([claim()], [host_path_pv(str(tmp_path / "d"))])
    sources = resolve(api, pod())
    assert sources == {"v": volumes.ClaimSource(tmp_path / "d", "DirectoryOrCreate")}
    paths = volumes.prepare_volumes(pod(), tmp_path, "n1", None, sources)
    assert paths["v"] == tmp_path / "d" and (tmp_path / "d").is_dir()
    assert volumes.volume_sources(pod(), tmp_path, "n1") == {}  # unresolved: left out


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ([], 'persistentvolumeclaim "data" not found'),
        ([claim(phase="Pending", volume="")], "PVC is not bound"),
        (
            [claim(deletionTimestamp="2026-01-01T00:00:00Z")],
            "can't start pod because PVC ns/data is being deleted",
        ),
        ([claim()], 'persistentvolume "pv1" not found'),
    ],
)
def test_unusable_claims_hold_the_pod(claims, why):
    with pytest.raises(volumes.VolumeError) as err:
        resolve(FakeApi(claims), pod())
    assert str(err.value) == f"unmounted volumes=[v]: error processing PVC ns/data: {why}"


def test_read_only_claims():
    assert read_only_claims(pod(read_only=True)) == {"v"}
    assert read_only_claims(pod()) == set()


def test_only_directories_of_deleted_local_path_volumes_are_removed(tmp_path: Path):
    base = tmp_path / "local-path"
    for name in ("pvc-live", "pvc-gone", "not-a-volume"):
        (base / name).mkdir(parents=True)
    (base / "pvc-file").write_text("x")
    api = FakeApi(volumes_=[{"metadata": {"name": "pvc-live"}}])
    removed = asyncio.run(remove_stale_volume_dirs(api, tmp_path))  # type: ignore[arg-type]
    assert removed == [base / "pvc-gone"]
    assert sorted(p.name for p in base.iterdir()) == ["not-a-volume", "pvc-file", "pvc-live"]
    assert api.lists == 0  # one GET per directory: a kubelet may not list volumes
    empty = FakeApi()
    assert asyncio.run(remove_stale_volume_dirs(empty, tmp_path / "none")) == []  # type: ignore[arg-type]


def test_a_volume_the_node_may_not_read_keeps_its_directory(tmp_path: Path):
    class Forbidding(FakeApi):
        async def get(self, res, name, namespace=None):
            raise ApiError(403, f'persistentvolumes "{name}" is forbidden', "Forbidden")

    (tmp_path / "local-path" / "pvc-unknown").mkdir(parents=True)
    removed = asyncio.run(remove_stale_volume_dirs(Forbidding(), tmp_path))  # type: ignore[arg-type]
    assert removed == [] and (tmp_path / "local-path" / "pvc-unknown").is_dir()
