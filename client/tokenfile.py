"""A bearer token read from a file and read again while the client runs, as client-go's
cached file token source does: the kubelet rotates a pod's ServiceAccount token (it is
valid for about an hour), so a long-running controller in a pod must not keep the token
it started with."""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from pathlib import Path

import httpx

REREAD_AFTER = 60.0  # seconds; client-go re-reads its token file every minute


class TokenFileAuth(httpx.Auth):
    """`Authorization: Bearer <the file's token>`, re-read at most every REREAD_AFTER
    seconds; an unreadable file keeps the last token (the next read may succeed)."""

    def __init__(self, path: str, token: str, clock: Callable[[], float] = time.monotonic) -> None:
        self.path = Path(path)
        self.token = token
        self.clock = clock
        self.read_at = clock()

    def current(self) -> str:
        now = self.clock()
        if now - self.read_at >= REREAD_AFTER:
            self.read_at = now
            try:
                self.token = self.path.read_text().strip() or self.token
            except OSError:
                pass
        return self.token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.current()}"
        yield request
