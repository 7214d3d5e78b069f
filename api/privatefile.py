"""Files only their owner may read: private keys, token files, encryption keys."""

from __future__ import annotations

import os
from pathlib import Path


def write_private(path: Path | str, data: bytes) -> None:
    """`path` holds `data`, created 0600: never written first and narrowed after, so
    there is no moment another user could open it. A file already there is unlinked
    first, so neither its wider mode nor a hard link to it elsewhere carries over."""
    path = Path(path)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
