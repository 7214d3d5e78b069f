"""The hashes controllers name things with (Kubernetes' controller.ComputeHash): FNV-32a,
rendered in rand.SafeEncodeString's alphabet. The Deployment controller's
pod-template-hash and the DaemonSet controller's controller-revision-hash use them."""

from __future__ import annotations

import json
import struct
from typing import Any

SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def fnv32a(data: bytes, start: int = 0x811C9DC5) -> int:
    h = start
    for byte in data:
        h = ((h ^ byte) * 0x01000193) & 0xFFFFFFFF
    return h


def safe_encode(text: str) -> str:
    """Kubernetes' rand.SafeEncodeString: no vowels, nothing that spells words."""
    return "".join(SAFE_ALPHABET[ord(c) % len(SAFE_ALPHABET)] for c in text)


def compute_hash(value: Any, collision_count: int | None = None) -> str:
    """fnv32a of canonical JSON (plus the collision count, little-endian), encoded."""
    data = json.dumps(value, sort_keys=True, separators=(",", ":"))
    h = fnv32a(data.encode())
    if collision_count is not None:
        h = fnv32a(struct.pack("<I", collision_count & 0xFFFFFFFF), h)
    return safe_encode(str(h))
