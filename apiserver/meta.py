"""Object metadata the server owns: generated names, uids, generations (timestamps are
api.timefmt's); an object's (namespace, name), the key caches index it by."""

from __future__ import annotations

import os
import random
import threading

# Kubernetes' generateName alphabet: no vowels, no confusable characters.
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def generate_name(prefix: str) -> str:
    return prefix + "".join(random.choices(_NAME_ALPHABET, k=5))


_UID_BATCH = 256  # uids per read of the system's random bytes
_uid_lock = threading.Lock()
_uid_bytes = b""
_uid_at = 0


def _forget_uid_bytes() -> None:
    """A forked child reads its own bytes: never the uids its parent hands out."""
    global _uid_bytes, _uid_at
    _uid_bytes, _uid_at = b"", 0


os.register_at_fork(after_in_child=_forget_uid_bytes)


def new_uid() -> str:
    """A random (version 4) UUID, as uuid.uuid4() makes it, from os.urandom read for
    many uids at once (a system call per uid, and uuid.UUID's checks, are measurable
    on the create path)."""
    global _uid_bytes, _uid_at
    with _uid_lock:  # never two uids from the same bytes
        if _uid_at >= len(_uid_bytes):
            _uid_bytes, _uid_at = os.urandom(16 * _UID_BATCH), 0
        raw = bytearray(_uid_bytes[_uid_at : _uid_at + 16])
        _uid_at += 16
    raw[6] = raw[6] & 0x0F | 0x40  # version 4
    raw[8] = raw[8] & 0x3F | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def spec_part(obj: dict) -> dict:
    """Everything but metadata and status: what a generation counts changes of."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "kind", "apiVersion")}


def namespaced_name(obj: dict) -> tuple[str, str]:
    """(namespace, name): "" for a cluster-scoped object's namespace."""
    md = obj.get("metadata") or {}
    return str(md.get("namespace") or ""), str(md.get("name") or "")
