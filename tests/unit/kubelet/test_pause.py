"""The default sandbox image is built from this machine's busybox; without one the
kubelet says how to do without it."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from componentbase import busybox
from kubelet.pause import DOCKERFILE, sandbox_busybox, sandbox_context
from kubelet.runtime import RuntimeFailure


def test_the_sandbox_context_holds_the_dockerfile_and_an_executable_busybox() -> None:
    with tarfile.open(fileobj=sandbox_context(b"binary"), mode="r") as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert members["busybox"].mode == 0o755
        dockerfile = tar.extractfile(members["Dockerfile"])
        assert dockerfile is not None and dockerfile.read() == DOCKERFILE
    assert isinstance(sandbox_context(b""), io.BytesIO)


def test_no_busybox_names_the_way_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(busybox, "CANDIDATES", ())
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(RuntimeFailure, match="--sandbox-image"):
        sandbox_busybox()
