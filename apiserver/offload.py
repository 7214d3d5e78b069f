"""CPU-heavy steps of one request run in a worker thread, so the event loop keeps
answering everyone else (/healthz included) while a large body is decoded, a patch
applied or a long list encoded.

Small requests stay on the loop: a thread hop costs tens of microseconds, which the
hot path (kubelets' status patches, controllers' small writes) should not pay. The
thresholds are sizes at which the work itself takes milliseconds. Python threads
share the GIL, but the interpreter switches every 5 ms, so the loop gets its turns."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

BODY_BYTES = 16 * 1024  # a body this large is decoded and patched off the loop
YAML_BODY_BYTES = 1024  # PyYAML parses in pure Python: ~100x slower than json
LIST_ITEMS = 200  # a list answer with this many items is encoded off the loop
EVENTS_PER_TURN = 100  # a watch's initial events between yields to the loop


async def maybe(heavy: bool, fn: Callable[..., T], *args: Any) -> T:
    """fn(*args) in a worker thread when `heavy`, else right here."""
    if heavy:
        return await asyncio.to_thread(fn, *args)
    return fn(*args)


def heavy_body(size: int, yaml: bool) -> bool:
    return size > (YAML_BODY_BYTES if yaml else BODY_BYTES)


def expensive_patch(patch_type: str, doc: Any) -> bool:
    """A JSON patch that copies may grow the object by megabytes (up to
    api.patch's MAX_ACCUMULATED_COPY_BYTES) from a small body."""
    return (
        patch_type == "json"
        and isinstance(doc, list)
        and any(isinstance(op, dict) and op.get("op") == "copy" for op in doc)
    )
