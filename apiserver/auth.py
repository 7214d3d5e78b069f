"""Static bearer tokens, as Kubernetes' --token-auth-file: `token,user,uid,"g1,g2"`."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

PUBLIC_PATHS = ("/healthz", "/livez", "/readyz", "/version")


@dataclass(frozen=True)
class User:
    name: str
    uid: str
    groups: tuple[str, ...] = field(default=())
    # user.Info's Extra (a ServiceAccount token's pod name and uid, its credential id)
    extra: tuple[tuple[str, tuple[str, ...]], ...] = field(default=())


class TokenFileError(Exception):
    pass


def load_token_file(path: str | Path) -> dict[str, User]:
    users: dict[str, User] = {}
    try:
        text = Path(path).read_text()
    except OSError as err:
        raise TokenFileError(f"cannot read token file {path}: {err.strerror}") from err
    for lineno, row in enumerate(csv.reader(text.splitlines()), start=1):
        if not row or not row[0].strip() or row[0].lstrip().startswith("#"):
            continue
        if len(row) < 3:
            raise TokenFileError(f'{path}:{lineno}: want token,user,uid[,"groups"]')
        groups = tuple(g.strip() for g in row[3].split(",") if g.strip()) if len(row) > 3 else ()
        users[row[0].strip()] = User(row[1].strip(), row[2].strip(), groups)
    return users


def is_public(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in PUBLIC_PATHS)


def read_secret_file(path: str | Path | None) -> str | None:
    """The shared secret the apiserver presents to aggregated API servers (the first
    line of --requestheader-secret-file); None when no file is given."""
    if not path:
        return None
    try:
        secret = Path(path).read_text().strip().splitlines()
    except OSError as err:
        raise TokenFileError(f"cannot read secret file {path}: {err.strerror}") from err
    if not secret or not secret[0].strip():
        raise TokenFileError(f"secret file {path} is empty")
    return secret[0].strip()
