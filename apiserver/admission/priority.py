"""Kubernetes' Priority plugin (plugin/pkg/admission/priority).

Mutating, on pod create: the pod's `priorityClassName` (or, without one, the global
default class's name) resolves into `spec.priority` and `spec.preemptionPolicy`; an
unknown class, or a priority/policy the pod sets that differs from its class, is
refused. On pod update the stored values are carried over (the pod's update validation
forbids changing them). Validating, on PriorityClass create/update: only one class may
be the global default."""

from __future__ import annotations

from typing import Any

from api.scheduling import (
    DEFAULT_PRIORITY_WHEN_NO_DEFAULT_CLASS_EXISTS,
    PREEMPT_LOWER_PRIORITY,
    default_class,
)
from apiserver.admission.objectcache import NamespacedObjects
from apiserver.admission.plugin import CREATE, UPDATE, Attributes, Plugin
from apiserver.storage import Storage, prefix_key


class Priority(Plugin):
    """Pods read the classes from a watch-fed cache (Kubernetes' plugin reads a lister),
    a class not in it live; a PriorityClass's own write checks the live list."""

    name = "Priority"

    def __init__(self, storage: Storage) -> None:
        super().__init__(storage)
        self.cached = NamespacedObjects(storage, "priorityclasses")

    def handles(self, a: Attributes) -> bool:
        return (
            a.operation in (CREATE, UPDATE)
            and not a.subresource
            and a.kind in ("Pod", "PriorityClass")
        )

    async def _classes(self) -> list[dict[str, Any]]:
        classes, _ = await self.storage.list(prefix_key("priorityclasses"))
        return classes

    # ---- pods ---------------------------------------------------------------------
    async def admit(self, a: Attributes) -> None:
        if a.kind != "Pod":
            return
        spec = a.obj.setdefault("spec", {})
        if a.operation == UPDATE:
            old_spec = (a.old or {}).get("spec") or {}
            for key in ("priority", "preemptionPolicy"):
                if spec.get(key) is None and old_spec.get(key) is not None:
                    spec[key] = old_spec[key]
            return
        name = spec.get("priorityClassName") or ""
        policy: str | None
        if not name:
            pc = default_class(await self.cached.list(""))
            if pc is None:
                priority = DEFAULT_PRIORITY_WHEN_NO_DEFAULT_CLASS_EXISTS
                policy = PREEMPT_LOWER_PRIORITY
            else:
                spec["priorityClassName"] = pc["metadata"]["name"]
                priority, policy = pc.get("value") or 0, pc.get("preemptionPolicy")
        else:
            pc = await self.cached.get("", name)
            if pc is None:
                raise a.forbidden(f"no PriorityClass with name {name} was found")
            priority, policy = pc.get("value") or 0, pc.get("preemptionPolicy")
        given = spec.get("priority")
        if given is not None and given != priority:
            raise a.forbidden(
                f"the integer value of priority ({given}) must not be provided in pod spec; "
                f"priority admission controller computed {priority} from the given "
                "PriorityClass name",
            )
        spec["priority"] = priority
        if policy is not None:
            given_policy = spec.get("preemptionPolicy")
            if given_policy is not None and given_policy != policy:
                raise a.forbidden(
                    f"the string value of PreemptionPolicy ({given_policy}) must not be "
                    f"provided in pod spec; priority admission controller computed {policy} "
                    "from the given PriorityClass name",
                )
            spec["preemptionPolicy"] = policy

    # ---- priority classes ---------------------------------------------------------
    async def validate(self, a: Attributes) -> None:
        if a.kind != "PriorityClass" or a.obj.get("globalDefault") is not True:
            return
        name = (a.obj.get("metadata") or {}).get("name")
        others = [c for c in await self._classes() if c["metadata"]["name"] != name]
        current = default_class(others)
        if current is not None:
            raise a.forbidden(
                f"PriorityClass {current['metadata']['name']} is already marked as default. "
                "Only one default can exist",
            )

    async def stop(self) -> None:
        await self.cached.stop()
