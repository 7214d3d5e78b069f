"""Files only their owner may read: private keys, token files, encryption keys."""

from __future__ import annotations

import os
from pathlib import Path


def write_private(path: Path | str, data: bytes) -> None:
    """`path` holds `data`, created 0600: never written first and narrowed after, so
    there is no moment another user could open it. The data goes to a new file beside
    it that then replaces `path` in one rename: neither an old file's wider mode nor a
    hard link to it elsewhere carries over, and a reader (a process waiting for a
    kubeconfig to appear) never sees it half written."""
    path = Path(path)
    staged = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    staged.unlink(missing_ok=True)
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(staged, path)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
