"""bench/swarmengine.py's pure parts: which file dockerd reloads, and the edit of it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.swarmengine import (
    DEFAULT_DAEMON_JSON,
    SwarmUnavailable,
    _set_live_restore,
    config_file_of,
)


def test_the_config_file_is_the_flag_or_dockerds_default() -> None:
    assert config_file_of(["dockerd"]) == DEFAULT_DAEMON_JSON
    assert config_file_of(["dockerd", "--config-file", "/x/d.json"]) == Path("/x/d.json")
    assert config_file_of(["dockerd", "--config-file=/y/d.json"]) == Path("/y/d.json")


@pytest.mark.parametrize("flag", ["--live-restore", "--live-restore=true"])
def test_live_restore_as_a_flag_is_refused(flag: str) -> None:
    with pytest.raises(SwarmUnavailable, match="as a flag"):
        config_file_of(["dockerd", flag])


def test_the_edit_changes_live_restore_only(tmp_path: Path) -> None:
    path = tmp_path / "daemon.json"
    path.write_text(json.dumps({"live-restore": True, "log-level": "warn"}))
    _set_live_restore(path, False)
    assert json.loads(path.read_text()) == {"live-restore": False, "log-level": "warn"}
    _set_live_restore(path, True)
    assert json.loads(path.read_text()) == {"live-restore": True, "log-level": "warn"}
