"""Client-side failures that are not an HTTP answer from the server."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx

from api.errors import ApiError


class ConnectionFailed(ApiError):
    """The server could not be reached (or dropped the connection).

    An `ApiError` (code 503) so callers that retry on server trouble retry on this
    too; its message is one line naming the server, fit for a CLI's `error:`.
    """

    def __init__(self, server: str, cause: BaseException | str) -> None:
        self.server = server
        self.cause = cause
        super().__init__(503, _describe(server, cause), "ServiceUnavailable")


def _describe(server: str, cause: BaseException | str) -> str:
    host = urlsplit(server).netloc or server
    text = str(cause) or type(cause).__name__
    if isinstance(cause, httpx.ConnectError) and "refused" in text.lower():
        return (
            f"the connection to the server {host} was refused - "
            "did you specify the right host or port?"
        )
    if isinstance(cause, httpx.TimeoutException):
        return f"unable to connect to the server {host}: timeout ({text})"
    return f"unable to connect to the server {host}: {text}"
