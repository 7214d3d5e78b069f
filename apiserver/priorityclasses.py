"""The system PriorityClasses exist from the apiserver's start: created when missing,
never overwritten, as Kubernetes' scheduling/bootstrap-system-priority-classes
post-start hook does."""

from __future__ import annotations

from api import errors
from api.resources import PRIORITYCLASSES
from api.scheduling import system_priority_classes
from apiserver.options import WriteOptions
from apiserver.registry import Registry
from apiserver.requestinfo import RequestInfo


async def ensure_system_priority_classes(registry: Registry) -> None:
    opts = WriteOptions(field_manager="minik")
    for obj in system_priority_classes():
        info = RequestInfo(PRIORITYCLASSES, None, None, None)
        try:
            await registry.create(info, obj, opts)
        except errors.AlreadyExists:
            pass
