"""Kubernetes' DefaultTolerationSeconds plugin: pods tolerate an unready or unreachable
node for a while before they are evicted."""

from __future__ import annotations

from typing import TYPE_CHECKING

from api.taints import NO_EXECUTE, NOT_READY, UNREACHABLE, covers_key
from apiserver.admission.plugin import CREATE, Attributes, Plugin

if TYPE_CHECKING:
    from apiserver.storage import Storage


class DefaultTolerationSeconds(Plugin):
    name = "DefaultTolerationSeconds"

    def __init__(self, storage: Storage, not_ready_seconds: int, unreachable_seconds: int):
        super().__init__(storage)
        self.not_ready_seconds = not_ready_seconds
        self.unreachable_seconds = unreachable_seconds

    def handles(self, a: Attributes) -> bool:
        return a.operation == CREATE and a.kind == "Pod" and not a.subresource

    async def admit(self, a: Attributes) -> None:
        tolerations = a.obj.setdefault("spec", {}).setdefault("tolerations", [])
        for key, seconds in (
            (NOT_READY, self.not_ready_seconds),
            (UNREACHABLE, self.unreachable_seconds),
        ):
            if any(covers_key(t, key, NO_EXECUTE) for t in tolerations):
                continue
            tolerations.append(
                {
                    "key": key,
                    "operator": "Exists",
                    "effect": NO_EXECUTE,
                    "tolerationSeconds": seconds,
                }
            )
