"""write_private: 0600 from the start, and a reader never sees a half-written file
(a component waiting for a kubeconfig to appear starts only on a whole one)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from api.privatefile import write_private


def test_the_file_is_private_and_replaced_whole(tmp_path: Path) -> None:
    path = tmp_path / "kubelet.conf"
    path.write_text("old")
    path.chmod(0o644)
    other = tmp_path / "hard-link"
    os.link(path, other)
    write_private(path, b"new")
    assert path.read_bytes() == b"new"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert other.read_text() == "old"  # a hard link elsewhere does not get the secret
    assert sorted(p.name for p in tmp_path.iterdir()) == ["hard-link", "kubelet.conf"]
