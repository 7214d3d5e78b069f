"""A LIST's pages and resourceVersions as kube-apiserver's etcd store answers them.

A page's continue token carries the revision of the first page and the key the next
page starts at, so every page of one LIST reads the same snapshot of etcd (a client
pages through 10,000 pods without seeing any of them twice or missing one that
moved). The token is kube-apiserver's: base64url, unpadded, of
`{"v":"meta.k8s.io/v1","rv":<revision>,"start":"<key after the prefix>"}`; rv -1 is
"the newest", handed out when the first page's revision has been compacted away."""

from __future__ import annotations

import base64
import binascii
import json
import posixpath

from api import errors

TOKEN_VERSION = "meta.k8s.io/v1"
LATEST = -1  # a token's rv for "continue at the newest revision"

BAD_VERSION = (
    f"continue key is not valid: incorrect encoded start resourceVersion (version {TOKEN_VERSION})"
)
EXPIRED = "The resourceVersion for the provided list is too old."
INCONSISTENT_CONTINUE = (
    "The provided continue parameter is too old to display a consistent list result. "
    "You can start a new list without the continue parameter, or use the continue token "
    "in this response to retrieve the remainder of the results. Continuing with the "
    "provided token results in an inconsistent list - objects that were created, "
    "modified, or deleted between the time the first chunk was returned and now may "
    "show up in the list."
)


def encode_continue(start: str, revision: int) -> str:
    token = {"v": TOKEN_VERSION, "rv": revision, "start": start}
    raw = json.dumps(token, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def decode_continue(token: str) -> tuple[str, int]:
    """(start key, revision: 0 for the newest) of a token; a 400 naming what is wrong."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        decoded = json.loads(raw)
    except (binascii.Error, ValueError) as err:
        raise _invalid(f"continue key is not valid: {err}") from None
    if not isinstance(decoded, dict) or decoded.get("v") != TOKEN_VERSION:
        raise _invalid(BAD_VERSION)
    start, revision = decoded.get("start"), decoded.get("rv")
    if not isinstance(revision, int) or isinstance(revision, bool) or revision == 0:
        raise _invalid(BAD_VERSION)
    if not isinstance(start, str) or not start:
        raise _invalid("continue key is not valid: encoded start key empty")
    # no way out of the resource's own keys: kube-apiserver's path.Clean check
    key = start if start.startswith("/") else "/" + start
    if posixpath.normpath(key) != key:
        raise _invalid(f"continue key is not valid: {start}")
    return key[1:], max(revision, 0)


def _invalid(message: str) -> errors.ApiError:
    return errors.bad_request(f"invalid continue token: {message}")


def expired_continue(start: str) -> errors.ApiError:
    """410 for a page whose first page's revision is compacted: its Status carries a
    token to go on at the newest revision."""
    err = errors.gone(INCONSISTENT_CONTINUE)
    err.list_meta = {"continue": encode_continue(start, LATEST)}
    return err


def expired_list() -> errors.ApiError:
    return errors.gone(EXPIRED)


def too_large(wanted: int, current: int) -> errors.ApiError:
    """504 for a resourceVersion newer than etcd's (client-go retries after a second)."""
    return errors.ApiError(
        504,
        f"Timeout: Too large resource version: {wanted}, current: {current}",
        "Timeout",
        {
            "causes": [
                {"reason": "ResourceVersionTooLarge", "message": "Too large resource version"}
            ],
            "retryAfterSeconds": 1,
        },
    )
