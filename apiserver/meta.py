"""Object metadata the server owns: generated names, uids, generations (timestamps are
api.timefmt's)."""

from __future__ import annotations

import random
import uuid

# Kubernetes' generateName alphabet: no vowels, no confusable characters.
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def generate_name(prefix: str) -> str:
    return prefix + "".join(random.choices(_NAME_ALPHABET, k=5))


def new_uid() -> str:
    return str(uuid.uuid4())


def spec_part(obj: dict) -> dict:
    """Everything but metadata and status: what a generation counts changes of."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "kind", "apiVersion")}
