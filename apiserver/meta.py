"""Object metadata the server owns: names, uids, timestamps, generations."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

# Kubernetes' generateName alphabet: no vowels, no confusable characters.
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def timestamp(at: datetime | None = None) -> str:
    return (at or now()).strftime("%Y-%m-%dT%H:%M:%SZ")


def timestamp_after(seconds: int) -> str:
    return timestamp(now() + timedelta(seconds=seconds))


def parse_timestamp(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)


def generate_name(prefix: str) -> str:
    return prefix + "".join(random.choices(_NAME_ALPHABET, k=5))


def new_uid() -> str:
    return str(uuid.uuid4())


def spec_part(obj: dict) -> dict:
    """Everything but metadata and status: what a generation counts changes of."""
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "kind", "apiVersion")}
