"""A DaemonSet's ControllerRevision history (Kubernetes' daemon controller update.go):
the shared revision logic of controller/util/history.py, bound to DaemonSets."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from api.resources import DAEMONSETS
from controller.util import history as shared
from controller.util.history import (
    max_revision,
    newest,
    revision_data,
    revision_number,
    template_hash,
    template_of,
    to_clean,
)

__all__ = [
    "matches",
    "max_revision",
    "newest",
    "revision_data",
    "revision_number",
    "snapshot",
    "split",
    "template_hash",
    "template_of",
    "to_clean",
]

Obj = dict[str, Any]


def matches(ds: Obj, revision: Obj) -> bool:
    return shared.matches("DaemonSet", ds, revision)


def split(ds: Obj, revisions: Iterable[Obj]) -> tuple[list[Obj], list[Obj]]:
    return shared.split("DaemonSet", ds, revisions)


def snapshot(ds: Obj, number: int, revision_hash: str) -> Obj:
    return shared.snapshot(ds, DAEMONSETS, number, revision_hash)
