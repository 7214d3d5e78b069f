"""Finding busybox: the usual places, then $PATH, else a clear error."""

from __future__ import annotations

from pathlib import Path

import pytest

from componentbase import busybox


def test_busybox_is_found_on_the_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    binary = tmp_path / "busybox"
    binary.write_bytes(b"")
    binary.chmod(0o755)
    monkeypatch.setattr(busybox, "CANDIDATES", ())
    monkeypatch.setenv("PATH", str(tmp_path))
    assert busybox.busybox_binary() == binary


def test_no_busybox_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(busybox, "CANDIDATES", (str(tmp_path / "nothing"),))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(busybox.BusyboxNotFound, match="busybox-static"):
        busybox.busybox_binary()
